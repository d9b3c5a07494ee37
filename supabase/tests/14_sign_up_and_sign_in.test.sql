-- Sign-up and sign-in (migration 20261202300000): the before-user-created hook obeys
-- signupsEnabled and maintenanceMode, record_sign_in writes one SIGN_IN row and tells a
-- first sign-in, hit_auth_limit counts and reads the switches; who may call each.
begin;
set search_path = extensions, public;
select plan(14);

insert into auth.users (id, email) values
  ('14000000-0000-4000-8000-00000000000a', 'uma.14@example.test');
update public.profiles set first_signed_in_at = null where id = '14000000-0000-4000-8000-00000000000a';

-- Who may call them.
select ok(has_function_privilege('supabase_auth_admin', 'public.before_user_created_hook(jsonb)', 'execute')
  and not has_function_privilege('authenticated', 'public.before_user_created_hook(jsonb)', 'execute')
  and not has_function_privilege('anon', 'public.before_user_created_hook(jsonb)', 'execute')
  and not has_function_privilege('service_role', 'public.before_user_created_hook(jsonb)', 'execute'),
  'the hook: Supabase Auth (supabase_auth_admin) only');
select ok(has_function_privilege('service_role', 'public.record_sign_in(uuid, text, text, text, text)', 'execute')
  and not has_function_privilege('authenticated', 'public.record_sign_in(uuid, text, text, text, text)', 'execute')
  and not has_function_privilege('anon', 'public.record_sign_in(uuid, text, text, text, text)', 'execute'),
  'record_sign_in: the service role only');
select ok(has_function_privilege('service_role', 'public.hit_auth_limit(text, text)', 'execute')
  and not has_function_privilege('authenticated', 'public.hit_auth_limit(text, text)', 'execute')
  and not has_function_privilege('anon', 'public.hit_auth_limit(text, text)', 'execute'),
  'hit_auth_limit: the service role only');

-- The hook, called as Supabase Auth calls it (its answer kept in a setting, since
-- supabase_auth_admin cannot see pgTAP's functions).
create function pg_temp.hook() returns jsonb language plpgsql as $$
begin
  set local role supabase_auth_admin;
  perform set_config('t.hook', public.before_user_created_hook('{"user": {"email": "new@example.test"}}')::text, true);
  reset role;
  return current_setting('t.hook')::jsonb;
end $$;
select is(pg_temp.hook(), '{}'::jsonb, 'sign-ups open: the hook lets the user be created');
update public.app_settings set value = 'false' where key = 'signups_enabled';
select is(pg_temp.hook(), '{"error": {"http_code": 403, "message": "Sign-ups are closed"}}'::jsonb,
  'sign-ups closed: the hook refuses with 403');
update public.app_settings set value = 'true' where key = 'signups_enabled';
update public.app_settings set value = 'true' where key = 'maintenance_mode';
select is(pg_temp.hook()->'error'->>'http_code', '503', 'in maintenance: the hook refuses with 503');
update public.app_settings set value = 'false' where key = 'maintenance_mode';

-- hit_auth_limit.
set local role service_role;
select is((select public.hit_auth_limit('sign-up:ip', '192.0.2.14') - 'reset' - 'retryAfter'),
  '{"rule": "sign-up:ip", "allowed": true, "hits": 1, "limit": 10, "remaining": 9, "window": 3600, "signupsEnabled": true, "maintenanceMode": false}'::jsonb
    - 'reset',
  'hit_auth_limit: one counted hit and the two switches');
select throws_ok($$ select public.hit_auth_limit('write', 'x') $$, '22023', null,
  'hit_auth_limit takes address and email rules only');

-- record_sign_in.
select is(public.record_sign_in('14000000-0000-4000-8000-00000000000a', 'github', 'oauth', '192.0.2.14', 'ua/1'), true,
  'the first sign-in is the first');
select is(public.record_sign_in('14000000-0000-4000-8000-00000000000a', 'email', 'magiclink', '192.0.2.14', 'ua/1'), false,
  'the second is not');
reset role;
select results_eq(
  $$ select metadata, host(ip), user_agent from public.audit_log
     where action = 'SIGN_IN' and actor_id = '14000000-0000-4000-8000-00000000000a'
     order by metadata ->> 'firstSignIn' desc $$,
  $$ values ('{"provider": "github", "method": "oauth", "firstSignIn": true}'::jsonb, '192.0.2.14', 'ua/1'),
            ('{"provider": "email", "method": "magiclink", "firstSignIn": false}'::jsonb, '192.0.2.14', 'ua/1') $$,
  'one SIGN_IN row per sign-in, with the provider, the method and the client address');
set local role service_role;
select throws_ok($$ select public.record_sign_in('14000000-0000-4000-8000-00000000000a', 'Git Hub!', 'oauth') $$,
  '22023', null, 'a provider name that is not one is refused');
select throws_ok($$ select public.record_sign_in(null, 'email', 'password') $$,
  '22023', null, 'a sign-in without a user is refused');
reset role;
select ok((select first_signed_in_at is not null from public.profiles where id = '14000000-0000-4000-8000-00000000000a'),
  'the profile keeps when the user first signed in');

select * from finish();
rollback;
