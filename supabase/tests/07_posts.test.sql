-- posts: the matrix of (anon, the author with the role user, another user, an editor, an
-- admin) x (select, insert, update, delete, publish), every cell allowed or refused as
-- the policies, the column grants and the posts_guard_publishing trigger say; plus
-- forged authors, published_at, and authorize() winning over the token's claim.
begin;
set search_path = extensions, public;
select plan(50);

-- Users (ids unique to this file):
--   amy 07000000-0000-4000-8000-00000000000a  user, author of every post but one
--   oto 07000000-0000-4000-8000-00000000000b  user, the other user
--   eda 07000000-0000-4000-8000-00000000000e  editor, author of one draft
--   adm 07000000-0000-4000-8000-00000000000d  admin
--   xen 07000000-0000-4000-8000-000000000001  no role at all (user_roles row deleted)
-- Posts 07000000-0000-4000-9000-0000000000NN:
--   01 amy published (read, updated)   02 amy draft (read, refused publishing)
--   03 amy draft (editor publishes)     04 amy draft (admin publishes)
--   05 amy published (amy deletes)      06 amy published (others try to delete, admin does)
--   07 eda draft                        08 xen published (xen, without posts.write, edits)
insert into auth.users (id, email) values
  ('07000000-0000-4000-8000-00000000000a', 'amy.07@example.test'),
  ('07000000-0000-4000-8000-00000000000b', 'oto.07@example.test'),
  ('07000000-0000-4000-8000-00000000000e', 'eda.07@example.test'),
  ('07000000-0000-4000-8000-00000000000d', 'adm.07@example.test'),
  ('07000000-0000-4000-8000-000000000001', 'xen.07@example.test');

update public.user_roles set role = 'editor' where user_id = '07000000-0000-4000-8000-00000000000e';
update public.user_roles set role = 'admin' where user_id = '07000000-0000-4000-8000-00000000000d';
delete from public.user_roles where user_id = '07000000-0000-4000-8000-000000000001';

-- Seeded outside a request (as the service would), so the publishing guard stands aside.
insert into public.posts (id, author_id, title, published) values
  ('07000000-0000-4000-9000-000000000001', '07000000-0000-4000-8000-00000000000a', 'Published', true),
  ('07000000-0000-4000-9000-000000000002', '07000000-0000-4000-8000-00000000000a', 'Draft 2', false),
  ('07000000-0000-4000-9000-000000000003', '07000000-0000-4000-8000-00000000000a', 'Draft 3', false),
  ('07000000-0000-4000-9000-000000000004', '07000000-0000-4000-8000-00000000000a', 'Draft 4', false),
  ('07000000-0000-4000-9000-000000000005', '07000000-0000-4000-8000-00000000000a', 'Delete me', true),
  ('07000000-0000-4000-9000-000000000006', '07000000-0000-4000-8000-00000000000a', 'Keep me', true),
  ('07000000-0000-4000-9000-000000000007', '07000000-0000-4000-8000-00000000000e', 'Editor draft', false),
  ('07000000-0000-4000-9000-000000000008', '07000000-0000-4000-8000-000000000001', 'Xen''s', true);

select results_eq(
  $$ select count(*)::integer from public.posts where id::text like '07000000-%' and published = (published_at is not null) $$,
  $$ values (8) $$,
  'the trigger sets published_at on published posts and leaves it null on drafts'
);

-- Select ---------------------------------------------------------------------------------

set local role anon;
select set_config('request.jwt.claims', json_build_object('role', 'anon')::text, true);
select throws_ok($$ select * from public.posts $$, '42501', null, 'anon x select: refused');
reset role;

set local role authenticated;

select set_config('request.jwt.claims', json_build_object('sub', '07000000-0000-4000-8000-00000000000a', 'role', 'authenticated', 'user_role', 'user')::text, true);
select results_eq(
  $$ select right(id::text, 2) from public.posts where id::text like '07000000-%' order by id $$,
  $$ values ('01'), ('02'), ('03'), ('04'), ('05'), ('06'), ('08') $$,
  'author x select: every published post and her own drafts, not the editor''s draft'
);

