-- export_my_data (migration 20261208000400): each part holds the caller's own rows and
-- nobody else's, pages are bounded, and only a signed-in user asks, about themselves.
begin;
set search_path = extensions, public;
select plan(18);

-- kim ...0a exports; lou ...0b shares a workspace with her.
insert into auth.users (id, email, phone) values
  ('22000000-0000-4000-8000-00000000000a', 'kim.22@example.test', null),
  ('22000000-0000-4000-8000-00000000000b', 'lou.22@example.test', null);
insert into auth.sessions (id, user_id) values
  ('22000000-0000-4000-8000-00000000000a', '22000000-0000-4000-8000-00000000000a'),
  ('22000000-0000-4000-8000-00000000000b', '22000000-0000-4000-8000-00000000000b');
update public.profiles set full_name = 'Kim Export' where id = '22000000-0000-4000-8000-00000000000a';
update public.user_roles set role = 'editor' where user_id = '22000000-0000-4000-8000-00000000000a';
insert into public.workspaces (id, name, created_by, created_at) values
  ('22000000-0000-4000-8000-0000000000f1', 'Kim''s', '22000000-0000-4000-8000-00000000000a', now() - interval '2 days'),
  ('22000000-0000-4000-8000-0000000000f2', 'Lou''s', '22000000-0000-4000-8000-00000000000b', now() - interval '1 day');
insert into public.workspace_members (workspace_id, user_id, role, created_at) values
  ('22000000-0000-4000-8000-0000000000f1', '22000000-0000-4000-8000-00000000000a', 'admin', now() - interval '2 days'),
  ('22000000-0000-4000-8000-0000000000f1', '22000000-0000-4000-8000-00000000000b', 'member', now() - interval '2 days'),
  ('22000000-0000-4000-8000-0000000000f2', '22000000-0000-4000-8000-00000000000b', 'admin', now() - interval '1 day'),
  ('22000000-0000-4000-8000-0000000000f2', '22000000-0000-4000-8000-00000000000a', 'editor', now() - interval '1 day');
insert into public.projects (id, workspace_id, name, created_by) values
  ('22000000-0000-4000-8000-0000000000c1', '22000000-0000-4000-8000-0000000000f2', 'Kim''s in Lou''s', '22000000-0000-4000-8000-00000000000a'),
  ('22000000-0000-4000-8000-0000000000c2', '22000000-0000-4000-8000-0000000000f2', 'Lou''s own', '22000000-0000-4000-8000-00000000000b');
insert into public.posts (id, author_id, title, body, published, created_at) values
  ('22000000-0000-4000-8000-0000000000e1', '22000000-0000-4000-8000-00000000000a', 'First', 'a', true, now() - interval '3 hours'),
  ('22000000-0000-4000-8000-0000000000e2', '22000000-0000-4000-8000-00000000000a', 'Draft', 'b', false, now() - interval '2 hours'),
  ('22000000-0000-4000-8000-0000000000e3', '22000000-0000-4000-8000-00000000000a', 'Third', 'c', true, now() - interval '1 hour'),
  ('22000000-0000-4000-8000-0000000000e4', '22000000-0000-4000-8000-00000000000b', 'Lou''s', 'd', true, now());
insert into public.audit_log (action, actor_id, ip, user_agent) values
  ('SIGN_IN', '22000000-0000-4000-8000-00000000000a', '192.0.2.22', 'kim''s browser'),
  ('SIGN_IN', '22000000-0000-4000-8000-00000000000b', '192.0.2.23', 'lou''s browser');

set local role authenticated;
select set_config('request.jwt.claims', json_build_object('sub', '22000000-0000-4000-8000-00000000000a',
  'session_id', '22000000-0000-4000-8000-00000000000a', 'role', 'authenticated')::text, true);

select is(public.export_my_data('account') #> '{items,0,counts}',
  '{"memberships": 2, "workspaces": 1, "projects": 1, "posts": 3, "uploads": 0, "audit": 1}'::jsonb,
  'the account counts each part''s items');
