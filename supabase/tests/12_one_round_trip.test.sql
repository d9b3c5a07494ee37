-- The project route functions (migration 20261202000000): one call each checks the
-- caller's workspace role and reads or writes, RLS still applying (security invoker).
-- PT404 for a workspace or project outside the caller's, PT403 for a role too low,
-- 22023 for a malformed call; totals exact up to 1000, estimated beyond.
begin;
set search_path = extensions, public;
select plan(52);

-- Users (ids unique to this file):
--   ann 12000000-0000-4000-8000-00000000000a  admin of A, member of B; app role admin
--   eda 12000000-0000-4000-8000-00000000000e  editor of A; app role editor
--   mo  12000000-0000-4000-8000-00000000000c  member of A; app role user
--   out 12000000-0000-4000-8000-00000000000f  in no workspace; app role user
-- Workspaces: A, B, Big 12000000-0000-4000-9000-00000000000{a,b,f}
insert into auth.users (id, email) values
  ('12000000-0000-4000-8000-00000000000a', 'ann.12@example.test'),
  ('12000000-0000-4000-8000-00000000000e', 'eda.12@example.test'),
  ('12000000-0000-4000-8000-00000000000c', 'mo.12@example.test'),
  ('12000000-0000-4000-8000-00000000000f', 'out.12@example.test');
update public.user_roles set role = 'admin' where user_id = '12000000-0000-4000-8000-00000000000a';
update public.user_roles set role = 'editor' where user_id = '12000000-0000-4000-8000-00000000000e';
update public.profiles set full_name = 'Mo Member' where id = '12000000-0000-4000-8000-00000000000c';
insert into public.posts (id, author_id, title, published) values
  ('12000000-0000-4000-b000-000000000001', '12000000-0000-4000-8000-00000000000c', 'Mo''s draft', false),
  ('12000000-0000-4000-b000-000000000002', '12000000-0000-4000-8000-00000000000c', 'Mo''s post', true),
  ('12000000-0000-4000-b000-000000000003', '12000000-0000-4000-8000-00000000000f', 'Out''s draft', false);
insert into public.workspaces (id, name, created_by) values
  ('12000000-0000-4000-9000-00000000000a', 'A', '12000000-0000-4000-8000-00000000000a'),
  ('12000000-0000-4000-9000-00000000000b', 'B', '12000000-0000-4000-8000-00000000000a'),
  ('12000000-0000-4000-9000-00000000000f', 'Big', '12000000-0000-4000-8000-00000000000a');
insert into public.workspace_members (workspace_id, user_id, role) values
  ('12000000-0000-4000-9000-00000000000a', '12000000-0000-4000-8000-00000000000a', 'admin'),
  ('12000000-0000-4000-9000-00000000000a', '12000000-0000-4000-8000-00000000000e', 'editor'),
  ('12000000-0000-4000-9000-00000000000a', '12000000-0000-4000-8000-00000000000c', 'member'),
  ('12000000-0000-4000-9000-00000000000b', '12000000-0000-4000-8000-00000000000a', 'member'),
  ('12000000-0000-4000-9000-00000000000f', '12000000-0000-4000-8000-00000000000e', 'admin');
-- A: three projects a minute apart; B: one; Big: 1500.
insert into public.projects (id, workspace_id, name, created_by, created_at)
select ('12000000-0000-4000-a000-00000000000' || i)::uuid, '12000000-0000-4000-9000-00000000000a',
       'A' || i, '12000000-0000-4000-8000-00000000000a', now() - make_interval(mins => 10 - i)
from generate_series(1, 3) i;
insert into public.projects (id, workspace_id, name, created_by, created_at) values
  ('12000000-0000-4000-a000-0000000000b1', '12000000-0000-4000-9000-00000000000b', 'B1',
   '12000000-0000-4000-8000-00000000000a', now() - interval '1 minute');
insert into public.projects (workspace_id, name, created_by)
select '12000000-0000-4000-9000-00000000000f', 'Big ' || i, '12000000-0000-4000-8000-00000000000e'
from generate_series(1, 1500) i;
analyze public.projects;

set local role authenticated;
create temporary table ids (name text primary key, id uuid);

-- Listing --------------------------------------------------------------------------------