select set_config('request.jwt.claims', json_build_object('sub', '07000000-0000-4000-8000-00000000000b', 'role', 'authenticated', 'user_role', 'user')::text, true);
select results_eq(
  $$ select right(id::text, 2) from public.posts where id::text like '07000000-%' order by id $$,
  $$ values ('01'), ('05'), ('06'), ('08') $$,
  'other user x select: the published posts only'
);
select is_empty(
  $$ select * from public.posts where id = '07000000-0000-4000-9000-000000000002' $$,
  'other user x select of amy''s draft: 0 rows'
);

-- The token claim is not what authorize() reads.
select set_config('request.jwt.claims', json_build_object('sub', '07000000-0000-4000-8000-00000000000b', 'role', 'authenticated', 'user_role', 'editor')::text, true);
select is_empty(
  $$ select * from public.posts where not published and id::text like '07000000-%' $$,
  'a user whose token claims user_role editor still sees no one''s drafts'
);

select set_config('request.jwt.claims', json_build_object('sub', '07000000-0000-4000-8000-00000000000e', 'role', 'authenticated', 'user_role', 'editor')::text, true);
select results_eq(
  $$ select right(id::text, 2) from public.posts where id::text like '07000000-%' order by id $$,
  $$ values ('01'), ('02'), ('03'), ('04'), ('05'), ('06'), ('07'), ('08') $$,
  'editor x select: everything, others'' drafts included (posts.publish)'
);

select set_config('request.jwt.claims', json_build_object('sub', '07000000-0000-4000-8000-00000000000d', 'role', 'authenticated', 'user_role', 'admin')::text, true);
select results_eq(
  $$ select right(id::text, 2) from public.posts where id::text like '07000000-%' order by id $$,
  $$ values ('01'), ('02'), ('03'), ('04'), ('05'), ('06'), ('07'), ('08') $$,
  'admin x select: everything, others'' drafts included'
);

-- Insert ---------------------------------------------------------------------------------

reset role;
set local role anon;
select set_config('request.jwt.claims', json_build_object('role', 'anon')::text, true);
select throws_ok($$ insert into public.posts (title) values ('Anon 07') $$, '42501', null, 'anon x insert: refused');
reset role;

set local role authenticated;

select set_config('request.jwt.claims', json_build_object('sub', '07000000-0000-4000-8000-00000000000a', 'role', 'authenticated', 'user_role', 'user')::text, true);
select results_eq(
  $$ insert into public.posts (title, body) values ('Amy 07', 'Hello') returning author_id, published, published_at $$,
  $$ values ('07000000-0000-4000-8000-00000000000a'::uuid, false, null::timestamptz) $$,
  'author x insert: allowed, as a draft written by herself'
);
select throws_ok(
  $$ insert into public.posts (title, published) values ('Amy published 07', true) $$,
  '42501', null,
  'a user cannot insert a published post'
);
select throws_ok(
  $$ insert into public.posts (title, author_id) values ('Forged 07', '07000000-0000-4000-8000-00000000000b') $$,
  '42501', null,
  'a user cannot insert a post in another user''s name (no privilege on author_id)'
);
select throws_ok(
  $$ insert into public.posts (title, published_at) values ('Dated 07', now()) $$,
  '42501', null,
  'a user cannot set published_at'
);

select set_config('request.jwt.claims', json_build_object('sub', '07000000-0000-4000-8000-00000000000b', 'role', 'authenticated', 'user_role', 'user')::text, true);
select results_eq(
  $$ insert into public.posts (title) values ('Oto 07') returning author_id, published $$,
  $$ values ('07000000-0000-4000-8000-00000000000b'::uuid, false) $$,
  'other user x insert: allowed, as his own draft'
);

select set_config('request.jwt.claims', json_build_object('sub', '07000000-0000-4000-8000-00000000000e', 'role', 'authenticated', 'user_role', 'editor')::text, true);
select results_eq(
  $$ insert into public.posts (title) values ('Eda 07') returning author_id, published $$,
  $$ values ('07000000-0000-4000-8000-00000000000e'::uuid, false) $$,
  'editor x insert: allowed, as her own draft'
);

