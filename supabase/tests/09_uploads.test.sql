-- uploads: owners read, create (pending, under their own key prefix) and delete only
-- their own rows; nobody but the service role changes a row (set_upload_status); anon
-- touches nothing; the size, type, name and key checks; the user cascade.
begin;
set search_path = extensions, public;
select plan(54);

-- Users (ids unique to this file):
--   ana 09000000-0000-4000-8000-00000000000a  owner of most uploads
--   ben 09000000-0000-4000-8000-00000000000b  the other user
--   cas 09000000-0000-4000-8000-00000000000c  deleted at the end (cascade)
-- Uploads 09000000-0000-4000-9000-0000000000NN:
--   01 ana pending (others try to read, change and delete it)
--   02 ana pending (the service role marks it ready)
--   03 ben pending
--   04 cas pending (cascade)
--   05 ana pending (ana deletes it)
--   06 ana pending (the service role rejects it)
--   1x created by ana during the test
insert into auth.users (id, email) values
  ('09000000-0000-4000-8000-00000000000a', 'ana.09@example.test'),
  ('09000000-0000-4000-8000-00000000000b', 'ben.09@example.test'),
  ('09000000-0000-4000-8000-00000000000c', 'cas.09@example.test');

-- Seeded outside a request (as the functions would through PostgREST).
insert into public.uploads (id, owner_id, object_key, original_name, content_type, size_bytes) values
  ('09000000-0000-4000-9000-000000000001', '09000000-0000-4000-8000-00000000000a',
   'pending/09000000-0000-4000-8000-00000000000a/09000000-0000-4000-9000-000000000001', 'one.png', 'image/png', 100),
  ('09000000-0000-4000-9000-000000000002', '09000000-0000-4000-8000-00000000000a',
   'pending/09000000-0000-4000-8000-00000000000a/09000000-0000-4000-9000-000000000002', 'two.jpg', 'image/jpeg', 200),
  ('09000000-0000-4000-9000-000000000003', '09000000-0000-4000-8000-00000000000b',
   'pending/09000000-0000-4000-8000-00000000000b/09000000-0000-4000-9000-000000000003', 'ben.webp', 'image/webp', 300),
  ('09000000-0000-4000-9000-000000000004', '09000000-0000-4000-8000-00000000000c',
   'pending/09000000-0000-4000-8000-00000000000c/09000000-0000-4000-9000-000000000004', 'cas.png', 'image/png', 400),
  ('09000000-0000-4000-9000-000000000005', '09000000-0000-4000-8000-00000000000a',
   'pending/09000000-0000-4000-8000-00000000000a/09000000-0000-4000-9000-000000000005', 'five.png', 'image/png', 500),
  ('09000000-0000-4000-9000-000000000006', '09000000-0000-4000-8000-00000000000a',
   'pending/09000000-0000-4000-8000-00000000000a/09000000-0000-4000-9000-000000000006', 'six.png', 'image/png', 600);

-- Shape --------------------------------------------------------------------------------

select enum_has_labels('public', 'upload_status', array['pending', 'ready', 'rejected'],
  'upload_status is pending, ready or rejected');

select results_eq(
  $$ select status::text, completed_at is null from public.uploads where id = '09000000-0000-4000-9000-000000000001' $$,
  $$ values ('pending', true) $$,
  'a new upload is pending, not completed'
);

select ok(
  exists (
    select 1 from pg_index i
    join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
    where i.indrelid = 'public.uploads'::regclass and a.attname = 'owner_id'
  ),
  'an index leads with uploads.owner_id'
);

-- anon ---------------------------------------------------------------------------------

set local role anon;
select set_config('request.jwt.claims', json_build_object('role', 'anon')::text, true);
select throws_ok($$ select * from public.uploads $$, '42501', null, 'anon x select: refused');
select throws_ok(
  $$ insert into public.uploads (id, object_key, original_name, content_type, size_bytes)
     values ('09000000-0000-4000-9000-0000000000a0',
             'pending/00000000-0000-0000-0000-000000000000/09000000-0000-4000-9000-0000000000a0', 'x.png', 'image/png', 1) $$,
  '42501', null, 'anon x insert: refused'
);
select throws_ok($$ update public.uploads set original_name = 'x.png' $$, '42501', null, 'anon x update: refused');
select throws_ok($$ delete from public.uploads $$, '42501', null, 'anon x delete: refused');
select throws_ok(
  $$ select public.set_upload_status('09000000-0000-4000-9000-000000000001', '09000000-0000-4000-8000-00000000000a', true) $$,
  '42501', null, 'anon x set_upload_status: refused'
);
reset role;

