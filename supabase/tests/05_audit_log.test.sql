-- audit_log, record_audit_event() and hit_rate_limit(): the API roles cannot write
-- either table or call either function, and only admins read audit_log (the admins'
-- side is in 08); service_role writes only through
-- record_audit_event() and reads but never rewrites the trail; what record_audit_event
-- stores and coalesces; the fixed window of hit_rate_limit and its pruning.
begin;
set search_path = extensions, public;
select plan(55);

-- Users (ids unique to this file):
--   alice 05000000-0000-4000-8000-00000000000a  actor of the events below, deleted at the end
--   bob   05000000-0000-4000-8000-00000000000b  signed-in caller
-- Rate-limit keys all start with '05:'.
insert into auth.users (id, email) values
  ('05000000-0000-4000-8000-00000000000a', 'alice.05@example.test'),
  ('05000000-0000-4000-8000-00000000000b', 'bob.05@example.test');

-- Rows to be refused, so that a missing protection would show up as rows read or
-- changed rather than as nothing to see.
select public.record_audit_event('SEED', '05000000-0000-4000-8000-00000000000b', 'seed');
insert into private.rate_limit_counters (key, window_start, window_seconds, expires_at, hits) values ('05:seed', now(), 60, now() + interval '60 seconds', 1);

-- authenticated ---------------------------------------------------------------------------

set local role authenticated;
select set_config('request.jwt.claims', json_build_object('sub', '05000000-0000-4000-8000-00000000000b', 'role', 'authenticated')::text, true);

-- bob has the role `user`: the policy shows him nothing, not even the row naming him.
select is_empty(
  $$ select * from public.audit_log $$,
  'a signed-in user who is not an admin reads no audit_log row (not even his own)'
);
select throws_ok(
  $$ insert into public.audit_log (action, actor_id) values ('FORGED', '05000000-0000-4000-8000-00000000000b') $$,
  '42501', null,
  'authenticated cannot insert into audit_log'
);
select throws_ok(
  $$ update public.audit_log set action = 'ERASED' $$,
  '42501', null,
  'authenticated cannot update audit_log'
);
select throws_ok(
  $$ delete from public.audit_log $$,
  '42501', null,
  'authenticated cannot delete from audit_log'
);
select throws_ok(
  $$ truncate public.audit_log $$,
  '42501', null,
  'authenticated cannot truncate audit_log'
);
select throws_ok(
  $$ select public.record_audit_event('FORGED', '05000000-0000-4000-8000-00000000000a') $$,
  '42501', null,
  'authenticated cannot execute record_audit_event'
);
select throws_ok(
  $$ select public.hit_rate_limit('05:auth', 100, 60) $$,
  '42501', null,
  'authenticated cannot execute hit_rate_limit'
);
select throws_ok(
  $$ select * from private.rate_limit_counters $$,
  '42501', null,
  'authenticated cannot read private.rate_limit_counters'
);
select throws_ok(
  $$ delete from private.rate_limit_counters $$,
  '42501', null,
  'authenticated cannot reset rate limits by deleting counters'
);

-- anon ------------------------------------------------------------------------------------

set local role anon;
select set_config('request.jwt.claims', json_build_object('role', 'anon')::text, true);

select throws_ok(
  $$ select * from public.audit_log $$,
  '42501', null,
  'anon cannot read audit_log'
);
select throws_ok(
  $$ insert into public.audit_log (action) values ('FORGED') $$,
  '42501', null,
  'anon cannot insert into audit_log'
);
select throws_ok(
  $$ update public.audit_log set action = 'ERASED' $$,
  '42501', null,
  'anon cannot update audit_log'
);
select throws_ok(
  $$ delete from public.audit_log $$,
  '42501', null,
  'anon cannot delete from audit_log'
);
select throws_ok(
  $$ select public.record_audit_event('FORGED') $$,
  '42501', null,
  'anon cannot execute record_audit_event'
);
select throws_ok(
  $$ select public.hit_rate_limit('05:anon', 100, 60) $$,
  '42501', null,
  'anon cannot execute hit_rate_limit'
);
select throws_ok(
  $$ select * from private.rate_limit_counters $$,
  '42501', null,
  'anon cannot read private.rate_limit_counters'
);