select set_config('request.jwt.claims', json_build_object('sub', '07000000-0000-4000-8000-00000000000d', 'role', 'authenticated', 'user_role', 'admin')::text, true);
select results_eq(
  $$ insert into public.posts (title) values ('Adm 07') returning author_id, published $$,
  $$ values ('07000000-0000-4000-8000-00000000000d'::uuid, false) $$,
  'admin x insert: allowed, as his own draft'
);
select throws_ok(
  $$ insert into public.posts (title, author_id) values ('Forged by admin 07', '07000000-0000-4000-8000-00000000000a') $$,
  '42501', null,
  'not even an admin inserts a post in someone else''s name'
);

select set_config('request.jwt.claims', json_build_object('sub', '07000000-0000-4000-8000-000000000001', 'role', 'authenticated', 'user_role', 'user')::text, true);
select throws_ok(
  $$ insert into public.posts (title) values ('Xen 07') $$,
  '42501', null,
  'a signed-in user without posts.write (no role) cannot insert (policy check)'
);

reset role;
select results_eq(
  $$ select title::text, author_id from public.posts where title like '% 07' order by title $$,
  $$
    values ('Adm 07', '07000000-0000-4000-8000-00000000000d'::uuid),
           ('Amy 07', '07000000-0000-4000-8000-00000000000a'::uuid),
           ('Eda 07', '07000000-0000-4000-8000-00000000000e'::uuid),
           ('Oto 07', '07000000-0000-4000-8000-00000000000b'::uuid)
  $$,
  'exactly the four allowed inserts were stored, each under its writer'
);