-- Owners read their own ------------------------------------------------------------------

set local role authenticated;
select set_config('request.jwt.claims', json_build_object('sub', '09000000-0000-4000-8000-00000000000a', 'role', 'authenticated')::text, true);
select results_eq(
  $$ select right(id::text, 2) from public.uploads order by id $$,
  $$ values ('01'), ('02'), ('05'), ('06') $$,
  'ana x select: her four uploads, none of ben''s or cas''s'
);
select is_empty(
  $$ select * from public.uploads where id = '09000000-0000-4000-9000-000000000003' $$,
  'ana x select of ben''s upload: 0 rows'
);

select set_config('request.jwt.claims', json_build_object('sub', '09000000-0000-4000-8000-00000000000b', 'role', 'authenticated')::text, true);
select results_eq(
  $$ select right(id::text, 2) from public.uploads order by id $$,
  $$ values ('03') $$,
  'ben x select: his one upload only'
);

-- Owners create pending uploads under their own prefix -----------------------------------

select set_config('request.jwt.claims', json_build_object('sub', '09000000-0000-4000-8000-00000000000a', 'role', 'authenticated')::text, true);
select lives_ok(
  $$ insert into public.uploads (id, object_key, original_name, content_type, size_bytes)
     values ('09000000-0000-4000-9000-000000000010',
             'pending/09000000-0000-4000-8000-00000000000a/09000000-0000-4000-9000-000000000010', 'photo.png', 'image/png', 1234) $$,
  'ana x insert of her own pending upload: allowed'
);
select results_eq(
  $$ select owner_id, status::text, completed_at is null from public.uploads where id = '09000000-0000-4000-9000-000000000010' $$,
  $$ values ('09000000-0000-4000-8000-00000000000a'::uuid, 'pending', true) $$,
  'the new row is ana''s (owner_id from auth.uid()), pending, not completed'
);

-- Columns users may not set at all.
select throws_ok(
  $$ insert into public.uploads (id, object_key, original_name, content_type, size_bytes, status)
     values ('09000000-0000-4000-9000-000000000011',
             'pending/09000000-0000-4000-8000-00000000000a/09000000-0000-4000-9000-000000000011', 'a.png', 'image/png', 1, 'ready') $$,
  '42501', null, 'ana x insert with status ready: refused (no insert on status)'
);
select throws_ok(
  $$ insert into public.uploads (id, owner_id, object_key, original_name, content_type, size_bytes)
     values ('09000000-0000-4000-9000-000000000011', '09000000-0000-4000-8000-00000000000b',
             'pending/09000000-0000-4000-8000-00000000000b/09000000-0000-4000-9000-000000000011', 'a.png', 'image/png', 1) $$,
  '42501', null, 'ana x insert with owner_id ben: refused (no insert on owner_id)'
);
select throws_ok(
  $$ insert into public.uploads (id, object_key, original_name, content_type, size_bytes, completed_at)
     values ('09000000-0000-4000-9000-000000000011',
             'pending/09000000-0000-4000-8000-00000000000a/09000000-0000-4000-9000-000000000011', 'a.png', 'image/png', 1, now()) $$,
  '42501', null, 'ana x insert with completed_at: refused (no insert on completed_at)'
);

