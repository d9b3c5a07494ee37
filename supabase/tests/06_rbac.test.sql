-- RBAC: app_role/app_permission, role_permissions, user_roles and its default-role
-- trigger, authorize() and current_app_role() (which read user_roles, never the token),
-- custom_access_token_hook() (Supabase Auth's alone), who may change roles, and the
-- ROLE_CHANGED audit rows.
begin;
set search_path = extensions, public;
select plan(51);

-- Users (ids unique to this file):
--   ada 06000000-0000-4000-8000-00000000000a  admin
--   bea 06000000-0000-4000-8000-00000000000b  editor
--   cal 06000000-0000-4000-8000-00000000000c  user
--   dan 06000000-0000-4000-8000-00000000000d  user, whose role others try to change
--   fay 06000000-0000-4000-8000-00000000000f  admin, demoted while her token still says admin
--   gus 06000000-0000-4000-8000-000000000001  no user_roles row (deleted below)
--   hal 06000000-0000-4000-8000-000000000002  created as supabase_auth_admin
insert into auth.users (id, email) values
  ('06000000-0000-4000-8000-00000000000a', 'ada.06@example.test'),
  ('06000000-0000-4000-8000-00000000000b', 'bea.06@example.test'),
  ('06000000-0000-4000-8000-00000000000c', 'cal.06@example.test'),
  ('06000000-0000-4000-8000-00000000000d', 'dan.06@example.test'),
  ('06000000-0000-4000-8000-00000000000f', 'fay.06@example.test'),
  ('06000000-0000-4000-8000-000000000001', 'gus.06@example.test');

-- As Supabase Auth signs users up (a plain statement: supabase_auth_admin has no usage
-- on schema extensions; should the trigger fail, the insert aborts the file).
set local role supabase_auth_admin;
insert into auth.users (id, email) values ('06000000-0000-4000-8000-000000000002', 'hal.06@example.test');
reset role;

-- The enums and the permission table --------------------------------------------------

select enum_has_labels('public', 'app_role', array['admin', 'editor', 'user'], 'app_role is admin, editor, user');
select enum_has_labels(
  'public', 'app_permission',
  array['users.read', 'users.write', 'users.delete', 'posts.read', 'posts.write', 'posts.delete',
        'posts.publish', 'settings.read', 'settings.write'],
  'app_permission holds the nine permissions'
);

select results_eq(
  $$ select rp.role::text as role_name, rp.permission::text as permission_name from public.role_permissions rp order by rp.role, rp.permission $$,
  $$
    values
      ('admin', 'users.read'), ('admin', 'users.write'), ('admin', 'users.delete'),
      ('admin', 'posts.read'), ('admin', 'posts.write'), ('admin', 'posts.delete'), ('admin', 'posts.publish'),
      ('admin', 'settings.read'), ('admin', 'settings.write'),
      ('editor', 'users.read'), ('editor', 'posts.read'), ('editor', 'posts.write'), ('editor', 'posts.publish'),
      ('user', 'posts.read'), ('user', 'posts.write')
  $$,
  'role_permissions is exactly the table of shared/src/auth/permissions.rs (admin: all nine; editor: posts.read/write/publish, users.read; user: posts.read/write)'
);

-- Default role ----------------------------------------------------------------------------

select results_eq(
  $$ select user_id, role::text from public.user_roles where user_id::text like '06000000-%' order by user_id $$,
  $$
    values
      ('06000000-0000-4000-8000-000000000001'::uuid, 'user'),
      ('06000000-0000-4000-8000-000000000002'::uuid, 'user'),
      ('06000000-0000-4000-8000-00000000000a'::uuid, 'user'),
      ('06000000-0000-4000-8000-00000000000b'::uuid, 'user'),
      ('06000000-0000-4000-8000-00000000000c'::uuid, 'user'),
      ('06000000-0000-4000-8000-00000000000d'::uuid, 'user'),
      ('06000000-0000-4000-8000-00000000000f'::uuid, 'user')
  $$,
  'every new auth user (also one created by supabase_auth_admin) gets one user_roles row with the role user'
);

-- Roles as an operator would set them: outside any request, so not audited.
update public.user_roles set role = 'admin' where user_id in ('06000000-0000-4000-8000-00000000000a', '06000000-0000-4000-8000-00000000000f');
update public.user_roles set role = 'editor' where user_id = '06000000-0000-4000-8000-00000000000b';
delete from public.user_roles where user_id = '06000000-0000-4000-8000-000000000001';

select is_empty(
  $$ select * from public.audit_log where target like 'user:06000000-%' $$,
  'role changes made outside a user''s request (sign-up defaults, operators) write no audit row'
);

-- authorize(): the full matrix -----------------------------------------------------------

set local role authenticated;

select set_config('request.jwt.claims', json_build_object('sub', '06000000-0000-4000-8000-00000000000c', 'role', 'authenticated', 'user_role', 'user')::text, true);
select results_eq(
  $$ select p::text as permission, public.authorize(p) from unnest(enum_range(null::public.app_permission)) p order by p $$,
  $$
    values ('users.read', false), ('users.write', false), ('users.delete', false),
           ('posts.read', true), ('posts.write', true), ('posts.delete', false), ('posts.publish', false),
           ('settings.read', false), ('settings.write', false)
  $$,
  'authorize() for a user: posts.read and posts.write only'
);
select is(public.current_app_role(), 'user'::public.app_role, 'current_app_role() for cal is user');

select set_config('request.jwt.claims', json_build_object('sub', '06000000-0000-4000-8000-00000000000b', 'role', 'authenticated', 'user_role', 'editor')::text, true);
select results_eq(
  $$ select p::text as permission, public.authorize(p) from unnest(enum_range(null::public.app_permission)) p order by p $$,
  $$
    values ('users.read', true), ('users.write', false), ('users.delete', false),
           ('posts.read', true), ('posts.write', true), ('posts.delete', false), ('posts.publish', true),
           ('settings.read', false), ('settings.write', false)
  $$,
  'authorize() for an editor: users.read, posts.read, posts.write, posts.publish only'
);
select is(public.current_app_role(), 'editor'::public.app_role, 'current_app_role() for bea is editor');

select set_config('request.jwt.claims', json_build_object('sub', '06000000-0000-4000-8000-00000000000a', 'role', 'authenticated', 'user_role', 'admin')::text, true);
select results_eq(
  $$ select p::text as permission, public.authorize(p) from unnest(enum_range(null::public.app_permission)) p order by p $$,
  $$
    values ('users.read', true), ('users.write', true), ('users.delete', true),
           ('posts.read', true), ('posts.write', true), ('posts.delete', true), ('posts.publish', true),
           ('settings.read', true), ('settings.write', true)
  $$,
  'authorize() for an admin: all nine permissions'
);
select is(public.current_app_role(), 'admin'::public.app_role, 'current_app_role() for ada is admin');

-- The token's user_role claim grants nothing by itself.
select set_config('request.jwt.claims', json_build_object('sub', '06000000-0000-4000-8000-00000000000c', 'role', 'authenticated', 'user_role', 'admin')::text, true);
select is_empty(
  $$ select p from unnest(enum_range(null::public.app_permission)) p where public.authorize(p) and p::text not in ('posts.read', 'posts.write') $$,
  'a user whose token claims user_role admin still holds only the user permissions'
);
select is(public.current_app_role(), 'user'::public.app_role, 'current_app_role() ignores the user_role claim');

select set_config('request.jwt.claims', json_build_object('sub', '06000000-0000-4000-8000-000000000001', 'role', 'authenticated', 'user_role', 'admin')::text, true);
select is_empty(
  $$ select p from unnest(enum_range(null::public.app_permission)) p where public.authorize(p) $$,
  'a user without a user_roles row holds no permission, whatever the token says'
);

select set_config('request.jwt.claims', json_build_object('role', 'authenticated', 'user_role', 'admin')::text, true);
select is_empty(
  $$ select p from unnest(enum_range(null::public.app_permission)) p where public.authorize(p) $$,
  'authenticated without a sub holds no permission'
);

reset role;
set local role anon;
select set_config('request.jwt.claims', json_build_object('role', 'anon')::text, true);
select throws_ok(
  $$ select public.authorize('posts.read') $$,
  '42501', null,
  'anon cannot execute authorize()'
);
select throws_ok(
  $$ select public.current_app_role() $$,
  '42501', null,
  'anon cannot execute current_app_role()'
);
reset role;

-- authorize() follows user_roles at once -------------------------------------------------

-- fay is an admin and her (still valid) token says so.
set local role authenticated;
select set_config('request.jwt.claims', json_build_object('sub', '06000000-0000-4000-8000-00000000000f', 'role', 'authenticated', 'user_role', 'admin')::text, true);
select ok(public.authorize('users.write'), 'fay, an admin, holds users.write');
reset role;

-- Demoted in the table; the request claims are left exactly as they were.
update public.user_roles set role = 'user' where user_id = '06000000-0000-4000-8000-00000000000f';

set local role authenticated;
select is(auth.jwt() ->> 'user_role', 'admin', 'fay''s request claims still say user_role admin');
select ok(not public.authorize('users.write'), 'after the demotion authorize(''users.write'') is false at once, for the same claims');
select is(public.current_app_role(), 'user'::public.app_role, 'and current_app_role() is user');
select is_empty(
  $$ update public.user_roles set role = 'admin' where user_id = '06000000-0000-4000-8000-00000000000d' returning user_id $$,
  'demoted fay can no longer change dan''s role (no row matches)'
);
select is_empty(
  $$ update public.app_settings set value = '"fay was here"' where key = 'site_name' returning key $$,
  'demoted fay can no longer change a setting (no row matches)'
);
select throws_ok(
  $$ insert into public.app_settings (key, value) values ('fay_06', 'true') $$,
  '42501', null,
  'demoted fay can no longer add a setting'
);
select is_empty(
  $$ select * from public.audit_log $$,
  'demoted fay can no longer read the audit log'
);
reset role;

select results_eq(
  $$
    select (select role::text from public.user_roles where user_id = '06000000-0000-4000-8000-00000000000d'),
           (select value from public.app_settings where key = 'site_name'),
           (select count(*) from public.app_settings where key = 'fay_06')::integer
  $$,
  $$ values ('user', '"My app"'::jsonb, 0) $$,
  'dan''s role and the settings are unchanged by the demoted admin'
);

-- custom_access_token_hook ----------------------------------------------------------------

-- As Supabase Auth calls it. supabase_auth_admin cannot reach pgTAP (schema extensions),
-- so each answer is kept in a transaction-local setting and checked afterwards.
select set_config('request.jwt.claims', '', true);
set local role supabase_auth_admin;
select set_config('rbac06.hook_admin', public.custom_access_token_hook(
  '{"user_id": "06000000-0000-4000-8000-00000000000a", "claims": {"aud": "authenticated", "sub": "06000000-0000-4000-8000-00000000000a", "role": "authenticated", "email": "ada.06@example.test", "aal": "aal1"}, "authentication_method": "password"}'
)::text, true);
select set_config('rbac06.hook_editor', public.custom_access_token_hook(
  '{"user_id": "06000000-0000-4000-8000-00000000000b", "claims": {"sub": "06000000-0000-4000-8000-00000000000b", "role": "authenticated"}}'
)::text, true);
select set_config('rbac06.hook_user', public.custom_access_token_hook(
  '{"user_id": "06000000-0000-4000-8000-00000000000c", "claims": {"sub": "06000000-0000-4000-8000-00000000000c", "role": "authenticated"}}'
)::text, true);
select set_config('rbac06.hook_demoted', public.custom_access_token_hook(
  '{"user_id": "06000000-0000-4000-8000-00000000000f", "claims": {"sub": "06000000-0000-4000-8000-00000000000f", "role": "authenticated", "user_role": "admin"}}'
)::text, true);
select set_config('rbac06.hook_none', public.custom_access_token_hook(
  '{"user_id": "06000000-0000-4000-8000-000000000001", "claims": {"sub": "06000000-0000-4000-8000-000000000001", "role": "authenticated"}}'
)::text, true);
reset role;

select is(
  current_setting('rbac06.hook_admin')::jsonb,
  '{"user_id": "06000000-0000-4000-8000-00000000000a", "claims": {"aud": "authenticated", "sub": "06000000-0000-4000-8000-00000000000a", "role": "authenticated", "email": "ada.06@example.test", "aal": "aal1", "user_role": "admin"}, "authentication_method": "password"}'::jsonb,
  'the hook (as supabase_auth_admin) adds user_role admin for ada and keeps the event and every other claim'
);
select is(
  current_setting('rbac06.hook_editor')::jsonb -> 'claims',
  '{"sub": "06000000-0000-4000-8000-00000000000b", "role": "authenticated", "user_role": "editor"}'::jsonb,
  'the hook adds user_role editor for bea'
);
select is(
  current_setting('rbac06.hook_user')::jsonb -> 'claims',
  '{"sub": "06000000-0000-4000-8000-00000000000c", "role": "authenticated", "user_role": "user"}'::jsonb,
  'the hook adds user_role user for cal'
);
select is(
  current_setting('rbac06.hook_demoted')::jsonb -> 'claims' ->> 'user_role',
  'user',
  'the hook replaces a stale user_role claim with the role in user_roles (fay: user)'
);
select is(
  current_setting('rbac06.hook_none')::jsonb -> 'claims',
  '{"sub": "06000000-0000-4000-8000-000000000001", "role": "authenticated", "user_role": null}'::jsonb,
  'the hook sets user_role null for a user without a role'
);

set local role authenticated;
select set_config('request.jwt.claims', json_build_object('sub', '06000000-0000-4000-8000-00000000000a', 'role', 'authenticated', 'user_role', 'admin')::text, true);
select throws_ok(
  $$ select public.custom_access_token_hook('{"user_id": "06000000-0000-4000-8000-00000000000c", "claims": {}}') $$,
  '42501', null,
  'authenticated (even an admin) cannot execute the token hook'
);
reset role;
set local role anon;
select set_config('request.jwt.claims', json_build_object('role', 'anon')::text, true);
select throws_ok(
  $$ select public.custom_access_token_hook('{"user_id": "06000000-0000-4000-8000-00000000000c", "claims": {}}') $$,
  '42501', null,
  'anon cannot execute the token hook'
);
reset role;

-- Who may change roles ---------------------------------------------------------------------

set local role authenticated;

-- cal (user)
select set_config('request.jwt.claims', json_build_object('sub', '06000000-0000-4000-8000-00000000000c', 'role', 'authenticated', 'user_role', 'user')::text, true);
select results_eq(
  $$ select user_id, role::text from public.user_roles $$,
  $$ values ('06000000-0000-4000-8000-00000000000c'::uuid, 'user') $$,
  'a user reads his own role and no one else''s'
);
select is_empty(
  $$ update public.user_roles set role = 'admin' where user_id = '06000000-0000-4000-8000-00000000000c' returning user_id $$,
  'a user cannot make himself admin (his row is readable, the update policy refuses it)'
);
select is_empty(
  $$ update public.user_roles set role = 'editor' where user_id = '06000000-0000-4000-8000-00000000000d' returning user_id $$,
  'a user cannot change another user''s role'
);
select throws_ok(
  $$ insert into public.user_roles (user_id, role) values ('06000000-0000-4000-8000-000000000001', 'admin') $$,
  '42501', null,
  'a user cannot insert a role (for someone without one)'
);
select throws_ok(
  $$ delete from public.user_roles where user_id = '06000000-0000-4000-8000-00000000000c' $$,
  '42501', null,
  'a user cannot delete his role'
);
select throws_ok(
  $$ update public.user_roles set user_id = '06000000-0000-4000-8000-00000000000a' where user_id = '06000000-0000-4000-8000-00000000000c' $$,
  '42501', null,
  'a user cannot move a role to another user (no privilege on user_id)'
);
select throws_ok(
  $$ insert into public.role_permissions (role, permission) values ('user', 'settings.write') $$,
  '42501', null,
  'a user cannot add a permission to a role'
);

-- bea (editor: users.read, not users.write)
select set_config('request.jwt.claims', json_build_object('sub', '06000000-0000-4000-8000-00000000000b', 'role', 'authenticated', 'user_role', 'editor')::text, true);
select results_eq(
  $$ select count(*)::integer from public.user_roles where user_id::text like '06000000-%' $$,
  $$ values (6) $$,
  'an editor (users.read) reads everyone''s role'
);
select is_empty(
  $$ update public.user_roles set role = 'user' where user_id = '06000000-0000-4000-8000-00000000000d' returning user_id $$,
  'an editor cannot change a role she can read (no users.write)'
);

-- ada (admin)
select set_config('request.jwt.claims', json_build_object('sub', '06000000-0000-4000-8000-00000000000a', 'role', 'authenticated', 'user_role', 'admin')::text, true);
select results_eq(
  $$ update public.user_roles set role = 'editor' where user_id = '06000000-0000-4000-8000-00000000000d' returning user_id, role::text $$,
  $$ values ('06000000-0000-4000-8000-00000000000d'::uuid, 'editor') $$,
  'an admin (users.write) makes dan an editor'
);
select is_empty(
  $$ update public.user_roles set role = 'user' where user_id = '06000000-0000-4000-8000-00000000000a' returning user_id $$,
  'an admin cannot change her own role'
);
select throws_ok(
  $$ insert into public.user_roles (user_id, role) values ('06000000-0000-4000-8000-000000000001', 'editor') $$,
  '42501', null,
  'an admin cannot insert a role either (every user gets one at sign-up)'
);
select throws_ok(
  $$ delete from public.user_roles where user_id = '06000000-0000-4000-8000-00000000000d' $$,
  '42501', null,
  'an admin cannot delete a role'
);
select throws_ok(
  $$ update public.role_permissions set role = 'user' where role = 'admin' $$,
  '42501', null,
  'an admin cannot rewrite role_permissions'
);

reset role;

select results_eq(
  $$ select user_id, role::text from public.user_roles where user_id::text like '06000000-%' order by user_id $$,
  $$
    values
      ('06000000-0000-4000-8000-000000000002'::uuid, 'user'),
      ('06000000-0000-4000-8000-00000000000a'::uuid, 'admin'),
      ('06000000-0000-4000-8000-00000000000b'::uuid, 'editor'),
      ('06000000-0000-4000-8000-00000000000c'::uuid, 'user'),
      ('06000000-0000-4000-8000-00000000000d'::uuid, 'editor'),
      ('06000000-0000-4000-8000-00000000000f'::uuid, 'user')
  $$,
  'only the admin''s change to dan took effect; no role was added (gus still has none)'
);

-- Audit -------------------------------------------------------------------------------------

select results_eq(
  $$
    select actor_id, action, metadata from public.audit_log
    where target = 'user:06000000-0000-4000-8000-00000000000d'
  $$,
  $$ values ('06000000-0000-4000-8000-00000000000a'::uuid, 'ROLE_CHANGED', '{"from": "user", "to": "editor"}'::jsonb) $$,
  'the admin''s change to dan''s role wrote one ROLE_CHANGED row naming ada as actor, from user to editor'
);
select is_empty(
  $$
    select * from public.audit_log
    where target in ('user:06000000-0000-4000-8000-00000000000c', 'user:06000000-0000-4000-8000-00000000000a')
  $$,
  'refused role changes (cal''s own, ada''s own) wrote no audit row'
);

-- Deleting an account ---------------------------------------------------------------------

-- KNOWN BUG (20261128000300_rbac.sql, private.audit_admin_change): deleting an auth user
-- inside a request of that same user (a "delete my account" function) cascades to
-- user_roles, the audit trigger records the deleted user as actor, and the audit_log
-- foreign key refuses the insert (23503), so the deletion fails.
select set_config('request.jwt.claims', json_build_object('sub', '06000000-0000-4000-8000-00000000000c', 'role', 'authenticated', 'user_role', 'user')::text, true);
select lives_ok(
  $$ delete from auth.users where id = '06000000-0000-4000-8000-00000000000c' $$,
  'a user''s account can be deleted within that user''s own request'
);
select set_config('request.jwt.claims', '', true);

select * from finish();
rollback;