-- Update (title of amy's published post 01) ------------------------------------------------

set local role anon;
select set_config('request.jwt.claims', json_build_object('role', 'anon')::text, true);
select throws_ok(
  $$ update public.posts set title = 'Anon' where id = '07000000-0000-4000-9000-000000000001' $$,
  '42501', null,
  'anon x update: refused'
);
reset role;

set local role authenticated;

select set_config('request.jwt.claims', json_build_object('sub', '07000000-0000-4000-8000-00000000000a', 'role', 'authenticated', 'user_role', 'user')::text, true);
select results_eq(
  $$ update public.posts set title = 'By amy' where id = '07000000-0000-4000-9000-000000000001' returning title::text $$,
  $$ values ('By amy') $$,
  'author x update: allowed'
);
select throws_ok(
  $$ update public.posts set author_id = '07000000-0000-4000-8000-00000000000b' where id = '07000000-0000-4000-9000-000000000001' $$,
  '42501', null,
  'the author cannot hand her post to another author (no privilege on author_id)'
);
select throws_ok(
  $$ update public.posts set published_at = now() - interval '1 year' where id = '07000000-0000-4000-9000-000000000001' $$,
  '42501', null,
  'the author cannot backdate published_at'
);

-- Post 01 is published, so oto can read it: only the update policy refuses him.
select set_config('request.jwt.claims', json_build_object('sub', '07000000-0000-4000-8000-00000000000b', 'role', 'authenticated', 'user_role', 'user')::text, true);
select is_empty(
  $$ update public.posts set title = 'By oto' where id = '07000000-0000-4000-9000-000000000001' returning id $$,
  'other user x update of a post he can read: 0 rows'
);

select set_config('request.jwt.claims', json_build_object('sub', '07000000-0000-4000-8000-00000000000e', 'role', 'authenticated', 'user_role', 'editor')::text, true);
select results_eq(
  $$ update public.posts set title = 'By eda' where id = '07000000-0000-4000-9000-000000000001' returning title::text $$,
  $$ values ('By eda') $$,
  'editor x update of someone else''s post: allowed'
);
select results_eq(
  $$ update public.posts set body = 'Edited by eda' where id = '07000000-0000-4000-9000-000000000002' returning body::text, published $$,
  $$ values ('Edited by eda', false) $$,
  'an editor also edits someone else''s draft'
);

select set_config('request.jwt.claims', json_build_object('sub', '07000000-0000-4000-8000-00000000000d', 'role', 'authenticated', 'user_role', 'admin')::text, true);
select results_eq(
  $$ update public.posts set title = 'By adm' where id = '07000000-0000-4000-9000-000000000001' returning title::text $$,
  $$ values ('By adm') $$,
  'admin x update of someone else''s post: allowed'
);

-- xen wrote post 08 but holds no posts.write.
select set_config('request.jwt.claims', json_build_object('sub', '07000000-0000-4000-8000-000000000001', 'role', 'authenticated', 'user_role', 'user')::text, true);
select is_empty(
  $$ update public.posts set title = 'By xen' where id = '07000000-0000-4000-9000-000000000008' returning id $$,
  'an author without posts.write cannot edit her own post'
);

reset role;
select results_eq(
  $$ select title::text from public.posts where id in ('07000000-0000-4000-9000-000000000001', '07000000-0000-4000-9000-000000000008') order by id $$,
  $$ values ('By adm'), ('Xen''s') $$,
  'post 01 carries the last allowed title; the refused updates changed nothing'
);

-- Publish -----------------------------------------------------------------------------------

set local role anon;
select set_config('request.jwt.claims', json_build_object('role', 'anon')::text, true);
select throws_ok(
  $$ update public.posts set published = true where id = '07000000-0000-4000-9000-000000000002' $$,
  '42501', null,
  'anon x publish: refused'
);
reset role;

set local role authenticated;

select set_config('request.jwt.claims', json_build_object('sub', '07000000-0000-4000-8000-00000000000a', 'role', 'authenticated', 'user_role', 'user')::text, true);
select throws_ok(
  $$ update public.posts set published = true where id = '07000000-0000-4000-9000-000000000002' $$,
  '42501', null,
  'author (user) x publish of her own draft: refused with 42501'
);
select throws_ok(
  $$ update public.posts set published = false where id = '07000000-0000-4000-9000-000000000001' $$,
  '42501', null,
  'a user cannot unpublish her own post either (changing published needs posts.publish)'
);
select results_eq(
  $$ update public.posts set title = 'Still a draft', published = false where id = '07000000-0000-4000-9000-000000000002' returning title::text, published $$,
  $$ values ('Still a draft', false) $$,
  'the author may send published unchanged along with her edit'
);

select set_config('request.jwt.claims', json_build_object('sub', '07000000-0000-4000-8000-00000000000b', 'role', 'authenticated', 'user_role', 'user')::text, true);
select is_empty(
  $$ update public.posts set published = true where id = '07000000-0000-4000-9000-000000000002' returning id $$,
  'other user x publish of amy''s draft: 0 rows'
);
select is_empty(
  $$ update public.posts set published = false where id = '07000000-0000-4000-9000-000000000001' returning id $$,
  'other user x unpublish of amy''s published post: 0 rows'
);

select set_config('request.jwt.claims', json_build_object('sub', '07000000-0000-4000-8000-00000000000e', 'role', 'authenticated', 'user_role', 'editor')::text, true);
select results_eq(
  $$ update public.posts set published = true where id = '07000000-0000-4000-9000-000000000003' returning published, published_at = now() $$,
  $$ values (true, true) $$,
  'editor x publish of amy''s draft: allowed, published_at set by the trigger'
);

select set_config('request.jwt.claims', json_build_object('sub', '07000000-0000-4000-8000-00000000000d', 'role', 'authenticated', 'user_role', 'admin')::text, true);
select results_eq(
  $$ update public.posts set published = true where id = '07000000-0000-4000-9000-000000000004' returning published, published_at is not null $$,
  $$ values (true, true) $$,
  'admin x publish of amy''s draft: allowed'
);
select results_eq(
  $$ update public.posts set published = false where id = '07000000-0000-4000-9000-000000000004' returning published, published_at $$,
  $$ values (false, null::timestamptz) $$,
  'an admin unpublishes it again and published_at is cleared'
);

reset role;
select results_eq(
  $$ select right(id::text, 2), published from public.posts where id::text like '07000000-0000-4000-9000-00000000000%' and id::text < '07000000-0000-4000-9000-000000000005' order by id $$,
  $$ values ('01', true), ('02', false), ('03', true), ('04', false) $$,
  'after the publish cells: 01 still published, 02 still a draft, 03 published by the editor, 04 back to draft'
);

-- Delete -------------------------------------------------------------------------------------

set local role anon;
select set_config('request.jwt.claims', json_build_object('role', 'anon')::text, true);
select throws_ok(
  $$ delete from public.posts where id = '07000000-0000-4000-9000-000000000006' $$,
  '42501', null,
  'anon x delete: refused'
);
reset role;

set local role authenticated;

select set_config('request.jwt.claims', json_build_object('sub', '07000000-0000-4000-8000-00000000000a', 'role', 'authenticated', 'user_role', 'user')::text, true);
select results_eq(
  $$ delete from public.posts where id = '07000000-0000-4000-9000-000000000005' returning id $$,
  $$ values ('07000000-0000-4000-9000-000000000005'::uuid) $$,
  'author x delete of her own post: allowed'
);

-- Post 06 is published: readable by all, so only the delete policy refuses.
select set_config('request.jwt.claims', json_build_object('sub', '07000000-0000-4000-8000-00000000000b', 'role', 'authenticated', 'user_role', 'user')::text, true);
select is_empty(
  $$ delete from public.posts where id = '07000000-0000-4000-9000-000000000006' returning id $$,
  'other user x delete: 0 rows'
);

select set_config('request.jwt.claims', json_build_object('sub', '07000000-0000-4000-8000-00000000000e', 'role', 'authenticated', 'user_role', 'editor')::text, true);
select is_empty(
  $$ delete from public.posts where id = '07000000-0000-4000-9000-000000000006' returning id $$,
  'editor x delete of someone else''s post: 0 rows (no posts.delete)'
);
select results_eq(
  $$ delete from public.posts where id = '07000000-0000-4000-9000-000000000007' returning id $$,
  $$ values ('07000000-0000-4000-9000-000000000007'::uuid) $$,
  'an editor deletes her own draft (as its author)'
);

reset role;
select results_eq(
  $$ select count(*)::integer from public.posts where id = '07000000-0000-4000-9000-000000000006' $$,
  $$ values (1) $$,
  'post 06 survived the refused deletes'
);
set local role authenticated;

select set_config('request.jwt.claims', json_build_object('sub', '07000000-0000-4000-8000-00000000000d', 'role', 'authenticated', 'user_role', 'admin')::text, true);
select results_eq(
  $$ delete from public.posts where id = '07000000-0000-4000-9000-000000000006' returning id $$,
  $$ values ('07000000-0000-4000-9000-000000000006'::uuid) $$,
  'admin x delete of someone else''s post: allowed (posts.delete)'
);

-- A demoted admin loses posts.delete at once, whatever his token says.
reset role;
update public.user_roles set role = 'user' where user_id = '07000000-0000-4000-8000-00000000000d';
set local role authenticated;
select is_empty(
  $$ delete from public.posts where id = '07000000-0000-4000-9000-000000000001' returning id $$,
  'a demoted admin (token still says admin) cannot delete someone else''s post'
);
select is_empty(
  $$ select * from public.posts where id = '07000000-0000-4000-9000-000000000002' $$,
  'and no longer sees someone else''s draft'
);

reset role;
select results_eq(
  $$ select right(id::text, 2) from public.posts where id::text like '07000000-0000-4000-9000-%' order by id $$,
  $$ values ('01'), ('02'), ('03'), ('04'), ('08') $$,
  'in the end only the allowed deletes (05 by its author, 06 by the admin, 07 by its author) happened'
);

-- Deleting an author's account deletes her posts (profiles cascade).
select set_config('request.jwt.claims', '', true);
delete from auth.users where id = '07000000-0000-4000-8000-00000000000a';
select is_empty(
  $$ select * from public.posts where author_id = '07000000-0000-4000-8000-00000000000a' $$,
  'deleting an author''s auth user deletes her posts'
);

select * from finish();
rollback;