-- Keys outside pending/<own id>/<row id>.
select throws_ok(
  $$ insert into public.uploads (id, object_key, original_name, content_type, size_bytes)
     values ('09000000-0000-4000-9000-000000000011',
             'pending/09000000-0000-4000-8000-00000000000b/09000000-0000-4000-9000-000000000011', 'a.png', 'image/png', 1) $$,
  '23514', null, 'ana x insert with a key under ben''s prefix: check violation'
);
select throws_ok(
  $$ insert into public.uploads (id, object_key, original_name, content_type, size_bytes)
     values ('09000000-0000-4000-9000-000000000011',
             'files/09000000-0000-4000-8000-00000000000a/09000000-0000-4000-9000-000000000011', 'a.png', 'image/png', 1) $$,
  '23514', null, 'ana x insert with a key under files/: check violation'
);
select throws_ok(
  $$ insert into public.uploads (id, object_key, original_name, content_type, size_bytes)
     values ('09000000-0000-4000-9000-000000000011',
             'pending/09000000-0000-4000-8000-00000000000a/09000000-0000-4000-9000-000000000003', 'a.png', 'image/png', 1) $$,
  '23514', null, 'ana x insert with a key naming another row id: check violation'
);
select throws_ok(
  $$ insert into public.uploads (id, object_key, original_name, content_type, size_bytes)
     values ('09000000-0000-4000-9000-000000000011',
             'pending/09000000-0000-4000-8000-00000000000a/../09000000-0000-4000-8000-00000000000b/09000000-0000-4000-9000-000000000011',
             'a.png', 'image/png', 1) $$,
  '23514', null, 'ana x insert with a ../ key: check violation'
);
select throws_ok(
  $$ insert into public.uploads (object_key, original_name, content_type, size_bytes)
     values ('pending/09000000-0000-4000-8000-00000000000a/09000000-0000-4000-9000-000000000011', 'a.png', 'image/png', 1) $$,
  '23514', null, 'ana x insert without an id (a random one) and a key for another id: check violation'
);

-- Size, type and name limits.
select throws_ok(
  $$ insert into public.uploads (id, object_key, original_name, content_type, size_bytes)
     values ('09000000-0000-4000-9000-000000000011',
             'pending/09000000-0000-4000-8000-00000000000a/09000000-0000-4000-9000-000000000011', 'a.png', 'image/png', 0) $$,
  '23514', null, 'size 0: check violation'
);
select throws_ok(
  $$ insert into public.uploads (id, object_key, original_name, content_type, size_bytes)
     values ('09000000-0000-4000-9000-000000000011',
             'pending/09000000-0000-4000-8000-00000000000a/09000000-0000-4000-9000-000000000011', 'a.png', 'image/png', 5242881) $$,
  '23514', null, 'size 5 MB + 1 byte: check violation'
);
select throws_ok(
  $$ insert into public.uploads (id, object_key, original_name, content_type, size_bytes)
     values ('09000000-0000-4000-9000-000000000011',
             'pending/09000000-0000-4000-8000-00000000000a/09000000-0000-4000-9000-000000000011', 'a.png', 'image/png', -1) $$,
  '23514', null, 'negative size: check violation'
);
select lives_ok(
  $$ insert into public.uploads (id, object_key, original_name, content_type, size_bytes)
     values ('09000000-0000-4000-9000-000000000012',
             'pending/09000000-0000-4000-8000-00000000000a/09000000-0000-4000-9000-000000000012', 'big.webp', 'image/webp', 5242880) $$,
  'size exactly 5 MB (5242880 bytes): allowed'
);
select throws_ok(
  $$ insert into public.uploads (id, object_key, original_name, content_type, size_bytes)
     values ('09000000-0000-4000-9000-000000000011',
             'pending/09000000-0000-4000-8000-00000000000a/09000000-0000-4000-9000-000000000011', 'a.gif', 'image/gif', 1) $$,
  '23514', null, 'content_type image/gif: check violation'
);
select throws_ok(
  $$ insert into public.uploads (id, object_key, original_name, content_type, size_bytes)
     values ('09000000-0000-4000-9000-000000000011',
             'pending/09000000-0000-4000-8000-00000000000a/09000000-0000-4000-9000-000000000011', 'a.html', 'text/html', 1) $$,
  '23514', null, 'content_type text/html: check violation'
);
select throws_ok(
  $$ insert into public.uploads (id, object_key, original_name, content_type, size_bytes)
     values ('09000000-0000-4000-9000-000000000011',
             'pending/09000000-0000-4000-8000-00000000000a/09000000-0000-4000-9000-000000000011', 'a.png', 'IMAGE/PNG', 1) $$,
  '23514', null, 'content_type in another case (IMAGE/PNG): check violation'
);
select throws_ok(
  $$ insert into public.uploads (id, object_key, original_name, content_type, size_bytes)
     values ('09000000-0000-4000-9000-000000000011',
             'pending/09000000-0000-4000-8000-00000000000a/09000000-0000-4000-9000-000000000011', '', 'image/png', 1) $$,
  '23514', null, 'empty original_name: check violation'
);
select throws_ok(
  $$ insert into public.uploads (id, object_key, original_name, content_type, size_bytes)
     values ('09000000-0000-4000-9000-000000000011',
             'pending/09000000-0000-4000-8000-00000000000a/09000000-0000-4000-9000-000000000011', repeat('a', 256), 'image/png', 1) $$,
  '23514', null, 'original_name of 256 characters: check violation'
);

