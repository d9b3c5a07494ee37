-- projects: "members read", "admins and editors create", "admins and editors update",
-- "admins delete", the column grants, and anon.
begin;
set search_path = extensions, public;
select plan(34);

-- Users (ids unique to this file):
--   alice 04000000-0000-4000-8000-00000000000a  admin of A and of C
--   bob   04000000-0000-4000-8000-00000000000b  editor of A
--   carol 04000000-0000-4000-8000-00000000000c  member of A
--   dave  04000000-0000-4000-8000-00000000000d  admin of B
--   erin  04000000-0000-4000-8000-00000000000e  editor of B
--   frank 04000000-0000-4000-8000-00000000000f  in no workspace
-- Workspaces: A, B, C 04000000-0000-4000-9000-00000000000{a,b,c}
-- Projects:   A1 04000000-0000-4000-a000-0000000000a1 in A, B1 04000000-0000-4000-a000-0000000000b1 in B
insert into auth.users (id, email) values
  ('04000000-0000-4000-8000-00000000000a', 'alice.04@example.test'),
  ('04000000-0000-4000-8000-00000000000b', 'bob.04@example.test'),
  ('04000000-0000-4000-8000-00000000000c', 'carol.04@example.test'),
  ('04000000-0000-4000-8000-00000000000d', 'dave.04@example.test'),
  ('04000000-0000-4000-8000-00000000000e', 'erin.04@example.test'),
  ('04000000-0000-4000-8000-00000000000f', 'frank.04@example.test');

insert into public.workspaces (id, name, created_by) values
  ('04000000-0000-4000-9000-00000000000a', 'A', '04000000-0000-4000-8000-00000000000a'),
  ('04000000-0000-4000-9000-00000000000b', 'B', '04000000-0000-4000-8000-00000000000d'),
  ('04000000-0000-4000-9000-00000000000c', 'C', '04000000-0000-4000-8000-00000000000a');

insert into public.workspace_members (workspace_id, user_id, role) values
  ('04000000-0000-4000-9000-00000000000a', '04000000-0000-4000-8000-00000000000a', 'admin'),
  ('04000000-0000-4000-9000-00000000000a', '04000000-0000-4000-8000-00000000000b', 'editor'),
  ('04000000-0000-4000-9000-00000000000a', '04000000-0000-4000-8000-00000000000c', 'member'),
  ('04000000-0000-4000-9000-00000000000b', '04000000-0000-4000-8000-00000000000d', 'admin'),
  ('04000000-0000-4000-9000-00000000000b', '04000000-0000-4000-8000-00000000000e', 'editor'),
  ('04000000-0000-4000-9000-00000000000c', '04000000-0000-4000-8000-00000000000a', 'admin');

insert into public.projects (id, workspace_id, name, created_by) values
  ('04000000-0000-4000-a000-0000000000a1', '04000000-0000-4000-9000-00000000000a', 'A1', '04000000-0000-4000-8000-00000000000a'),
  ('04000000-0000-4000-a000-0000000000b1', '04000000-0000-4000-9000-00000000000b', 'B1', '04000000-0000-4000-8000-00000000000d');

-- Reading -------------------------------------------------------------------------------

set local role authenticated;

select set_config('request.jwt.claims', json_build_object('sub', '04000000-0000-4000-8000-00000000000c', 'role', 'authenticated')::text, true);
select results_eq(
  $$ select id from public.projects $$,
  $$ values ('04000000-0000-4000-a000-0000000000a1'::uuid) $$,
  'carol (member of A) reads A''s project and nothing else'
);
select is_empty(
  $$ select * from public.projects where id = '04000000-0000-4000-a000-0000000000b1' $$,
  'carol cannot read B''s project'
);

select set_config('request.jwt.claims', json_build_object('sub', '04000000-0000-4000-8000-00000000000e', 'role', 'authenticated')::text, true);
select results_eq(
  $$ select id from public.projects $$,
  $$ values ('04000000-0000-4000-a000-0000000000b1'::uuid) $$,
  'erin (editor of B) reads B''s project and nothing else'
);

select set_config('request.jwt.claims', json_build_object('sub', '04000000-0000-4000-8000-00000000000f', 'role', 'authenticated')::text, true);
select is_empty($$ select * from public.projects $$, 'frank (in no workspace) reads no project');

select set_config('request.jwt.claims', json_build_object('role', 'authenticated')::text, true);
select is_empty($$ select * from public.projects $$, 'authenticated without a sub reads no project');

-- Creating ------------------------------------------------------------------------------

