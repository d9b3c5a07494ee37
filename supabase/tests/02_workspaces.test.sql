-- workspaces: public.create_workspace(), "workspaces: members read", "workspaces: admins
-- update", "workspaces: admins delete", the column grants, and anon.
begin;
set search_path = extensions, public;
select plan(27);

-- Users (ids unique to this file):
--   alice 02000000-0000-4000-8000-00000000000a  admin of A
--   bob   02000000-0000-4000-8000-00000000000b  editor of A
--   carol 02000000-0000-4000-8000-00000000000c  member of A
--   dave  02000000-0000-4000-8000-00000000000d  admin of B
--   frank 02000000-0000-4000-8000-00000000000f  in no workspace
-- Workspaces: A 02000000-0000-4000-9000-00000000000a, B 02000000-0000-4000-9000-00000000000b
insert into auth.users (id, email) values
  ('02000000-0000-4000-8000-00000000000a', 'alice.02@example.test'),
  ('02000000-0000-4000-8000-00000000000b', 'bob.02@example.test'),
  ('02000000-0000-4000-8000-00000000000c', 'carol.02@example.test'),
  ('02000000-0000-4000-8000-00000000000d', 'dave.02@example.test'),
  ('02000000-0000-4000-8000-00000000000f', 'frank.02@example.test');

insert into public.workspaces (id, name, created_by) values
  ('02000000-0000-4000-9000-00000000000a', 'A', '02000000-0000-4000-8000-00000000000a'),
  ('02000000-0000-4000-9000-00000000000b', 'B', '02000000-0000-4000-8000-00000000000d');

insert into public.workspace_members (workspace_id, user_id, role) values
  ('02000000-0000-4000-9000-00000000000a', '02000000-0000-4000-8000-00000000000a', 'admin'),
  ('02000000-0000-4000-9000-00000000000a', '02000000-0000-4000-8000-00000000000b', 'editor'),
  ('02000000-0000-4000-9000-00000000000a', '02000000-0000-4000-8000-00000000000c', 'member'),
  ('02000000-0000-4000-9000-00000000000b', '02000000-0000-4000-8000-00000000000d', 'admin');

insert into public.projects (workspace_id, name, created_by) values
  ('02000000-0000-4000-9000-00000000000a', 'A project', '02000000-0000-4000-8000-00000000000a');

-- create_workspace -----------------------------------------------------------------------

set local role authenticated;
select set_config('request.jwt.claims', json_build_object('sub', '02000000-0000-4000-8000-00000000000f', 'role', 'authenticated')::text, true);

select results_eq(
  $$ select name::text, created_by from public.create_workspace('Frank''s') $$,
  $$ values ('Frank''s', '02000000-0000-4000-8000-00000000000f'::uuid) $$,
  'a signed-in user creates a workspace and is recorded as its creator'
);

select results_eq(
  $$
    select m.user_id, m.role
    from public.workspace_members m
    join public.workspaces w on w.id = m.workspace_id
    where w.name = 'Frank''s'
  $$,
  $$ values ('02000000-0000-4000-8000-00000000000f'::uuid, 'admin'::public.workspace_role) $$,
  'the creator is the one member of the new workspace, as admin, and can read it'
);

select throws_ok(
  $$ select public.create_workspace('') $$,
  '23514', null,
  'create_workspace refuses an empty name'
);

select throws_ok(
  $$ insert into public.workspaces (name) values ('Direct') $$,
  '42501', null,
  'authenticated cannot insert a workspace directly (only through create_workspace)'
);

-- Signed in as the authenticated role but without a user id.
select set_config('request.jwt.claims', json_build_object('role', 'authenticated')::text, true);
select throws_ok(
  $$ select public.create_workspace('Nobody''s') $$,
  '42501', null,
  'create_workspace refuses a caller without a user id'
);

reset role;

set local role anon;
select set_config('request.jwt.claims', json_build_object('role', 'anon')::text, true);
select throws_ok(
  $$ select public.create_workspace('Anon''s') $$,
  '42501', null,
  'anon cannot call create_workspace'
);
select throws_ok(
  $$ select * from public.workspaces $$,
  '42501', null,
  'anon cannot read workspaces'
);
reset role;

-- service_role bypasses RLS, but create_workspace needs a user to make admin.
set local role service_role;
select set_config('request.jwt.claims', json_build_object('role', 'service_role')::text, true);
select throws_ok(
  $$ select public.create_workspace('Service''s') $$,
  '42501', null,
  'create_workspace refuses the service role (no user to make admin)'
);
reset role;

select is_empty(
  $$ select * from public.workspaces where name in ('', 'Nobody''s', 'Anon''s', 'Service''s', 'Direct') $$,
  'no refused call left a workspace behind'
);

-- Reading -------------------------------------------------------------------------------

set local role authenticated;

select set_config('request.jwt.claims', json_build_object('sub', '02000000-0000-4000-8000-00000000000c', 'role', 'authenticated')::text, true);
select results_eq(
  $$ select id from public.workspaces $$,
  $$ values ('02000000-0000-4000-9000-00000000000a'::uuid) $$,
  'carol (member of A) reads A and only A'
);
select is_empty(
  $$ select * from public.workspaces where id = '02000000-0000-4000-9000-00000000000b' $$,
  'carol cannot read B'
);