reset role;

select results_eq(
  $$ select action, target, occurrences from public.audit_log where target = 'seed' $$,
  $$ values ('SEED', 'seed', 1) $$,
  'the seeded audit row is unchanged and nothing was added by the refused calls'
);

-- service_role: writing through record_audit_event only -------------------------------------

set local role service_role;
select set_config('request.jwt.claims', json_build_object('role', 'service_role')::text, true);

select lives_ok(
  $$
    select public.record_audit_event(
      p_action => 'SIGN_IN',
      p_actor => '05000000-0000-4000-8000-00000000000a',
      p_target => 'sessions',
      p_metadata => '{"method": "password"}',
      p_ip => '203.0.113.7',
      p_user_agent => 'Mozilla/5.0 (05 test)'
    )
  $$,
  'service_role executes record_audit_event'
);

select results_eq(
  $$
    select action, actor_id, target, metadata, ip, user_agent, occurrences, coalesce_key
    from public.audit_log where action = 'SIGN_IN' and target = 'sessions'
  $$,
  $$
    values ('SIGN_IN', '05000000-0000-4000-8000-00000000000a'::uuid, 'sessions',
            '{"method": "password"}'::jsonb, '203.0.113.7'::inet, 'Mozilla/5.0 (05 test)',
            1, null::text)
  $$,
  'service_role reads the event back: action, actor, target, metadata, ip as inet, user agent'
);

select throws_ok(
  $$ insert into public.audit_log (action) values ('FORGED') $$,
  '42501', null,
  'service_role cannot insert into audit_log directly'
);
select throws_ok(
  $$ update public.audit_log set action = 'ERASED' where target = 'sessions' $$,
  '42501', null,
  'service_role cannot update audit_log'
);
select throws_ok(
  $$ update public.audit_log set occurrences = 99 where target = 'sessions' $$,
  '42501', null,
  'service_role cannot inflate occurrences directly'
);
select throws_ok(
  $$ delete from public.audit_log where target = 'sessions' $$,
  '42501', null,
  'service_role cannot delete from audit_log'
);
select throws_ok(
  $$ truncate public.audit_log $$,
  '42501', null,
  'service_role cannot truncate audit_log'
);

-- Inputs: bad addresses become null, long user agents are cut, bad action names refused.

select lives_ok(
  $$ select public.record_audit_event('AUTH_REFUSED', p_target => 'bad-ip', p_ip => 'not-an-ip', p_user_agent => 'ua') $$,
  'an event with an invalid ip is accepted'
);
select results_eq(
  $$ select ip, user_agent from public.audit_log where target = 'bad-ip' $$,
  $$ values (null::inet, 'ua') $$,
  'an invalid ip is stored as null and the event is still recorded'
);

select lives_ok(
  $$ select public.record_audit_event('AUTH_REFUSED', p_target => 'empty-ip', p_ip => '') $$,
  'an event with an empty ip is accepted'
);
select results_eq(
  $$ select ip from public.audit_log where target = 'empty-ip' $$,
  $$ values (null::inet) $$,
  'an empty ip is stored as null'
);

select lives_ok(
  $$ select public.record_audit_event('AUTH_REFUSED', p_target => 'long-ua', p_ip => '2001:db8::1', p_user_agent => repeat('u', 600)) $$,
  'an event with a 600-character user agent is accepted'
);
select results_eq(
  $$ select ip, user_agent from public.audit_log where target = 'long-ua' $$,
  $$ values ('2001:db8::1'::inet, repeat('u', 512)) $$,
  'a 600-character user agent is cut to its first 512; an IPv6 address is kept'
);

