-- rate_limit_rules, hit_route_limit(), hit_subject_limit(): the API roles cannot read or
-- change the rules or the counters, nor call the counting core or the service-role entry
-- points; hit_route_limit counts under the caller's own key (from auth.uid(), in SQL),
-- never lets a user name a laxer or another kind of rule, and never goes backwards;
-- hit_subject_limit counts ip/email subjects for the service role; windows reset and
-- expired counters are pruned. (hit_rate_limit's own arguments are tested in 05.)
begin;
set search_path = extensions, public;
select plan(52);

-- Users (ids unique to this file):
--   ada 10000000-0000-4000-8000-00000000000a  uses up her stream allowance
--   bea 10000000-0000-4000-8000-00000000000b  the other user (her own key)
--   cid 10000000-0000-4000-8000-00000000000c  a full counter in a past window (reset)
--   dan 10000000-0000-4000-8000-00000000000d  a long-expired counter (pruned)
-- Counter keys are 'user:<rule>:<uid>' and '<ip|email>:<rule>:<subject>'; subjects here
-- start with '10-' or are 'abc'.
insert into auth.users (id, email) values
  ('10000000-0000-4000-8000-00000000000a', 'ada.10@example.test'),
  ('10000000-0000-4000-8000-00000000000b', 'bea.10@example.test'),
  ('10000000-0000-4000-8000-00000000000c', 'cid.10@example.test'),
  ('10000000-0000-4000-8000-00000000000d', 'dan.10@example.test');

-- A counter to be refused, so that a missing protection would show up as a row read or
-- changed rather than as nothing to see.
insert into private.rate_limit_counters (key, window_start, window_seconds, expires_at, hits)
values ('10:seed', now(), 60, now() + interval '60 seconds', 7);

-- The seeded rules ------------------------------------------------------------------------

select results_eq(
  $$ select rule, max_hits, window_seconds, key_kind from public.rate_limit_rules order by rule $$,
  $$
    values ('create-upload', 20, 60, 'user'), ('magic-link:email', 3, 300, 'email'), ('magic-link:ip', 20, 300, 'ip'),
           ('refresh:ip', 60, 300, 'ip'), ('sign-in:email', 5, 300, 'email'),
           ('sign-in:ip', 20, 300, 'ip'), ('sign-up:ip', 10, 3600, 'ip'), ('stream', 10, 60, 'user'),
           ('write', 120, 60, 'user')
  $$,
  'the migrations seed the rules: create-upload 20/60, magic-link:email 3/300, magic-link:ip 20/300, refresh:ip 60/300, sign-in:email 5/300, sign-in:ip 20/300, sign-up:ip 10/3600, stream 10/60, write 120/60'
);

-- authenticated: no rules, no counters, no core, no service-role entry points ---------------

set local role authenticated;
select set_config('request.jwt.claims', json_build_object('sub', '10000000-0000-4000-8000-00000000000a', 'role', 'authenticated')::text, true);

select throws_ok(
  $$ select * from public.rate_limit_rules $$,
  '42501', null,
  'authenticated cannot read rate_limit_rules'
);
select throws_ok(
  $$ insert into public.rate_limit_rules (rule, max_hits, window_seconds, key_kind) values ('lax', 1000000, 1, 'user') $$,
  '42501', null,
  'authenticated cannot insert a rule'
);
select throws_ok(
  $$ update public.rate_limit_rules set max_hits = 1000000 $$,
  '42501', null,
  'authenticated cannot raise a limit'
);
select throws_ok(
  $$ delete from public.rate_limit_rules $$,
  '42501', null,
  'authenticated cannot delete rules'
);
select throws_ok(
  $$ select * from private.rate_limit_counters $$,
  '42501', null,
  'authenticated cannot read private.rate_limit_counters'
);
select throws_ok(
  $$ insert into private.rate_limit_counters (key, window_start, window_seconds, expires_at, hits)
     values ('user:stream:10000000-0000-4000-8000-00000000000a', now() + interval '1 day', 60, now() + interval '2 days', -1000) $$,
  '42501', null,
  'authenticated cannot insert a counter'
);
select throws_ok(
  $$ update private.rate_limit_counters set hits = 0 $$,
  '42501', null,
  'authenticated cannot reset counters by updating them'
);
select throws_ok(
  $$ delete from private.rate_limit_counters $$,
  '42501', null,
  'authenticated cannot reset counters by deleting them'
);
select throws_ok(
  $$ select private.count_hit('user:stream:10000000-0000-4000-8000-00000000000b', 1000000, 60) $$,
  '42501', null,
  'authenticated cannot execute private.count_hit'
);
select throws_ok(
  $$ select public.hit_subject_limit('sign-in:ip', '10-203.0.113.1') $$,
  '42501', null,
  'authenticated cannot execute hit_subject_limit'
);
select throws_ok(
  $$ select public.hit_rate_limit('user:stream:10000000-0000-4000-8000-00000000000b', 1000000, 60) $$,
  '42501', null,
  'authenticated cannot execute hit_rate_limit'
);

-- hit_route_limit: ada's own key --------------------------------------------------------------

-- now() is fixed in this transaction: every hit falls in the same window.
select results_eq(
  $$
    select (r ->> 'allowed')::boolean, (r ->> 'hits')::integer, (r ->> 'remaining')::integer,
           (r ->> 'limit')::integer, (r ->> 'window')::integer, r ->> 'rule'
    from (select g, public.hit_route_limit('stream') as r from generate_series(1, 10) as g) s
    order by g
  $$,
  $$ select true, g, 10 - g, 10, 60, 'stream' from generate_series(1, 10) as g $$,
  'ada''s first 10 stream hits are allowed, counting 1..10 with 9..0 remaining'
);

select results_eq(
  $$
    select r -> 'allowed', r -> 'hits', r -> 'remaining', r ->> 'rule',
           (r ->> 'retryAfter')::integer between 1 and 60, r -> 'reset' = r -> 'retryAfter'
    from (select public.hit_route_limit('stream') as r) s
  $$,
  $$ values ('false'::jsonb, '11'::jsonb, '0'::jsonb, 'stream', true, true) $$,
  'ada''s 11th stream hit is refused: remaining 0, retryAfter (= reset) between 1 and 60'
);

-- bea: another key, untouched by ada's.
select set_config('request.jwt.claims', json_build_object('sub', '10000000-0000-4000-8000-00000000000b', 'role', 'authenticated')::text, true);

select results_eq(
  $$ select r - 'retryAfter' - 'reset' - 'pass' from (select public.hit_route_limit('stream') as r) s $$,
  $$ values ('{"allowed": true, "hits": 1, "limit": 10, "remaining": 9, "window": 60, "rule": "stream"}'::jsonb) $$,
  'bea is still allowed while ada is refused: her first stream hit'
);

select set_config('request.jwt.claims', json_build_object('sub', '10000000-0000-4000-8000-00000000000a', 'role', 'authenticated')::text, true);

select results_eq(
  $$ select r -> 'allowed', r -> 'hits' from (select public.hit_route_limit('stream') as r) s $$,
  $$ values ('false'::jsonb, '12'::jsonb) $$,
  'and bea''s hit did not reset ada''s counter (ada is still refused)'
);

-- Refused attempts to reset (above) changed nothing: the count only goes up.
select throws_ok(
  $$ delete from private.rate_limit_counters where key like '%10000000-0000-4000-8000-00000000000a' $$,
  '42501', null,
  'ada cannot delete her own counter'
);
select throws_ok(
  $$ update private.rate_limit_counters set hits = 0 where key like '%10000000-0000-4000-8000-00000000000a' $$,
  '42501', null,
  'ada cannot zero her own counter'
);
select results_eq(
  $$ select r -> 'allowed', r -> 'hits' from (select public.hit_route_limit('stream') as r) s $$,
  $$ values ('false'::jsonb, '13'::jsonb) $$,
  'after the refused resets ada''s next hit counts on (13), still refused'
);
select results_eq(
  $$
    select bool_and(h > 13) and count(*) = 5 and bool_and(not a)
    from (
      select g, (r ->> 'hits')::integer as h, (r ->> 'allowed')::boolean as a,
             lag((r ->> 'hits')::integer) over (order by g) as prev
      from (select g, public.hit_route_limit('stream') as r from generate_series(1, 5) as g) s
    ) t
    where prev is null or h = prev + 1
  $$,
  $$ values (true) $$,
  'five more calls count 14..18, each one more than the last, all refused (calling never decreases hits)'
);

-- The rule falls back to write: a user cannot name a laxer rule, an ip/email rule or none.
select results_eq(
  $$ select r ->> 'rule', r -> 'limit', r -> 'window', r -> 'hits' from (select public.hit_route_limit('sign-in:ip') as r) s $$,
  $$ values ('write', '120'::jsonb, '60'::jsonb, '1'::jsonb) $$,
  'hit_route_limit(''sign-in:ip'') (an ip rule) counts under write, not sign-in:ip'
);
select results_eq(
  $$ select r ->> 'rule', r -> 'hits' from (select public.hit_route_limit('sign-in:email') as r) s $$,
  $$ values ('write', '2'::jsonb) $$,
  'hit_route_limit(''sign-in:email'') (an email rule) counts under write, on the same counter'
);
select results_eq(
  $$ select r ->> 'rule', r -> 'hits' from (select public.hit_route_limit('no-such-rule') as r) s $$,
  $$ values ('write', '3'::jsonb) $$,
  'an unknown rule name counts under write'
);
select results_eq(
  $$ select r ->> 'rule', r -> 'hits' from (select public.hit_route_limit(null) as r) s $$,
  $$ values ('write', '4'::jsonb) $$,
  'a null rule name counts under write'
);
select results_eq(
  $$ select r ->> 'rule', r -> 'limit', r -> 'window', r -> 'hits' from (select public.hit_route_limit('create-upload') as r) s $$,
  $$ values ('create-upload', '20'::jsonb, '60'::jsonb, '1'::jsonb) $$,
  'a user rule is honoured: create-upload counts 20/60 on its own counter'
);

-- A signed-in role without a user id.
select set_config('request.jwt.claims', json_build_object('role', 'authenticated')::text, true);
select throws_ok(
  $$ select public.hit_route_limit('stream') $$,
  '42501', null,
  'hit_route_limit without a user id (no sub claim) is refused with 42501'
);

-- anon ------------------------------------------------------------------------------------

set local role anon;
select set_config('request.jwt.claims', json_build_object('role', 'anon')::text, true);

select throws_ok(
  $$ select public.hit_route_limit('stream') $$,
  '42501', null,
  'anon cannot execute hit_route_limit'
);
-- Even with a user id in the claims: it is the grant that refuses anon.
select set_config('request.jwt.claims', json_build_object('sub', '10000000-0000-4000-8000-00000000000b', 'role', 'anon')::text, true);
select throws_ok(
  $$ select public.hit_route_limit('stream') $$,
  '42501', null,
  'anon cannot execute hit_route_limit even with a sub claim'
);
select throws_ok(
  $$ select public.hit_subject_limit('sign-in:ip', '10-203.0.113.1') $$,
  '42501', null,
  'anon cannot execute hit_subject_limit'
);
select throws_ok(
  $$ select * from public.rate_limit_rules $$,
  '42501', null,
  'anon cannot read rate_limit_rules'
);

reset role;

-- What the refused calls left and what the allowed ones counted, by key.
select results_eq(
  $$
    select key, hits from private.rate_limit_counters
    where key = '10:seed' or key like 'user:%:10000000-0000-4000-8000-00000000000_'
    order by key
  $$,
  $$
    values ('10:seed', 7),
           ('user:create-upload:10000000-0000-4000-8000-00000000000a', 1),
           ('user:stream:10000000-0000-4000-8000-00000000000a', 18),
           ('user:stream:10000000-0000-4000-8000-00000000000b', 1),
           ('user:write:10000000-0000-4000-8000-00000000000a', 4)
  $$,
  'the counters hold exactly the hits under each caller''s own key (rule + auth.uid()); the seed is untouched'
);
select is_empty(
  $$ select key from private.rate_limit_counters where key like '%sign-in%' or key like '%no-such-rule%' $$,
  'no counter was made for a rule name the user chose that is not a user rule'
);
select results_eq(
  $$ select rule, max_hits from public.rate_limit_rules order by rule $$,
  $$ values ('create-upload', 20), ('magic-link:email', 3), ('magic-link:ip', 20), ('refresh:ip', 60), ('sign-in:email', 5),
           ('sign-in:ip', 20), ('sign-up:ip', 10), ('stream', 10), ('write', 120) $$,
  'the rules are unchanged by the refused writes'
);

-- service_role: hit_subject_limit -------------------------------------------------------------

set local role service_role;
select set_config('request.jwt.claims', json_build_object('role', 'service_role')::text, true);

select results_eq(
  $$
    select (r ->> 'allowed')::boolean, (r ->> 'hits')::integer, (r ->> 'remaining')::integer,
           (r ->> 'limit')::integer, (r ->> 'window')::integer, r ->> 'rule'
    from (select g, public.hit_subject_limit('sign-in:email', 'abc') as r from generate_series(1, 5) as g) s
    order by g
  $$,
  $$ select true, g, 5 - g, 5, 300, 'sign-in:email' from generate_series(1, 5) as g $$,
  'hit_subject_limit(''sign-in:email'', ''abc'') allows 5 hits, 4..0 remaining, in a 300-second window'
);
select results_eq(
  $$
    select r -> 'allowed', r -> 'hits', r -> 'remaining',
           (r ->> 'retryAfter')::integer between 1 and 300, r -> 'reset' = r -> 'retryAfter'
    from (select public.hit_subject_limit('sign-in:email', 'abc') as r) s
  $$,
  $$ values ('false'::jsonb, '6'::jsonb, '0'::jsonb, true, true) $$,
  'the 6th is refused: remaining 0, retryAfter (= reset) between 1 and 300'
);
select results_eq(
  $$ select r -> 'allowed', r -> 'hits' from (select public.hit_subject_limit('sign-in:email', '10-other') as r) s $$,
  $$ values ('true'::jsonb, '1'::jsonb) $$,
  'another email subject starts at its own first hit'
);
select results_eq(
  $$ select r -> 'allowed', r -> 'hits', r -> 'limit', r ->> 'rule' from (select public.hit_subject_limit('sign-in:ip', 'abc') as r) s $$,
  $$ values ('true'::jsonb, '1'::jsonb, '20'::jsonb, 'sign-in:ip') $$,
  'the same subject under the ip rule has its own counter (20/300)'
);
select lives_ok(
  $$ select public.hit_subject_limit('sign-in:ip', '10-' || repeat('s', 125)) $$,
  'a 128-character subject is accepted'
);

select throws_ok(
  $$ select public.hit_subject_limit('no-such-rule', '10-203.0.113.1') $$,
  '22023', null,
  'an unknown rule is refused with 22023'
);
select throws_ok(
  $$ select public.hit_subject_limit('stream', '10-203.0.113.1') $$,
  '22023', null,
  'a user rule is refused with 22023 (hit_subject_limit is for ip and email rules)'
);
select throws_ok(
  $$ select public.hit_subject_limit(null, '10-203.0.113.1') $$,
  '22023', null,
  'a null rule is refused with 22023'
);
select throws_ok(
  $$ select public.hit_subject_limit('sign-in:ip', '10-' || repeat('s', 126)) $$,
  '22023', null,
  'a subject over 128 characters is refused with 22023'
);
select throws_ok(
  $$ select public.hit_subject_limit('sign-in:ip', null) $$,
  '22023', null,
  'a null subject is refused with 22023'
);

-- The core is not even the service role's: it goes through the wrappers.
select throws_ok(
  $$ select private.count_hit('10:core', 1000000, 60) $$,
  '42501', null,
  'service_role cannot execute private.count_hit directly'
);
-- The service role has no user id: hit_route_limit refuses it.
select throws_ok(
  $$ select public.hit_route_limit('stream') $$,
  '42501', null,
  'hit_route_limit as service_role without a user id is refused with 42501'
);

reset role;

select results_eq(
  $$
    select key, hits, window_seconds from private.rate_limit_counters
    where key like 'ip:%' or key like 'email:%' order by key
  $$,
  $$
    values ('email:sign-in:email:10-other', 1, 300), ('email:sign-in:email:abc', 6, 300),
           ('ip:sign-in:ip:10-' || repeat('s', 125), 1, 300), ('ip:sign-in:ip:abc', 1, 300)
  $$,
  'subject counters are keyed by kind, rule and subject; refused subjects left none'
);

-- Windows reset ----------------------------------------------------------------------------

-- cid used up his stream allowance in the previous 60-second window (a full counter,
-- ended but within the one-minute retention, so not pruned by the hits below).
insert into private.rate_limit_counters (key, window_start, window_seconds, expires_at, hits)
select 'user:stream:10000000-0000-4000-8000-00000000000c', w - interval '60 seconds', 60, w, 10
from (select to_timestamp(floor(extract(epoch from now()) / 60) * 60) as w) s;

set local role authenticated;
select set_config('request.jwt.claims', json_build_object('sub', '10000000-0000-4000-8000-00000000000c', 'role', 'authenticated')::text, true);

select results_eq(
  $$ select r -> 'allowed', r -> 'hits', r -> 'remaining' from (select public.hit_route_limit('stream') as r) s $$,
  $$ values ('true'::jsonb, '1'::jsonb, '9'::jsonb) $$,
  'a full counter in a past window does not count: the first hit of the current window is allowed (hits 1)'
);

reset role;

select results_eq(
  $$
    select window_start - to_timestamp(floor(extract(epoch from now()) / 60) * 60), hits
    from private.rate_limit_counters
    where key = 'user:stream:10000000-0000-4000-8000-00000000000c'
    order by window_start
  $$,
  $$ values (interval '-60 seconds', 10), (interval '0', 1) $$,
  'cid has the old window''s counter (10) and a new one for the current window (1)'
);

-- Pruning ----------------------------------------------------------------------------------

-- dan's counter ended an hour ago: the next hit on any key removes it.
insert into private.rate_limit_counters (key, window_start, window_seconds, expires_at, hits) values
  ('user:stream:10000000-0000-4000-8000-00000000000d', now() - interval '61 minutes', 60, now() - interval '60 minutes', 10);
select results_eq(
  $$ select hits from private.rate_limit_counters where key = 'user:stream:10000000-0000-4000-8000-00000000000d' $$,
  $$ values (10) $$,
  'before the next hit dan''s expired counter exists'
);

set local role authenticated;
select set_config('request.jwt.claims', json_build_object('sub', '10000000-0000-4000-8000-00000000000b', 'role', 'authenticated')::text, true);
select lives_ok(
  $$ select public.hit_route_limit('write') $$,
  'bea hits write (another key, another rule)'
);
reset role;

select is_empty(
  $$ select key from private.rate_limit_counters where key = 'user:stream:10000000-0000-4000-8000-00000000000d' $$,
  'a later hit on another key pruned dan''s expired counter'
);
select results_eq(
  $$ select count(*)::integer from private.rate_limit_counters where key = 'user:stream:10000000-0000-4000-8000-00000000000c' $$,
  $$ values (2) $$,
  'and kept cid''s counter that ended less than the one-minute retention ago'
);

select * from finish();
rollback;