select set_config('request.jwt.claims', json_build_object('sub', '02000000-0000-4000-8000-00000000000f', 'role', 'authenticated')::text, true);
select results_eq(
  $$ select name::text from public.workspaces $$,
  $$ values ('Frank''s') $$,
  'frank reads the workspace he created and neither A nor B'
);

select set_config('request.jwt.claims', json_build_object('sub', '02000000-0000-4000-8000-00000000000d', 'role', 'authenticated')::text, true);
select results_eq(
  $$ select id from public.workspaces $$,
  $$ values ('02000000-0000-4000-9000-00000000000b'::uuid) $$,
  'dave (admin of B) reads B and only B'
);

-- Updating ------------------------------------------------------------------------------

-- dave is an admin, but of B.
select is_empty(
  $$ update public.workspaces set name = 'Taken by dave' where id = '02000000-0000-4000-9000-00000000000a' returning id $$,
  'dave (admin of B) cannot rename A'
);

select set_config('request.jwt.claims', json_build_object('sub', '02000000-0000-4000-8000-00000000000c', 'role', 'authenticated')::text, true);
select is_empty(
  $$ update public.workspaces set name = 'Renamed by carol' where id = '02000000-0000-4000-9000-00000000000a' returning id $$,
  'carol (member of A) cannot rename A'
);

select set_config('request.jwt.claims', json_build_object('sub', '02000000-0000-4000-8000-00000000000b', 'role', 'authenticated')::text, true);
select is_empty(
  $$ update public.workspaces set name = 'Renamed by bob' where id = '02000000-0000-4000-9000-00000000000a' returning id $$,
  'bob (editor of A) cannot rename A'
);

select set_config('request.jwt.claims', json_build_object('sub', '02000000-0000-4000-8000-00000000000a', 'role', 'authenticated')::text, true);
select results_eq(
  $$ update public.workspaces set name = 'A renamed' where id = '02000000-0000-4000-9000-00000000000a' returning name::text $$,
  $$ values ('A renamed') $$,
  'alice (admin of A) renames A'
);

select throws_ok(
  $$ update public.workspaces set created_by = '02000000-0000-4000-8000-00000000000b' where id = '02000000-0000-4000-9000-00000000000a' $$,
  '42501', null,
  'even an admin cannot change created_by (no column privilege)'
);

select throws_ok(
  $$ update public.workspaces set id = gen_random_uuid() where id = '02000000-0000-4000-9000-00000000000a' $$,
  '42501', null,
  'even an admin cannot change a workspace id (no column privilege)'
);

-- Deleting ------------------------------------------------------------------------------

select set_config('request.jwt.claims', json_build_object('sub', '02000000-0000-4000-8000-00000000000b', 'role', 'authenticated')::text, true);
select is_empty(
  $$ delete from public.workspaces where id = '02000000-0000-4000-9000-00000000000a' returning id $$,
  'bob (editor of A) cannot delete A'
);

select set_config('request.jwt.claims', json_build_object('sub', '02000000-0000-4000-8000-00000000000c', 'role', 'authenticated')::text, true);
select is_empty(
  $$ delete from public.workspaces where id = '02000000-0000-4000-9000-00000000000a' returning id $$,
  'carol (member of A) cannot delete A'
);

select set_config('request.jwt.claims', json_build_object('sub', '02000000-0000-4000-8000-00000000000d', 'role', 'authenticated')::text, true);
select is_empty(
  $$ delete from public.workspaces where id = '02000000-0000-4000-9000-00000000000a' returning id $$,
  'dave (admin of B) cannot delete A'
);

reset role;
select results_eq(
  $$ select name::text from public.workspaces where id = '02000000-0000-4000-9000-00000000000a' $$,
  $$ values ('A renamed') $$,
  'A is still there, with only the admin''s rename'
);

set local role authenticated;
select set_config('request.jwt.claims', json_build_object('sub', '02000000-0000-4000-8000-00000000000a', 'role', 'authenticated')::text, true);
select results_eq(
  $$ delete from public.workspaces where id = '02000000-0000-4000-9000-00000000000a' returning id $$,
  $$ values ('02000000-0000-4000-9000-00000000000a'::uuid) $$,
  'alice (admin of A) deletes A, her being its last admin notwithstanding'
);
reset role;

select is_empty(
  $$ select * from public.workspace_members where workspace_id = '02000000-0000-4000-9000-00000000000a' $$,
  'deleting A removed all its members (the last-admin rule lets the cascade through)'
);
select is_empty(
  $$ select * from public.projects where workspace_id = '02000000-0000-4000-9000-00000000000a' $$,
  'deleting A removed its projects'
);

-- The creator leaving Supabase keeps the workspace, without a creator, while someone else
-- is in it (a workspace only its leaving user belongs to goes too: 21_accounts_leave).
insert into public.workspace_members (workspace_id, user_id, role) values
  ('02000000-0000-4000-9000-00000000000b', '02000000-0000-4000-8000-00000000000c', 'admin');
delete from auth.users where id = '02000000-0000-4000-8000-00000000000d';
select results_eq(
  $$ select name::text, created_by from public.workspaces where id = '02000000-0000-4000-9000-00000000000b' $$,
  $$ values ('B', null::uuid) $$,
  'deleting the creator''s auth user keeps the workspace and clears created_by'
);

select * from finish();
rollback;