select set_config('request.jwt.claims', json_build_object('sub', '04000000-0000-4000-8000-00000000000b', 'role', 'authenticated')::text, true);
select results_eq(
  $$ insert into public.projects (workspace_id, name, description) values ('04000000-0000-4000-9000-00000000000a', 'By bob', 'an editor''s') returning name::text, created_by $$,
  $$ values ('By bob', '04000000-0000-4000-8000-00000000000b'::uuid) $$,
  'bob (editor of A) creates a project in A, recorded as its creator'
);
select throws_ok(
  $$ insert into public.projects (workspace_id, name) values ('04000000-0000-4000-9000-00000000000b', 'Bob in B') $$,
  '42501', null,
  'bob cannot create a project in B, where he is not a member'
);
select throws_ok(
  $$ insert into public.projects (workspace_id, name, created_by) values ('04000000-0000-4000-9000-00000000000a', 'Framed', '04000000-0000-4000-8000-00000000000c') $$,
  '42501', null,
  'bob cannot create a project with created_by someone else (no column privilege)'
);
select throws_ok(
  $$ insert into public.projects (workspace_id, name, created_by) values ('04000000-0000-4000-9000-00000000000a', 'Own', '04000000-0000-4000-8000-00000000000b') $$,
  '42501', null,
  'bob cannot set created_by at all, even to himself (the default sets it)'
);
select throws_ok(
  $$ insert into public.projects (id, workspace_id, name) values ('04000000-0000-4000-a000-0000000000ff', '04000000-0000-4000-9000-00000000000a', 'Chosen id') $$,
  '42501', null,
  'bob cannot choose a project id (no column privilege)'
);

select set_config('request.jwt.claims', json_build_object('sub', '04000000-0000-4000-8000-00000000000a', 'role', 'authenticated')::text, true);
select results_eq(
  $$ insert into public.projects (workspace_id, name) values ('04000000-0000-4000-9000-00000000000a', 'By alice') returning name::text, created_by $$,
  $$ values ('By alice', '04000000-0000-4000-8000-00000000000a'::uuid) $$,
  'alice (admin of A) creates a project in A'
);

select set_config('request.jwt.claims', json_build_object('sub', '04000000-0000-4000-8000-00000000000c', 'role', 'authenticated')::text, true);
select throws_ok(
  $$ insert into public.projects (workspace_id, name) values ('04000000-0000-4000-9000-00000000000a', 'By carol') $$,
  '42501', null,
  'carol (member of A) cannot create a project'
);

select set_config('request.jwt.claims', json_build_object('sub', '04000000-0000-4000-8000-00000000000e', 'role', 'authenticated')::text, true);
select throws_ok(
  $$ insert into public.projects (workspace_id, name) values ('04000000-0000-4000-9000-00000000000a', 'By erin') $$,
  '42501', null,
  'erin (editor of B) cannot create a project in A'
);

select set_config('request.jwt.claims', json_build_object('sub', '04000000-0000-4000-8000-00000000000f', 'role', 'authenticated')::text, true);
select throws_ok(
  $$ insert into public.projects (workspace_id, name) values ('04000000-0000-4000-9000-00000000000a', 'By frank') $$,
  '42501', null,
  'frank (in no workspace) cannot create a project in A'
);

reset role;
select results_eq(
  $$ select name::text from public.projects where workspace_id = '04000000-0000-4000-9000-00000000000a' order by name $$,
  $$ values ('A1'), ('By alice'), ('By bob') $$,
  'only the admin''s and the editor''s projects were created in A'
);

-- Updating ------------------------------------------------------------------------------

set local role authenticated;

select set_config('request.jwt.claims', json_build_object('sub', '04000000-0000-4000-8000-00000000000c', 'role', 'authenticated')::text, true);
select is_empty(
  $$ update public.projects set name = 'Carol''s' where id = '04000000-0000-4000-a000-0000000000a1' returning id $$,
  'carol (member of A) cannot update A''s project'
);

select set_config('request.jwt.claims', json_build_object('sub', '04000000-0000-4000-8000-00000000000e', 'role', 'authenticated')::text, true);
select is_empty(
  $$ update public.projects set name = 'Erin''s' where id = '04000000-0000-4000-a000-0000000000a1' returning id $$,
  'erin (editor of B) cannot update A''s project'
);

select set_config('request.jwt.claims', json_build_object('sub', '04000000-0000-4000-8000-00000000000b', 'role', 'authenticated')::text, true);
select results_eq(
  $$ update public.projects set name = 'A1 by bob', description = 'edited' where id = '04000000-0000-4000-a000-0000000000a1' returning name::text, description::text $$,
  $$ values ('A1 by bob', 'edited') $$,
  'bob (editor of A) updates A''s project'
);
select is_empty(
  $$ update public.projects set name = 'Bob''s' where id = '04000000-0000-4000-a000-0000000000b1' returning id $$,
  'bob cannot update B''s project'
);
select throws_ok(
  $$ update public.projects set created_by = '04000000-0000-4000-8000-00000000000b' where id = '04000000-0000-4000-a000-0000000000a1' $$,
  '42501', null,
  'bob cannot change created_by (no column privilege)'
);

