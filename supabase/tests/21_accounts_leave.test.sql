-- An account leaves (migration 20261208000300): whoever deletes an auth user, the
-- last admin of a workspace with other members is refused; otherwise the workspaces
-- only they belong to go, and their audit events lose address, user agent and
-- hashed email.
begin;
set search_path = extensions, public;
select plan(18);

-- ann ...0a (leaves), bob ...0b (member), dot ...0d (co-admin), eve ...0e (stays)
insert into auth.users (id, email) values
  ('21000000-0000-4000-8000-00000000000a', 'ann.21@example.test'),
  ('21000000-0000-4000-8000-00000000000b', 'bob.21@example.test'),
  ('21000000-0000-4000-8000-00000000000d', 'dot.21@example.test'),
  ('21000000-0000-4000-8000-00000000000e', 'eve.21@example.test');
-- w1: ann admin, bob member (ann is its last admin); w2: ann alone; w3: ann and dot
-- admins, bob member; w4: bob's, ann a member.
insert into public.workspaces (id, name, created_by) values
  ('21000000-0000-4000-8000-0000000000f1', 'Ann and Bob', '21000000-0000-4000-8000-00000000000a'),
  ('21000000-0000-4000-8000-0000000000f2', 'Ann alone', '21000000-0000-4000-8000-00000000000a'),
  ('21000000-0000-4000-8000-0000000000f3', 'Two admins', '21000000-0000-4000-8000-00000000000a'),
  ('21000000-0000-4000-8000-0000000000f4', 'Bob''s', '21000000-0000-4000-8000-00000000000b');
insert into public.workspace_members (workspace_id, user_id, role) values
  ('21000000-0000-4000-8000-0000000000f1', '21000000-0000-4000-8000-00000000000a', 'admin'),
  ('21000000-0000-4000-8000-0000000000f1', '21000000-0000-4000-8000-00000000000b', 'member'),
  ('21000000-0000-4000-8000-0000000000f2', '21000000-0000-4000-8000-00000000000a', 'admin'),
  ('21000000-0000-4000-8000-0000000000f3', '21000000-0000-4000-8000-00000000000a', 'admin'),
  ('21000000-0000-4000-8000-0000000000f3', '21000000-0000-4000-8000-00000000000d', 'admin'),
  ('21000000-0000-4000-8000-0000000000f3', '21000000-0000-4000-8000-00000000000b', 'member'),
  ('21000000-0000-4000-8000-0000000000f4', '21000000-0000-4000-8000-00000000000b', 'admin'),
  ('21000000-0000-4000-8000-0000000000f4', '21000000-0000-4000-8000-00000000000a', 'editor');
insert into public.projects (id, workspace_id, name, created_by) values
  ('21000000-0000-4000-8000-0000000000c1', '21000000-0000-4000-8000-0000000000f1', 'Shared', '21000000-0000-4000-8000-00000000000a'),
  ('21000000-0000-4000-8000-0000000000c2', '21000000-0000-4000-8000-0000000000f2', 'Solo', '21000000-0000-4000-8000-00000000000a');
insert into public.audit_log (action, actor_id, ip, user_agent, coalesce_key, metadata) values
  ('SIGN_IN', '21000000-0000-4000-8000-00000000000a', '192.0.2.1', 'ann''s browser', null, '{}'),
  ('ACCESS_DENIED', '21000000-0000-4000-8000-00000000000a', '192.0.2.1', 'ann''s browser', 'ACCESS_DENIED|192.0.2.1|x|ann|1', '{}'),
  ('SIGN_IN', '21000000-0000-4000-8000-00000000000e', '192.0.2.5', 'eve''s browser', null, '{}'),
  ('SIGN_IN_FAILED', null, '192.0.2.9', 'a guesser',  null,
   jsonb_build_object('emailKey', encode(sha256(convert_to('ann.21@example.test', 'UTF8')), 'hex'), 'note', 'kept')),
  ('SIGN_IN_FAILED', null, '192.0.2.9', 'a guesser', null,
   jsonb_build_object('emailKey', encode(sha256(convert_to('eve.21@example.test', 'UTF8')), 'hex')));