-- Ben cannot create under ana's prefix either (owner_id is his, so the key check fails).
select set_config('request.jwt.claims', json_build_object('sub', '09000000-0000-4000-8000-00000000000b', 'role', 'authenticated')::text, true);
select throws_ok(
  $$ insert into public.uploads (id, object_key, original_name, content_type, size_bytes)
     values ('09000000-0000-4000-9000-000000000013',
             'pending/09000000-0000-4000-8000-00000000000a/09000000-0000-4000-9000-000000000013', 'a.png', 'image/png', 1) $$,
  '23514', null, 'ben x insert with a key under ana''s prefix: check violation'
);
reset role;

-- Behind the column grants, the insert policy refuses the same rows on its own: given
-- (for this transaction only) insert on status and owner_id, authenticated still may
-- create nothing but its own pending rows.
grant insert (status, owner_id) on public.uploads to authenticated;
set local role authenticated;
select set_config('request.jwt.claims', json_build_object('sub', '09000000-0000-4000-8000-00000000000a', 'role', 'authenticated')::text, true);
select throws_ok(
  $$ insert into public.uploads (id, object_key, original_name, content_type, size_bytes, status)
     values ('09000000-0000-4000-9000-000000000014',
             'pending/09000000-0000-4000-8000-00000000000a/09000000-0000-4000-9000-000000000014', 'a.png', 'image/png', 1, 'ready') $$,
  '42501', 'new row violates row-level security policy for table "uploads"',
  'with a grant on status, the policy still refuses a ready row'
);
select throws_ok(
  $$ insert into public.uploads (id, owner_id, object_key, original_name, content_type, size_bytes)
     values ('09000000-0000-4000-9000-000000000014', '09000000-0000-4000-8000-00000000000b',
             'pending/09000000-0000-4000-8000-00000000000b/09000000-0000-4000-9000-000000000014', 'a.png', 'image/png', 1) $$,
  '42501', 'new row violates row-level security policy for table "uploads"',
  'with a grant on owner_id, the policy still refuses a row owned by ben'
);
reset role;
revoke insert (status, owner_id) on public.uploads from authenticated;

-- Nobody but the service role changes a row --------------------------------------------

set local role authenticated;
select set_config('request.jwt.claims', json_build_object('sub', '09000000-0000-4000-8000-00000000000a', 'role', 'authenticated')::text, true);
select throws_ok(
  $$ update public.uploads set status = 'ready' where id = '09000000-0000-4000-9000-000000000001' $$,
  '42501', null, 'ana x update of her own upload''s status: refused'
);
select throws_ok(
  $$ update public.uploads set original_name = 'renamed.png' where id = '09000000-0000-4000-9000-000000000001' $$,
  '42501', null, 'ana x update of her own upload''s name: refused'
);
select throws_ok(
  $$ update public.uploads set object_key = object_key where id = '09000000-0000-4000-9000-000000000001' $$,
  '42501', null, 'ana x update of her own upload''s key: refused'
);
select throws_ok(
  $$ select public.set_upload_status('09000000-0000-4000-9000-000000000001', '09000000-0000-4000-8000-00000000000a', true) $$,
  '42501', null, 'ana x set_upload_status on her own upload: refused'
);
select throws_ok($$ truncate public.uploads $$, '42501', null, 'ana x truncate: refused');

-- Owners delete their own ----------------------------------------------------------------

select set_config('request.jwt.claims', json_build_object('sub', '09000000-0000-4000-8000-00000000000b', 'role', 'authenticated')::text, true);
select throws_ok(
  $$ update public.uploads set status = 'ready' where id = '09000000-0000-4000-9000-000000000003' $$,
  '42501', null, 'ben x update of his own upload''s status: refused'
);
select is_empty(
  $$ delete from public.uploads where id = '09000000-0000-4000-9000-000000000001' returning id $$,
  'ben x delete of ana''s upload: 0 rows'
);

