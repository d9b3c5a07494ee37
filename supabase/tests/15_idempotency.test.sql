-- Idempotency keys (migration 20261203000000): the create functions read the request's
-- Idempotency-Key header; the same user, key and request replay the first answer and
-- write nothing, another request with the key is IDEMPOTENCY_KEY_REUSED, a malformed
-- key is refused, keys are per user, and an expired key is free again. The table is
-- out of the API roles' reach.
begin;
set search_path = extensions, public;
select plan(13);

-- Users (ids unique to this file):
--   ida 15000000-0000-4000-8000-00000000000a
--   ivo 15000000-0000-4000-8000-00000000000b
insert into auth.users (id, email) values
  ('15000000-0000-4000-8000-00000000000a', 'ida.15@example.test'),
  ('15000000-0000-4000-8000-00000000000b', 'ivo.15@example.test');

create function pg_temp.as_user(p_id uuid, p_key text)
returns void language sql as $$
  select set_config('request.jwt.claims', json_build_object(
           'sub', p_id, 'role', 'authenticated', 'user_role', 'user')::text, true),
         set_config('request.method', 'POST', true),
         set_config('request.path', '/rpc/create_workspace', true),
         set_config('request.headers', coalesce(json_build_object('idempotency-key', p_key)::text, '{}'), true),
         set_config('response.headers', '', true);
$$;

set local role authenticated;

select pg_temp.as_user('15000000-0000-4000-8000-00000000000a', 'k-1');
create temp table first on commit drop as select (public.create_workspace('Once')).id;
select pg_temp.as_user('15000000-0000-4000-8000-00000000000a', 'k-1');
select is((public.create_workspace('Once')).id, (select id from first),
  'the same key and request answer the first workspace');
select ok(current_setting('response.headers') like '%Idempotent-Replayed%',
  'a replay sets Idempotent-Replayed');
select is((select count(*) from public.workspaces where name = 'Once')::int, 1,
  'a replay writes nothing');
select throws_like($$ select public.create_workspace('Twice') $$,
  '%IDEMPOTENCY_KEY_REUSED%', 'the key for another body is refused');
select throws_like($$ select public.create_post('A title', '') $$,
  '%IDEMPOTENCY_KEY_REUSED%', 'the key for another function is refused');
select is((select count(*) from public.workspaces where name = 'Twice')::int, 0,
  'the refused request wrote nothing');

select pg_temp.as_user('15000000-0000-4000-8000-00000000000a', 'has space');
select throws_like($$ select public.create_workspace('Bad key') $$,
  '%VALIDATION_ERROR%', 'a key with a space is refused');
select pg_temp.as_user('15000000-0000-4000-8000-00000000000a', repeat('k', 256));
select throws_like($$ select public.create_workspace('Bad key') $$,
  '%VALIDATION_ERROR%', 'a key over 255 characters is refused');

select pg_temp.as_user('15000000-0000-4000-8000-00000000000b', 'k-1');
select isnt((public.create_workspace('Once')).id, (select id from first),
  'another user''s same key is their own');

select pg_temp.as_user('15000000-0000-4000-8000-00000000000a', null);
select isnt((public.create_workspace('Once')).id, (select id from first),
  'without a key, a create creates');

select throws_ok($$ select * from private.idempotency_keys $$, '42501', null,
  'the API roles cannot read the keys');

reset role;
update private.idempotency_keys set created_at = now() - interval '25 hours'
where user_id = '15000000-0000-4000-8000-00000000000a';
set local role authenticated;
select pg_temp.as_user('15000000-0000-4000-8000-00000000000a', 'k-1');
select isnt((public.create_workspace('Again')).id, (select id from first),
  'after 24 hours the key is free for another request');
reset role;
select is((select count(*) from private.idempotency_keys
           where user_id = '15000000-0000-4000-8000-00000000000a')::int, 1,
  'the expired key was replaced, not kept');

select * from finish();
rollback;