select set_config('request.jwt.claims', json_build_object('sub', '12000000-0000-4000-8000-00000000000a', 'role', 'authenticated')::text, true);
select is(
  (select json_agg(item ->> 'name')::text from json_array_elements(list_projects(null, 20, 0) -> 'items') item),
  '["B1", "A3", "A2", "A1"]',
  'ann lists the projects of both her workspaces, newest first'
);
select is((list_projects(null, 20, 0) ->> 'total')::int, 4, 'the total counts them all');
select is(
  (select json_agg(item ->> 'name')::text from json_array_elements(list_projects(null, 2, 1) -> 'items') item),
  '["A3", "A2"]',
  'limit and offset page across workspaces'
);
select is(
  (select json_agg(item ->> 'name')::text from json_array_elements(list_projects('12000000-0000-4000-9000-00000000000a', 20, 0) -> 'items') item),
  '["A3", "A2", "A1"]',
  'inside one workspace, only its projects'
);
select is(
  (select array_agg(k order by k) from json_array_elements(list_projects('12000000-0000-4000-9000-00000000000a', 1, 0) -> 'items') item, json_object_keys(item) k),
  array['created_at', 'created_by', 'description', 'id', 'name', 'updated_at', 'workspace_id'],
  'an item has the columns of a project, no more'
);
select throws_ok(
  $$ select list_projects('12000000-0000-4000-9000-00000000000f', 20, 0) $$,
  'PT404', 'workspace not found',
  'a workspace ann is not in: PT404 (the API''s 404)'
);
select throws_ok($$ select list_projects(null, 0, 0) $$, '22023', 'bad page', 'limit 0: 22023');
select throws_ok($$ select list_projects(null, 101, 0) $$, '22023', 'bad page', 'limit 101: 22023');
select throws_ok($$ select list_projects(null, 20, -1) $$, '22023', 'bad page', 'a negative offset: 22023');

select set_config('request.jwt.claims', json_build_object('sub', '12000000-0000-4000-8000-00000000000e', 'role', 'authenticated')::text, true);
select is((list_projects('12000000-0000-4000-9000-00000000000a', 20, 0) ->> 'total')::int, 3, 'eda: A holds 3');
select cmp_ok(
  (list_projects('12000000-0000-4000-9000-00000000000f', 20, 0) ->> 'total')::int, '>', 1000,
  'past 1000 rows the total is estimated, never below what was counted'
);
select is(
  json_array_length(list_projects('12000000-0000-4000-9000-00000000000f', 20, 1480) -> 'items'), 20,
  'a deep page of the big workspace is full'
);
select is(
  (select json_agg(case when item ->> 'name' like 'Big %' then 'Big' else item ->> 'name' end)::text
   from json_array_elements(list_projects(null, 20, 1498) -> 'items') item),
  '["Big", "Big", "A3", "A2", "A1"]',
  'eda sees most of the table: the newest-first walk of the whole table pages the same way'
);

select set_config('request.jwt.claims', json_build_object('sub', '12000000-0000-4000-8000-00000000000f', 'role', 'authenticated')::text, true);
select is(list_projects(null, 20, 0)::text, '{"items" : [], "total" : 0}', 'someone in no workspace lists nothing');

-- Creating -------------------------------------------------------------------------------

select set_config('request.jwt.claims', json_build_object('sub', '12000000-0000-4000-8000-00000000000c', 'role', 'authenticated')::text, true);
select throws_ok(
  $$ select create_project('12000000-0000-4000-9000-00000000000a', 'By mo') $$,
  'PT403', 'workspace role too low', 'a plain member cannot create: PT403'
);
select set_config('request.jwt.claims', json_build_object('sub', '12000000-0000-4000-8000-00000000000f', 'role', 'authenticated')::text, true);
select throws_ok(
  $$ select create_project('12000000-0000-4000-9000-00000000000a', 'By out') $$,
  'PT404', 'workspace not found', 'an outsider cannot create: PT404'
);
select set_config('request.jwt.claims', json_build_object('sub', '12000000-0000-4000-8000-00000000000e', 'role', 'authenticated')::text, true);
insert into ids select 'new', (create_project('12000000-0000-4000-9000-00000000000a', 'New', 'Made by eda') ->> 'id')::uuid;
select results_eq(
  $$ select p.name::text, p.description::text, p.created_by from public.projects p join ids using (id) $$,
  $$ values ('New'::text, 'Made by eda'::text, '12000000-0000-4000-8000-00000000000e'::uuid) $$,
  'an editor creates; the creator is the caller'
);
select throws_ok(
  $$ select create_project('12000000-0000-4000-9000-00000000000a', repeat('x', 101)) $$,
  '23514', null, 'a name of 101 characters, which the API refuses, is refused here too (the CHECK constraint)'
);