select set_config('request.jwt.claims', json_build_object('sub', '04000000-0000-4000-8000-00000000000a', 'role', 'authenticated')::text, true);
select results_eq(
  $$ update public.projects set name = 'A1 by alice' where id = '04000000-0000-4000-a000-0000000000a1' returning name::text $$,
  $$ values ('A1 by alice') $$,
  'alice (admin of A) updates A''s project'
);
select throws_ok(
  $$ update public.projects set workspace_id = '04000000-0000-4000-9000-00000000000c' where id = '04000000-0000-4000-a000-0000000000a1' $$,
  '42501', null,
  'alice, admin of both A and C, cannot move a project to C (no column privilege)'
);

reset role;
select results_eq(
  $$ select workspace_id, name::text, created_by from public.projects where id in ('04000000-0000-4000-a000-0000000000a1', '04000000-0000-4000-a000-0000000000b1') order by name $$,
  $$
    values
      ('04000000-0000-4000-9000-00000000000a'::uuid, 'A1 by alice', '04000000-0000-4000-8000-00000000000a'::uuid),
      ('04000000-0000-4000-9000-00000000000b'::uuid, 'B1', '04000000-0000-4000-8000-00000000000d'::uuid)
  $$,
  'only the admin''s and the editor''s updates reached the table'
);

-- Deleting ------------------------------------------------------------------------------

set local role authenticated;

select set_config('request.jwt.claims', json_build_object('sub', '04000000-0000-4000-8000-00000000000c', 'role', 'authenticated')::text, true);
select is_empty(
  $$ delete from public.projects where id = '04000000-0000-4000-a000-0000000000a1' returning id $$,
  'carol (member of A) cannot delete A''s project'
);

select set_config('request.jwt.claims', json_build_object('sub', '04000000-0000-4000-8000-00000000000b', 'role', 'authenticated')::text, true);
select is_empty(
  $$ delete from public.projects where id = '04000000-0000-4000-a000-0000000000a1' returning id $$,
  'bob (editor of A) cannot delete A''s project'
);
select is_empty(
  $$ delete from public.projects where name = 'By bob' returning id $$,
  'bob cannot delete even the project he created'
);

select set_config('request.jwt.claims', json_build_object('sub', '04000000-0000-4000-8000-00000000000d', 'role', 'authenticated')::text, true);
select is_empty(
  $$ delete from public.projects where id = '04000000-0000-4000-a000-0000000000a1' returning id $$,
  'dave (admin of B) cannot delete A''s project'
);

reset role;
select results_eq(
  $$ select count(*)::int from public.projects where workspace_id = '04000000-0000-4000-9000-00000000000a' $$,
  $$ values (3) $$,
  'A still has its three projects'
);

set local role authenticated;
select set_config('request.jwt.claims', json_build_object('sub', '04000000-0000-4000-8000-00000000000a', 'role', 'authenticated')::text, true);
select results_eq(
  $$ delete from public.projects where id = '04000000-0000-4000-a000-0000000000a1' returning id $$,
  $$ values ('04000000-0000-4000-a000-0000000000a1'::uuid) $$,
  'alice (admin of A) deletes A''s project'
);

select set_config('request.jwt.claims', json_build_object('sub', '04000000-0000-4000-8000-00000000000d', 'role', 'authenticated')::text, true);
select results_eq(
  $$ delete from public.projects where id = '04000000-0000-4000-a000-0000000000b1' returning id $$,
  $$ values ('04000000-0000-4000-a000-0000000000b1'::uuid) $$,
  'dave (admin of B) deletes B''s project'
);
reset role;

-- A creator leaving keeps the project, without a creator.
delete from auth.users where id = '04000000-0000-4000-8000-00000000000b';
select results_eq(
  $$ select name::text, created_by from public.projects where name = 'By bob' $$,
  $$ values ('By bob', null::uuid) $$,
  'deleting the creator''s auth user keeps the project and clears created_by'
);

-- Anon ----------------------------------------------------------------------------------

set local role anon;
select set_config('request.jwt.claims', json_build_object('role', 'anon')::text, true);
select throws_ok(
  $$ select * from public.projects $$,
  '42501', null,
  'anon cannot read projects'
);
select throws_ok(
  $$ insert into public.projects (workspace_id, name) values ('04000000-0000-4000-9000-00000000000a', 'By anon') $$,
  '42501', null,
  'anon cannot create projects'
);
select throws_ok(
  $$ delete from public.projects $$,
  '42501', null,
  'anon cannot delete projects'
);
reset role;

select * from finish();
rollback;
