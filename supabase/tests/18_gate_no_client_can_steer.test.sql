-- A request gate no client can steer (migration 20261208000000): only the service role
-- mints a rate-limit pass (hit_route_limit_for, for the claims it passes, with the gate's
-- own session and anonymous checks); a user's own hit_route_limit counts without one;
-- the gate matches the decoded path, as PostgREST routes it.
begin;
set search_path = extensions, public;
select plan(14);

-- uma 18000000-0000-4000-8000-00000000000a, signed in (session = her id).
insert into auth.users (id, email) values ('18000000-0000-4000-8000-00000000000a', 'uma.18@example.test');
insert into auth.sessions (id, user_id) values ('18000000-0000-4000-8000-00000000000a', '18000000-0000-4000-8000-00000000000a');

create function pg_temp.claims(p_session text default '18000000-0000-4000-8000-00000000000a',
                               p_anonymous boolean default false) returns jsonb language sql as $$
  select jsonb_build_object('sub', '18000000-0000-4000-8000-00000000000a', 'session_id', p_session,
                            'role', 'authenticated', 'is_anonymous', p_anonymous);
$$;

-- A user's own hit: counted, no pass.
set local role authenticated;
select set_config('request.jwt.claims', pg_temp.claims()::text, true);
select is(public.hit_route_limit('write') ? 'pass', false, 'a user''s own hit_route_limit hands out no pass');
select throws_ok($$ select public.hit_route_limit_for(pg_temp.claims(), 'write') $$, '42501', null,
  'a user cannot call hit_route_limit_for');
reset role;
set local role anon;
select throws_ok($$ select public.hit_route_limit_for(pg_temp.claims(), 'write') $$, '42501', null,
  'anon cannot call hit_route_limit_for');
reset role;

-- The pipeline's hit (service role): the pass, for that user, under the gate's rules.
set local role service_role;
select set_config('request.jwt.claims', json_build_object('role', 'service_role')::text, true);
select ok((public.hit_route_limit_for(pg_temp.claims(), 'complete-upload') ->> 'pass') is not null,
  'the service role''s hit for a live session carries a pass');
reset role;
select is((select count(*)::int from private.rate_limit_passes where user_id = '18000000-0000-4000-8000-00000000000a'), 1,
  'bound to that user');
select is((select hits from private.rate_limit_counters where key = 'user:write:18000000-0000-4000-8000-00000000000a'), 2,
  'counted under the claims'' user (write: the user''s own hit and this one)');
set local role service_role;
select throws_ok($$ select public.hit_route_limit_for(pg_temp.claims('18000000-0000-4000-8000-0000000000ff'), 'write') $$,
  'PGRST', null, 'a session that has ended is refused as the gate refuses it');
select throws_ok($$ select public.hit_route_limit_for(pg_temp.claims(p_anonymous => true), 'write') $$,
  '42501', null, 'an anonymous user''s write is refused');
select lives_ok($$ select public.hit_route_limit_for(pg_temp.claims(p_anonymous => true), 'stream') $$,
  'an anonymous user may open a stream (it reads)');
select throws_ok($$ select public.hit_route_limit_for('{"role": "service_role"}'::jsonb, 'write') $$,
  '22023', null, 'claims that are not a user token''s are refused');
reset role;

-- The path as PostgREST routes it.
select is(private.decoded_path('/rpc/create%5Fupload'), '/rpc/create_upload', 'a percent-encoded function name decodes');
select is(private.decoded_path('/%75ploads'), '/uploads', 'a percent-encoded table name decodes');
select is(private.decoded_path('/rpc/x%zz%ff'), '/rpc/x%zz%ff', 'what does not decode stays as it was');

set local role authenticated;
select set_config('request.jwt.claims', pg_temp.claims()::text, true),
       set_config('request.method', 'POST', true),
       set_config('request.path', '/rpc/create%5Fupload', true),
       set_config('request.headers', '{}', true);
select private.check_request();
reset role;
select is((select hits from private.rate_limit_counters where key = 'user:create-upload:18000000-0000-4000-8000-00000000000a'), 1,
  'a percent-encoded create_upload is counted under create-upload');

select * from finish();
rollback;