-- Updating and deleting ------------------------------------------------------------------

select set_config('request.jwt.claims', json_build_object('sub', '12000000-0000-4000-8000-00000000000c', 'role', 'authenticated')::text, true);
select throws_ok(
  $$ select update_project('12000000-0000-4000-a000-000000000001', '{"name": "By mo"}') $$,
  'PT403', 'workspace role too low', 'a plain member cannot update: PT403'
);
select throws_ok(
  $$ select update_project('12000000-0000-4000-a000-0000000000b1', '{"name": "By mo"}') $$,
  'PT404', 'project not found', 'a project in a workspace mo is not in: PT404'
);
select set_config('request.jwt.claims', json_build_object('sub', '12000000-0000-4000-8000-00000000000e', 'role', 'authenticated')::text, true);
select is(
  update_project('12000000-0000-4000-a000-000000000001', '{"description": "Now described"}') ->> 'name',
  'A1', 'an editor updates the description; the name stays'
);
select is(
  (update_project('12000000-0000-4000-a000-000000000001', '{"description": null}') -> 'description')::text,
  'null', 'a null description clears it'
);
select throws_ok(
  $$ select update_project('12000000-0000-4000-a000-000000000001', '{"workspace_id": "12000000-0000-4000-9000-00000000000f"}') $$,
  '22023', 'bad changes', 'a column outside name and description: 22023, nothing moved'
);
select throws_ok(
  $$ select update_project('12000000-0000-4000-a000-000000000001', '{}') $$,
  '22023', 'bad changes', 'no change at all: 22023'
);
select throws_ok(
  $$ select delete_project('12000000-0000-4000-a000-000000000001') $$,
  'PT403', 'workspace role too low', 'an editor cannot delete: PT403'
);
select set_config('request.jwt.claims', json_build_object('sub', '12000000-0000-4000-8000-00000000000a', 'role', 'authenticated')::text, true);
select lives_ok(
  $$ select delete_project('12000000-0000-4000-a000-000000000001') $$,
  'an admin deletes'
);
select throws_ok(
  $$ select delete_project('12000000-0000-4000-a000-000000000001') $$,
  'PT404', 'project not found', 'deleting it again: PT404'
);


-- Members -----------------------------------------------------------------------------

select set_config('request.jwt.claims', json_build_object('sub', '12000000-0000-4000-8000-00000000000e', 'role', 'authenticated')::text, true);
select throws_ok(
  $$ select add_workspace_member('12000000-0000-4000-9000-00000000000a', '12000000-0000-4000-8000-00000000000f', 'member') $$,
  'PT403', 'workspace role too low', 'an editor cannot add members: PT403'
);
select set_config('request.jwt.claims', json_build_object('sub', '12000000-0000-4000-8000-00000000000f', 'role', 'authenticated')::text, true);
select throws_ok(
  $$ select add_workspace_member('12000000-0000-4000-9000-00000000000a', '12000000-0000-4000-8000-00000000000f', 'admin') $$,
  'PT404', 'workspace not found', 'an outsider cannot add themselves: PT404'
);
select set_config('request.jwt.claims', json_build_object('sub', '12000000-0000-4000-8000-00000000000a', 'role', 'authenticated')::text, true);
select is(
  add_workspace_member('12000000-0000-4000-9000-00000000000a', '12000000-0000-4000-8000-00000000000f', 'member') ->> 'role',
  'member', 'an admin adds a member'
);
select throws_ok(
  $$ select add_workspace_member('12000000-0000-4000-9000-00000000000a', '12000000-0000-4000-8000-00000000000f', 'member') $$,
  '23505', null, 'twice: 23505 (the API''s 409)'
);
select lives_ok(
  $$ select remove_workspace_member('12000000-0000-4000-9000-00000000000a', '12000000-0000-4000-8000-00000000000f') $$,
  'an admin removes a member'
);
select throws_ok(
  $$ select remove_workspace_member('12000000-0000-4000-9000-00000000000a', '12000000-0000-4000-8000-00000000000f') $$,
  'PT404', 'member not found', 'removing someone not in: PT404'
);
select throws_ok(
  $$ select remove_workspace_member('12000000-0000-4000-9000-00000000000a', '12000000-0000-4000-8000-00000000000a') $$,
  'PT409', null, 'the last admin stays: PT409'
);

