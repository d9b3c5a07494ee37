-- Storage follows its rows (migration 20261208000100): every way an upload row goes
-- queues its objects in the same transaction; the sweep claims, retries and forgets them;
-- expired rows go with the schedule. Only the service role runs the sweep.
begin;
set search_path = extensions, public;
select plan(17);

-- uma 19000000-0000-4000-8000-00000000000a (signed in), dee 19000000-0000-4000-8000-00000000000d
insert into auth.users (id, email) values
  ('19000000-0000-4000-8000-00000000000a', 'uma.19@example.test'),
  ('19000000-0000-4000-8000-00000000000d', 'dee.19@example.test');
insert into auth.sessions (id, user_id) values ('19000000-0000-4000-8000-00000000000a', '19000000-0000-4000-8000-00000000000a');
insert into public.uploads (id, owner_id, object_key, original_name, content_type, size_bytes, status, created_at) values
  ('19000000-0000-4000-8000-0000000000a1', '19000000-0000-4000-8000-00000000000a',
   'pending/19000000-0000-4000-8000-00000000000a/19000000-0000-4000-8000-0000000000a1', 'a.png', 'image/png', 10, 'ready', now()),
  ('19000000-0000-4000-8000-0000000000a2', '19000000-0000-4000-8000-00000000000a',
   'pending/19000000-0000-4000-8000-00000000000a/19000000-0000-4000-8000-0000000000a2', 'b.png', 'image/png', 10, 'pending', now()),
  ('19000000-0000-4000-8000-0000000000a3', '19000000-0000-4000-8000-00000000000a',
   'pending/19000000-0000-4000-8000-00000000000a/19000000-0000-4000-8000-0000000000a3', 'old.png', 'image/png', 10, 'pending', now() - interval '2 hours'),
  ('19000000-0000-4000-8000-0000000000d1', '19000000-0000-4000-8000-00000000000d',
   'pending/19000000-0000-4000-8000-00000000000d/19000000-0000-4000-8000-0000000000d1', 'd.png', 'image/png', 10, 'ready', now());

create function pg_temp.queued(p_like text) returns setof text language sql as $$
  select object_key from private.storage_deletions where object_key like p_like order by object_key;
$$;

-- A user deletes their own upload straight through PostgREST (RLS allows it).
set local role authenticated;
select set_config('request.jwt.claims', json_build_object('sub', '19000000-0000-4000-8000-00000000000a',
  'session_id', '19000000-0000-4000-8000-00000000000a', 'role', 'authenticated')::text, true);
delete from public.uploads where id = '19000000-0000-4000-8000-0000000000a1';
reset role;
select results_eq($$ select pg_temp.queued('%0000000000a1') $$,
  $$ values ('files/19000000-0000-4000-8000-00000000000a/19000000-0000-4000-8000-0000000000a1'),
            ('pending/19000000-0000-4000-8000-00000000000a/19000000-0000-4000-8000-0000000000a1') $$,
  'a row deleted straight through PostgREST queues both of its objects');

-- A pending upload that becomes ready queues its pending object.
set local role service_role;
select public.set_upload_status('19000000-0000-4000-8000-0000000000a2', '19000000-0000-4000-8000-00000000000a', true);
reset role;
select results_eq($$ select pg_temp.queued('%0000000000a2') $$,
  $$ values ('pending/19000000-0000-4000-8000-00000000000a/19000000-0000-4000-8000-0000000000a2') $$,
  'a completed upload queues its pending object');

-- A deleted user's uploads go with the cascade, and their objects are queued.
delete from auth.users where id = '19000000-0000-4000-8000-00000000000d';
select results_eq($$ select pg_temp.queued('%0000000000d1') $$,
  $$ values ('files/19000000-0000-4000-8000-00000000000d/19000000-0000-4000-8000-0000000000d1'),
            ('pending/19000000-0000-4000-8000-00000000000d/19000000-0000-4000-8000-0000000000d1') $$,
  'a deleted user''s uploads queue their objects');

-- Expired rows: a pending upload never completed, an old idempotency key, a past window.
insert into private.idempotency_keys (user_id, key, operation, request_hash, created_at) values
  ('19000000-0000-4000-8000-00000000000a', 'old-key', 'create_workspace', repeat('0', 64), now() - interval '25 hours'),
  ('19000000-0000-4000-8000-00000000000a', 'new-key', 'create_workspace', repeat('0', 64), now());
insert into private.rate_limit_counters (key, window_start, window_seconds, expires_at, hits) values
  ('user:write:19000000-0000-4000-8000-00000000000a', now() - interval '1 hour', 60, now() - interval '59 minutes', 3);
set local role service_role;
select is(public.sweep_expired_rows() - 'rateLimitPasses' - 'signUpBindings',
  '{"pendingUploads": 1, "idempotencyKeys": 1, "rateLimitWindows": 1}'::jsonb,
  'sweep_expired_rows removes the expired pending upload, key and window');
reset role;
select is_empty($$ select 1 from public.uploads where id = '19000000-0000-4000-8000-0000000000a3' $$,
  'the pending upload never completed is gone');
select results_eq($$ select pg_temp.queued('%0000000000a3') $$,
  $$ values ('files/19000000-0000-4000-8000-00000000000a/19000000-0000-4000-8000-0000000000a3'),
            ('pending/19000000-0000-4000-8000-00000000000a/19000000-0000-4000-8000-0000000000a3') $$,
  'and its objects are queued like any other');
select results_eq($$ select key from private.idempotency_keys where user_id = '19000000-0000-4000-8000-00000000000a' $$,
  $$ values ('new-key') $$, 'a live idempotency key stays');

-- The sweep: claim, fail one, finish.
set local role service_role;
select set_config('test.claim', public.claim_storage_deletions(3)::text, true);
reset role;
select is(jsonb_array_length(current_setting('test.claim')::jsonb -> 'keys'), 3, 'a claim takes at most its limit');
select is((current_setting('test.claim')::jsonb ->> 'backlog')::int, 7, 'and tells the backlog');
select is((select count(*)::int from private.storage_deletions where attempts = 1 and not_before > now()), 3,
  'the claimed keys wait for their next try');
set local role service_role;
select is(jsonb_array_length(public.claim_storage_deletions(100) -> 'keys'), 4, 'the next claim takes only the others');
select is(jsonb_array_length(public.claim_storage_deletions(100) -> 'keys'), 0, 'and then none is due');
select public.finish_storage_deletions(
  array(select jsonb_array_elements_text(current_setting('test.claim')::jsonb -> 'keys') limit 2),
  array(select jsonb_array_elements_text(current_setting('test.claim')::jsonb -> 'keys') offset 2),
  'S3 answered 503');
reset role;
select is((select count(*)::int from private.storage_deletions), 5, 'deleted keys are forgotten');
select is((select last_error from private.storage_deletions
           where object_key = (current_setting('test.claim')::jsonb -> 'keys' ->> 2)),
  'S3 answered 503', 'a failed key keeps its error for the next run');

-- Only the service role sweeps.
set local role authenticated;
select throws_ok($$ select public.claim_storage_deletions(1) $$, '42501', null, 'a user cannot claim deletions');
select throws_ok($$ select public.sweep_expired_rows() $$, '42501', null, 'a user cannot sweep');
reset role;
set local role anon;
select throws_ok($$ select public.finish_storage_deletions('{}') $$, '42501', null, 'anon cannot finish a sweep');
reset role;

select * from finish();
rollback;
