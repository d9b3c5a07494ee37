-- Nothing that grows without bound (migration 20261208000200): texts a client can store
-- are bounded in SQL; a user keeps at most 1,000 idempotency keys and 20 pending uploads.
begin;
set search_path = extensions, public;
select plan(8);

-- uma 20000000-0000-4000-8000-00000000000a, signed in.
insert into auth.users (id, email) values ('20000000-0000-4000-8000-00000000000a', 'uma.20@example.test');
insert into auth.sessions (id, user_id) values ('20000000-0000-4000-8000-00000000000a', '20000000-0000-4000-8000-00000000000a');

create function pg_temp.as_uma(p_key text default null) returns void language sql as $$
  select set_config('request.jwt.claims', json_build_object('sub', '20000000-0000-4000-8000-00000000000a',
           'session_id', '20000000-0000-4000-8000-00000000000a', 'role', 'authenticated')::text, true),
         set_config('request.headers', coalesce(json_build_object('idempotency-key', p_key)::text, '{}'), true);
$$;

-- A megabyte operation name, straight through PostgREST's claim: refused.
set local role authenticated;
select pg_temp.as_uma('big-one');
select throws_ok($$ select public.claim_idempotency_key(repeat('a', 1048576), '{}') $$, '23514', null,
  'a megabyte operation name is refused (23514)');
select throws_ok($$ select public.claim_idempotency_key('Create Workspace!', '{}') $$, '23514', null,
  'an operation that is not a function name is refused');
reset role;

-- 1,001 keys: the newest 1,000 stay.
insert into private.idempotency_keys (user_id, key, operation, request_hash, response, created_at)
select '20000000-0000-4000-8000-00000000000a', 'key-' || g, 'create_workspace', repeat('0', 64), '{}',
       now() - make_interval(secs => 2000 - g)
from generate_series(1, 1000) g;
set local role authenticated;
select pg_temp.as_uma('the-newest');
select public.claim_idempotency_key('create_workspace', '{"name": "x"}');
reset role;
select is((select count(*)::int from private.idempotency_keys where user_id = '20000000-0000-4000-8000-00000000000a'), 1000,
  'a user keeps at most 1,000 idempotency keys');
select is_empty($$ select 1 from private.idempotency_keys where key = 'key-1' $$, 'the oldest one is forgotten');
select isnt_empty($$ select 1 from private.idempotency_keys where key = 'the-newest' $$, 'the new one is kept');

-- 20 pending uploads, then a 21st straight through PostgREST, and through create_upload.
set local role authenticated;
select pg_temp.as_uma();
insert into public.uploads (id, object_key, original_name, content_type, size_bytes)
select id, 'pending/20000000-0000-4000-8000-00000000000a/' || id, 'f.png', 'image/png', 10
from (select gen_random_uuid() as id from generate_series(1, 20)) x;
select throws_ok($$ insert into public.uploads (id, object_key, original_name, content_type, size_bytes)
                    values ('20000000-0000-4000-8000-0000000000f1',
                            'pending/20000000-0000-4000-8000-00000000000a/20000000-0000-4000-8000-0000000000f1',
                            'f.png', 'image/png', 10) $$,
  'PT409', null, 'a 21st pending upload inserted directly is refused (409)');
select throws_ok($$ select public.create_upload('20000000-0000-4000-8000-0000000000f2', 'f.png', 'image/png', 10) $$,
  'PT409', null, 'and through create_upload');
reset role;
-- One completed frees a slot.
update public.uploads set status = 'ready' where id = (select id from public.uploads
  where owner_id = '20000000-0000-4000-8000-00000000000a' limit 1);
set local role authenticated;
select lives_ok($$ select public.create_upload('20000000-0000-4000-8000-0000000000f3', 'f.png', 'image/png', 10) $$,
  'a completed upload frees a slot');
reset role;

select * from finish();
rollback;