select is(public.export_my_data('account', 20, 20), '{"items": [], "total": 1}'::jsonb,
  'the account is one item: a second page is empty');
select is(public.export_my_data('account') #>> '{items,0,email}', 'kim.22@example.test', 'with her email');
select is(public.export_my_data('account') #>> '{items,0,role}', 'editor', 'her app role');
select is(public.export_my_data('account') #>> '{items,0,profile,name}', 'Kim Export', 'and her profile');
select is((select array_agg(i ->> 'workspace_name' || ':' || (i ->> 'role') order by i ->> 'joined_at')
           from jsonb_array_elements(public.export_my_data('memberships') -> 'items') i),
  array['Kim''s:admin', 'Lou''s:editor'], 'memberships: every workspace she is in, oldest first, with her role');
select is(public.export_my_data('workspaces') -> 'items',
  (select jsonb_agg(jsonb_build_object('id', '22000000-0000-4000-8000-0000000000f1', 'name', 'Kim''s',
     'created_by', '22000000-0000-4000-8000-00000000000a', 'created_at', w.created_at, 'updated_at', w.updated_at, 'members', 2))
   from public.workspaces w where w.id = '22000000-0000-4000-8000-0000000000f1'),
  'workspaces: the one she administers, with its member count');
select is((select array_agg(i ->> 'name') from jsonb_array_elements(public.export_my_data('projects') -> 'items') i),
  array['Kim''s in Lou''s'], 'projects: the ones she created, not her co-members''');
select is((select array_agg(i ->> 'title') from jsonb_array_elements(public.export_my_data('posts', 2, 0) -> 'items') i),
  array['First', 'Draft'], 'posts: hers, drafts included, oldest first, a page at a time');
select is(public.export_my_data('posts', 2, 2), jsonb_build_object('items',
  (select jsonb_agg(to_jsonb(p) - 'author_id' || jsonb_build_object('author_id', p.author_id)) from public.posts p
   where p.id = '22000000-0000-4000-8000-0000000000e3'), 'total', 3),
  'the next page, and the total');
select is((select array_agg(i ->> 'ip' || ' ' || (i ->> 'user_agent')) from jsonb_array_elements(public.export_my_data('audit') -> 'items') i),
  array['192.0.2.22 kim''s browser'], 'audit: her own events, with address and user agent, not another''s');
select throws_ok($$ select public.export_my_data('posts', 51, 0) $$, '22023', null, 'at most 50 items a page');
select throws_ok($$ select public.export_my_data('posts', 10, -1) $$, '22023', null, 'no negative offset');
select throws_ok($$ select public.export_my_data('secrets') $$, '22023', null, 'no other part');
reset role;

-- Lou's own export has none of Kim's posts.
set local role authenticated;
select set_config('request.jwt.claims', json_build_object('sub', '22000000-0000-4000-8000-00000000000b',
  'session_id', '22000000-0000-4000-8000-00000000000b', 'role', 'authenticated')::text, true);
select is((select array_agg(i ->> 'title') from jsonb_array_elements(public.export_my_data('posts') -> 'items') i),
  array['Lou''s'], 'another user exports only their own');
reset role;

set local role anon;
select set_config('request.jwt.claims', json_build_object('role', 'anon')::text, true);
select throws_ok($$ select public.export_my_data('account') $$, '42501', null, 'anon cannot export');
reset role;
set local role service_role;
select set_config('request.jwt.claims', json_build_object('role', 'service_role')::text, true);
select throws_ok($$ select public.export_my_data('account') $$, '42501', null, 'nor the service role, who is no user');
reset role;
select is(provolatile, 's', 'stable: PostgREST runs it read-only, and the request gate does not count it')
from pg_proc where oid = 'public.export_my_data(text, integer, integer)'::regprocedure;

select * from finish();
rollback;
