-- maintenanceMode (migration 20261202200000): while it is on, the request gate and
-- hit_route_limit refuse every write of a user who is not an admin (by user_roles, not
-- the token) with MAINTENANCE and a Retry-After; reads, the stream's limit, admins and
-- the service role go on. Off again, writes pass.
begin;
set search_path = extensions, public;
select plan(12);

-- Users (ids unique to this file):
--   uma 13000000-0000-4000-8000-00000000000a  user
--   ada 13000000-0000-4000-8000-00000000000d  admin
--   dem 13000000-0000-4000-8000-00000000000e  demoted admin (token still says admin)
insert into auth.users (id, email) values
  ('13000000-0000-4000-8000-00000000000a', 'uma.13@example.test'),
  ('13000000-0000-4000-8000-00000000000d', 'ada.13@example.test'),
  ('13000000-0000-4000-8000-00000000000e', 'dem.13@example.test');
-- Each signed in: a live session whose id is the user's (the request gate checks it).
insert into auth.sessions (id, user_id) select id, id from auth.users where id::text like '13000000-%';
update public.user_roles set role = 'admin' where user_id = '13000000-0000-4000-8000-00000000000d';
update public.app_settings set value = 'true' where key = 'maintenance_mode';

create function pg_temp.as_user(p_id uuid, p_method text, p_path text, p_role text default 'user')
returns void language sql as $$
  select set_config('request.jwt.claims', json_build_object(
           'sub', p_id, 'session_id', p_id, 'role', 'authenticated', 'user_role', p_role)::text, true),
         set_config('request.method', p_method, true),
         set_config('request.path', p_path, true),
         set_config('request.headers', '{}', true);
$$;

set local role authenticated;

select pg_temp.as_user('13000000-0000-4000-8000-00000000000a', 'POST', '/workspaces');
select throws_ok($$ select private.check_request() $$, 'PGRST', null,
  'in maintenance the gate refuses a user''s POST');
select pg_temp.as_user('13000000-0000-4000-8000-00000000000a', 'PATCH', '/profiles');
select throws_ok($$ select private.check_request() $$, 'PGRST', null,
  'in maintenance the gate refuses a user''s PATCH');
select pg_temp.as_user('13000000-0000-4000-8000-00000000000a', 'DELETE', '/posts');
select throws_ok($$ select private.check_request() $$, 'PGRST', null,
  'in maintenance the gate refuses a user''s DELETE');
select pg_temp.as_user('13000000-0000-4000-8000-00000000000a', 'GET', '/workspaces');
select lives_ok($$ select private.check_request() $$, 'in maintenance a user''s GET passes');
select pg_temp.as_user('13000000-0000-4000-8000-00000000000a', 'POST', '/rpc/hit_route_limit');
select throws_ok($$ select public.hit_route_limit('complete-upload') $$, 'PGRST', null,
  'in maintenance hit_route_limit refuses a user''s write');
select lives_ok($$ select public.hit_route_limit('stream') $$,
  'in maintenance the stream''s limit still counts (opening a stream reads)');

-- The refusal is the MAINTENANCE message PostgREST answers 503 with Retry-After.
select pg_temp.as_user('13000000-0000-4000-8000-00000000000a', 'POST', '/workspaces');
create function pg_temp.refusal() returns jsonb language plpgsql as $$
declare v_message text; v_detail text;
begin
  perform private.check_request();
  return null;
exception when sqlstate 'PGRST' then
  get stacked diagnostics v_message = message_text, v_detail = pg_exception_detail;
  return jsonb_build_object('message', v_message::jsonb, 'detail', v_detail::jsonb);
end $$;
select is((select pg_temp.refusal()),
  jsonb_build_object(
    'message', jsonb_build_object('code', 'MAINTENANCE',
      'message', 'The service is down for maintenance; try again later',
      'details', 'Retry after 300 seconds', 'hint', null),
    'detail', jsonb_build_object('status', 503, 'headers', jsonb_build_object('Retry-After', '300'))),
  'the refusal: code MAINTENANCE, status 503, Retry-After 300');

select pg_temp.as_user('13000000-0000-4000-8000-00000000000d', 'POST', '/workspaces', 'admin');
select lives_ok($$ select private.check_request() $$, 'in maintenance an admin writes');

reset role;
update public.user_roles set role = 'user' where user_id = '13000000-0000-4000-8000-00000000000e';
set local role authenticated;
select pg_temp.as_user('13000000-0000-4000-8000-00000000000e', 'POST', '/workspaces', 'admin');
select throws_ok($$ select private.check_request() $$, 'PGRST', null,
  'in maintenance a demoted admin whose token says admin is refused');

reset role;
set local role service_role;
select set_config('request.jwt.claims', '{"role": "service_role"}', true);
select lives_ok($$ select private.check_request() $$, 'in maintenance the service role writes');

reset role;
update public.app_settings set value = 'false' where key = 'maintenance_mode';
set local role authenticated;
select pg_temp.as_user('13000000-0000-4000-8000-00000000000a', 'POST', '/workspaces');
select lives_ok($$ select private.check_request() $$, 'out of maintenance a user''s POST passes');
select lives_ok($$ select public.hit_route_limit('complete-upload') $$,
  'out of maintenance hit_route_limit counts a user''s write');

select * from finish();
rollback;