select lives_ok(
  $$ select public.record_audit_event('AUTH_REFUSED', p_target => repeat('t', 250)) $$,
  'an event with a 250-character target is accepted'
);
select results_eq(
  $$ select target from public.audit_log where target like 'ttt%' $$,
  $$ values (repeat('t', 200)) $$,
  'a 250-character target is cut to its first 200'
);

select throws_ok(
  $$ select public.record_audit_event('sign_in') $$,
  '23514', null,
  'a lower-case action name is refused by the check constraint'
);
select throws_ok(
  $$ select public.record_audit_event('SIGN_IN; DROP') $$,
  '23514', null,
  'an action name with other characters is refused by the check constraint'
);
select throws_ok(
  $$ select public.record_audit_event(repeat('A', 65)) $$,
  '23514', null,
  'an action name over 64 characters is refused by the check constraint'
);

-- Coalescing: the same event twice in one minute (now() is fixed in this transaction).

select public.record_audit_event('ACCESS_DENIED', null, 'projects', '{"n": 1}', '198.51.100.9', 'ua', true);
select public.record_audit_event('ACCESS_DENIED', null, 'projects', '{"n": 2}', '198.51.100.9', 'ua', true);
select results_eq(
  $$
    select occurrences, coalesce_key is not null, last_seen_at >= created_at
    from public.audit_log where action = 'ACCESS_DENIED' and target = 'projects'
  $$,
  $$ values (2, true, true) $$,
  'two coalesced calls for the same event make one row with occurrences 2'
);

select public.record_audit_event('ACCESS_DENIED', null, 'workspaces', '{}', '198.51.100.9', 'ua', true);
select results_eq(
  $$
    select target, occurrences from public.audit_log
    where action = 'ACCESS_DENIED' and ip = '198.51.100.9' order by target
  $$,
  $$ values ('projects', 2), ('workspaces', 1) $$,
  'a coalesced event for another target gets its own row'
);

select public.record_audit_event('CSRF_FAILED', null, 'sessions', '{}', '198.51.100.9', 'ua', false);
select public.record_audit_event('CSRF_FAILED', null, 'sessions', '{}', '198.51.100.9', 'ua', false);
select results_eq(
  $$ select occurrences, coalesce_key from public.audit_log where action = 'CSRF_FAILED' $$,
  $$ values (1, null::text), (1, null::text) $$,
  'two calls with p_coalesce = false keep two rows of one occurrence each'
);

reset role;

-- Deleting the actor keeps the trail -----------------------------------------------------

-- As Supabase Auth deletes users (a plain statement: supabase_auth_admin has no usage on
-- schema extensions; should the foreign key refuse, the delete aborts the file).
set local role supabase_auth_admin;
delete from auth.users where id = '05000000-0000-4000-8000-00000000000a';
reset role;

select results_eq(
  $$ select actor_id, action from public.audit_log where target = 'sessions' and action = 'SIGN_IN' $$,
  $$ values (null::uuid, 'SIGN_IN') $$,
  'deleting the actor''s auth user keeps the event and sets actor_id to null'
);

-- hit_rate_limit ------------------------------------------------------------------------
-- (A SQL wrapper around private.count_hit; the rules, hit_route_limit and
-- hit_subject_limit are tested in 10.)

set local role service_role;