-- Posts -------------------------------------------------------------------------------

select set_config('request.jwt.claims', json_build_object('sub', '12000000-0000-4000-8000-00000000000f', 'role', 'authenticated')::text, true);
select is(
  -- This file's posts, and any other draft (another database's data, e.g. the seed's,
  -- may add published posts, never someone's draft).
  (select json_agg(item ->> 'title' order by item ->> 'title')::text
   from json_array_elements(list_posts(100, 0) -> 'items') item
   where item ->> 'id' like '12000000-%' or not (item ->> 'published')::boolean),
  '["Mo''s post", "Out''s draft"]',
  'a user lists published posts and their own drafts, not others'' drafts'
);
select throws_ok(
  $$ select update_post('12000000-0000-4000-b000-000000000002', '{"title": "Hijacked"}') $$,
  'PT403', 'not the author', 'another user cannot change a published post: PT403'
);
select throws_ok(
  $$ select update_post('12000000-0000-4000-b000-000000000001', '{"title": "Hijacked"}') $$,
  'PT404', 'post not found', 'nor see a draft: PT404'
);
select throws_ok(
  $$ select delete_post('12000000-0000-4000-b000-000000000002') $$,
  'PT403', 'not the author', 'nor delete it: PT403'
);
select throws_ok(
  $$ select update_post('12000000-0000-4000-b000-000000000003', '{"published": true}') $$,
  '22023', 'bad changes', 'publishing is not a change update_post makes'
);
select is(
  update_post('12000000-0000-4000-b000-000000000003', '{"title": "Out''s own"}') ->> 'title',
  'Out''s own', 'the author changes their draft'
);
select set_config('request.jwt.claims', json_build_object('sub', '12000000-0000-4000-8000-00000000000e', 'role', 'authenticated')::text, true);
select is(
  (select count(*)::int from json_array_elements(list_posts(100, 0) -> 'items') item
   where item ->> 'id' like '12000000-%'), 3,
  'posts.publish holders list every post'
);
select lives_ok(
  $$ select update_post('12000000-0000-4000-b000-000000000001', '{"body": "Edited"}') $$,
  'posts.publish holders change others'' posts'
);
select throws_ok(
  $$ select delete_post('12000000-0000-4000-b000-000000000001') $$,
  'PT403', 'not the author', 'but only posts.delete holders delete them'
);

-- Users, /me, settings, the audit log ----------------------------------------------------

select set_config('request.jwt.claims', json_build_object('sub', '12000000-0000-4000-8000-00000000000c', 'role', 'authenticated')::text, true);
select is(me() ->> 'role', 'user', 'me(): the stored role');
select is(me() -> 'profile_emails' ->> 'email', 'mo.12@example.test', 'me(): with the caller''s email');
select throws_ok($$ select list_users(null, 20, 0) $$, 'PT403', 'listing users needs users.read', 'list_users needs users.read');
select throws_ok($$ select get_settings() $$, 'PT403', 'reading settings needs settings.read', 'get_settings needs settings.read');
select throws_ok($$ select list_audit_log(20, 0) $$, 'PT403', 'the audit log is for admins', 'list_audit_log is for admins');
select throws_ok(
  $$ select get_user('12000000-0000-4000-8000-00000000000f') $$,
  'PT404', 'user not found', 'another user''s private profile: PT404'
);
select set_config('request.jwt.claims', json_build_object('sub', '12000000-0000-4000-8000-00000000000e', 'role', 'authenticated')::text, true);
select is(
  (select json_agg(item ->> 'full_name')::text from json_array_elements(list_users('mo mem', 20, 0) -> 'items') item),
  '["Mo Member"]', 'users.read holders search names (case-insensitive, in the middle)'
);
select is(
  (list_users('100%_', 20, 0) ->> 'total')::int, 0,
  'LIKE wildcards in the search are data'
);
select is(
  (get_user('12000000-0000-4000-8000-00000000000c') ->> 'full_view')::boolean, true,
  'get_user: users.read holders get the full view'
);

select * from finish();
rollback;