-- Which workspaces stand in the way: the service role's question only.
set local role service_role;
select results_eq($$ select id, name from public.account_deletion_blockers('21000000-0000-4000-8000-00000000000a') $$,
  $$ values ('21000000-0000-4000-8000-0000000000f1'::uuid, 'Ann and Bob'::text) $$,
  'ann is the last admin of the workspace she shares with bob, not of the one with two admins');
select is_empty($$ select 1 from public.account_deletion_blockers('21000000-0000-4000-8000-00000000000e') $$,
  'eve blocks nothing');
reset role;
set local role authenticated;
select set_config('request.jwt.claims', json_build_object('sub', '21000000-0000-4000-8000-00000000000b',
  'role', 'authenticated')::text, true);
select throws_ok($$ select * from public.account_deletion_blockers('21000000-0000-4000-8000-00000000000a') $$,
  '42501', null, 'a user cannot ask about someone''s workspaces');
reset role;

-- Ann is deleted (as Supabase Auth would, or anyone owning auth.users): refused while she
-- is w1's last admin.
select throws_ok($$ delete from auth.users where id = '21000000-0000-4000-8000-00000000000a' $$,
  'PT409', 'the last admin of a workspace with other members cannot leave it',
  'deleting the last admin of a shared workspace is refused, whoever asks');
select isnt_empty($$ select 1 from auth.users where id = '21000000-0000-4000-8000-00000000000a' $$, 'ann is still there');
select is((select count(*)::int from public.workspace_members where user_id = '21000000-0000-4000-8000-00000000000a'), 4,
  'with all her memberships');
select isnt_empty($$ select 1 from public.audit_log where actor_id = '21000000-0000-4000-8000-00000000000a' and ip is not null $$,
  'and her audit events untouched');

-- Bob becomes w1's admin too; now she can go.
update public.workspace_members set role = 'admin'
where workspace_id = '21000000-0000-4000-8000-0000000000f1' and user_id = '21000000-0000-4000-8000-00000000000b';
select lives_ok($$ delete from auth.users where id = '21000000-0000-4000-8000-00000000000a' $$,
  'with another admin in every shared workspace, the account goes');
select is_empty($$ select 1 from public.workspaces where id = '21000000-0000-4000-8000-0000000000f2' $$,
  'the workspace only she belonged to is gone');
select is_empty($$ select 1 from public.projects where id = '21000000-0000-4000-8000-0000000000c2' $$,
  'with its projects');
select results_eq($$ select id from public.workspaces where id::text like '21000000-%' order by id $$,
  $$ values ('21000000-0000-4000-8000-0000000000f1'::uuid), ('21000000-0000-4000-8000-0000000000f3'::uuid),
            ('21000000-0000-4000-8000-0000000000f4'::uuid) $$,
  'the shared workspaces stay');
select is((select created_by from public.projects where id = '21000000-0000-4000-8000-0000000000c1'), null::uuid,
  'a project she created in a shared workspace stays, its creator cleared');
select is((select count(*)::int from public.workspace_members m where m.workspace_id = '21000000-0000-4000-8000-0000000000f3' and m.role = 'admin'), 1,
  'the workspace with two admins keeps the other');
select is((select count(*)::int from public.audit_log
           where action in ('SIGN_IN', 'ACCESS_DENIED') and actor_id is null and user_agent = 'ann''s browser'), 0,
  'her events keep no user agent');
select is((select count(*)::int from public.audit_log
           where action in ('SIGN_IN', 'ACCESS_DENIED') and actor_id is null and ip is null and coalesce_key is null), 2,
  'nor address or coalescing key; the events stay');
select is((select metadata from public.audit_log where action = 'SIGN_IN_FAILED' and metadata ? 'note'),
  '{"note": "kept"}'::jsonb, 'failed sign-ins for her address lose the hashed email');
select is((select count(*)::int from public.audit_log where action = 'SIGN_IN_FAILED' and metadata ? 'emailKey'), 1,
  'someone else''s keep theirs');
select is((select host(ip) from public.audit_log where actor_id = '21000000-0000-4000-8000-00000000000e'), '192.0.2.5',
  'and another user''s events keep their address');

select * from finish();
rollback;