select results_eq(
  $$ select r - 'retryAfter' - 'reset' from (select public.hit_rate_limit('05:ip:a', 2, 60) as r) s $$,
  $$ values ('{"allowed": true, "hits": 1, "limit": 2, "remaining": 1, "window": 60}'::jsonb) $$,
  'first hit on a key with limit 2 is allowed, 1 remaining in the 60-second window'
);
select results_eq(
  $$ select r - 'retryAfter' - 'reset' from (select public.hit_rate_limit('05:ip:a', 2, 60) as r) s $$,
  $$ values ('{"allowed": true, "hits": 2, "limit": 2, "remaining": 0, "window": 60}'::jsonb) $$,
  'second hit in the window is allowed, 0 remaining'
);
select results_eq(
  $$
    select r -> 'allowed', r -> 'hits', r -> 'limit', r -> 'remaining',
           (r ->> 'retryAfter')::integer between 1 and 60, r -> 'reset' = r -> 'retryAfter'
    from (select public.hit_rate_limit('05:ip:a', 2, 60) as r) s
  $$,
  $$ values ('false'::jsonb, '3'::jsonb, '2'::jsonb, '0'::jsonb, true, true) $$,
  'third hit in the window is refused, remaining 0 (never negative), with retryAfter (= reset) between 1 and the 60-second window'
);
select results_eq(
  $$ select r - 'retryAfter' - 'reset' from (select public.hit_rate_limit('05:ip:b', 2, 60) as r) s $$,
  $$ values ('{"allowed": true, "hits": 1, "limit": 2, "remaining": 1, "window": 60}'::jsonb) $$,
  'another key starts at its own first hit'
);
select results_eq(
  $$ select r -> 'allowed', r -> 'hits' from (select public.hit_rate_limit('05:ip:a', 2, 60) as r) s $$,
  $$ values ('false'::jsonb, '4'::jsonb) $$,
  'and hits on the other key did not reset the first one'
);

select throws_ok(
  $$ select public.hit_rate_limit('05:bad', 0, 60) $$,
  '22023', null,
  'a limit of 0 is refused with 22023'
);
select throws_ok(
  $$ select public.hit_rate_limit(null, 2, 60) $$,
  '22023', null,
  'a null key is refused with 22023'
);
select throws_ok(
  $$ select public.hit_rate_limit(repeat('k', 201), 2, 60) $$,
  '22023', null,
  'a key over 200 characters is refused with 22023'
);
select throws_ok(
  $$ select public.hit_rate_limit('05:bad', 2, -60) $$,
  '22023', null,
  'a negative window is refused with 22023'
);

select throws_ok(
  $$ select public.hit_rate_limit('05:bad', 2, 0) $$,
  '22023', null,
  'a window of 0 is refused with 22023 (not division by zero)'
);
select throws_ok(
  $$ select public.hit_rate_limit('05:bad', null, 60) $$,
  '22023', null,
  'a null limit is refused with 22023 (not counted and answered allowed: null)'
);
select throws_ok(
  $$ select public.hit_rate_limit('05:bad', 2, null) $$,
  '22023', null,
  'a null window is refused with 22023 (not a not-null violation)'
);

reset role;

select is_empty(
  $$ select key, hits from private.rate_limit_counters where key like '05:bad%' or key like 'kkk%' $$,
  'refused arguments leave no counter behind'
);

select results_eq(
  $$ select key, hits from private.rate_limit_counters where key like '05:ip:%' order by key $$,
  $$ values ('05:ip:a', 4), ('05:ip:b', 1) $$,
  'the counters hold one row per key and window with its hits'
);

-- Pruning: a counter whose own window ended and one whose (longer) window is still
-- running; a later call on any key, with any window, removes only the first.
insert into private.rate_limit_counters (key, window_start, window_seconds, expires_at, hits) values
  ('05:old', now() - interval '2 hours', 60, now() - interval '2 hours' + interval '60 seconds', 9),
  ('05:recent', now() - interval '30 minutes', 3600, now() + interval '30 minutes', 9);
select results_eq(
  $$ select key from private.rate_limit_counters where key in ('05:old', '05:recent') order by key $$,
  $$ values ('05:old'), ('05:recent') $$,
  'before pruning both counters exist'
);

set local role service_role;
select public.hit_rate_limit('05:prune', 5, 60);
reset role;

select results_eq(
  $$ select key from private.rate_limit_counters where key in ('05:old', '05:recent') order by key $$,
  $$ values ('05:recent') $$,
  'a later call prunes the window older than the retention and keeps the recent one'
);

select * from finish();
rollback;