select set_config('request.jwt.claims', json_build_object('sub', '09000000-0000-4000-8000-00000000000a', 'role', 'authenticated')::text, true);
select is_empty(
  $$ delete from public.uploads where id = '09000000-0000-4000-9000-000000000003' returning id $$,
  'ana x delete of ben''s upload: 0 rows'
);
select results_eq(
  $$ delete from public.uploads where id = '09000000-0000-4000-9000-000000000005' returning right(id::text, 2) $$,
  $$ values ('05') $$,
  'ana x delete of her own upload: 1 row'
);
reset role;

select results_eq(
  $$ select right(id::text, 2), status::text from public.uploads
     where id in ('09000000-0000-4000-9000-000000000001', '09000000-0000-4000-9000-000000000003',
                  '09000000-0000-4000-9000-000000000005')
     order by id $$,
  $$ values ('01', 'pending'), ('03', 'pending') $$,
  'ana''s 01 and ben''s 03 are untouched; 05 is gone'
);

-- The service role: set_upload_status ------------------------------------------------------

set local role service_role;
select set_config('request.jwt.claims', json_build_object('role', 'service_role')::text, true);
select results_eq(
  $$ select status::text, rejection_reason, completed_at is not null
     from public.set_upload_status('09000000-0000-4000-9000-000000000002', '09000000-0000-4000-8000-00000000000a', true) $$,
  $$ values ('ready', null::text, true) $$,
  'service_role x set_upload_status(ready) on a pending upload: ready, completed_at set'
);
select results_eq(
  $$ select status::text, completed_at = (select completed_at from public.uploads where id = '09000000-0000-4000-9000-000000000002')
     from public.set_upload_status('09000000-0000-4000-9000-000000000002', '09000000-0000-4000-8000-00000000000a', true) $$,
  $$ values ('ready', true) $$,
  'a second set_upload_status(ready) on the same upload (a retry, a concurrent attempt): the row as it is'
);
select throws_ok(
  $$ select public.set_upload_status('09000000-0000-4000-9000-000000000002', '09000000-0000-4000-8000-00000000000a', false, 'late') $$,
  'PT409', null, 'rejecting an upload that is already ready: PT409'
);
select throws_ok(
  $$ select public.set_upload_status('09000000-0000-4000-9000-000000000006', '09000000-0000-4000-8000-00000000000b', true) $$,
  'PT404', null, 'set_upload_status naming another owner than the row''s: PT404'
);
select throws_ok(
  $$ select public.set_upload_status('09000000-0000-4000-9000-0000000000ff', '09000000-0000-4000-8000-00000000000a', true) $$,
  'PT404', null, 'set_upload_status on an upload that does not exist: PT404'
);
select results_eq(
  $$ select status::text, char_length(rejection_reason), completed_at is not null
     from public.set_upload_status('09000000-0000-4000-9000-000000000006', '09000000-0000-4000-8000-00000000000a', false, repeat('x', 400)) $$,
  $$ values ('rejected', 300, true) $$,
  'service_role x set_upload_status(rejected) keeps the reason, cut to 300 characters'
);
select results_eq(
  $$ select status::text, char_length(rejection_reason)
     from public.set_upload_status('09000000-0000-4000-9000-000000000006', '09000000-0000-4000-8000-00000000000a', false, 'another reason') $$,
  $$ values ('rejected', 300) $$,
  'rejected again: the row as it is, the first reason kept'
);
reset role;

select results_eq(
  $$ select right(id::text, 2), status::text from public.uploads where owner_id = '09000000-0000-4000-8000-00000000000a' order by id $$,
  $$ values ('01', 'pending'), ('02', 'ready'), ('06', 'rejected'), ('10', 'pending'), ('12', 'pending') $$,
  'only the uploads the service role completed changed status'
);

set local role authenticated;
select set_config('request.jwt.claims', json_build_object('sub', '09000000-0000-4000-8000-00000000000a', 'role', 'authenticated')::text, true);
select results_eq(
  $$ select status::text from public.uploads where id = '09000000-0000-4000-9000-000000000002' $$,
  $$ values ('ready') $$,
  'ana reads her upload as ready'
);
reset role;

-- The user cascade ------------------------------------------------------------------------

select lives_ok(
  $$ delete from auth.users where id = '09000000-0000-4000-8000-00000000000c' $$,
  'deleting cas''s auth user is not blocked by his upload'
);
select is_empty(
  $$ select * from public.uploads where owner_id = '09000000-0000-4000-8000-00000000000c' $$,
  'deleting the auth user deletes its uploads'
);

select * from finish();
rollback;
