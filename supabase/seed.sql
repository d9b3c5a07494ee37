-- Demo data for `make dev` (local only). Inserting into auth.users fires the profile
-- trigger, as signing up through Supabase Auth would. Fixed ids so the event fixtures
-- in functions/events/ and the README examples point at real rows.

-- Every demo user's password is "password123" (local demo data only).
insert into auth.users (id, aud, role, email, raw_user_meta_data, raw_app_meta_data, email_confirmed_at)
values
  ('00000000-0000-4000-8000-000000000001', 'authenticated', 'authenticated', 'alice@example.com',
   '{"full_name": "Alice Admin"}', '{"provider": "email"}', now()),
  ('00000000-0000-4000-8000-000000000002', 'authenticated', 'authenticated', 'bob@example.com',
   '{"full_name": "Bob Editor"}', '{"provider": "email"}', now()),
  ('00000000-0000-4000-8000-000000000003', 'authenticated', 'authenticated', 'carol@example.com',
   '{"full_name": "Carol Member"}', '{"provider": "email"}', now()),
  ('00000000-0000-4000-8000-000000000004', 'authenticated', 'authenticated', 'dave@example.com',
   '{"full_name": "Dave Outsider"}', '{"provider": "email"}', now());

update auth.users set encrypted_password = extensions.crypt('password123', extensions.gen_salt('bf'))
where id in ('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002',
             '00000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000004');

insert into public.workspaces (id, name, created_by)
values ('00000000-0000-4000-8000-000000000100', 'Acme', '00000000-0000-4000-8000-000000000001');

insert into public.workspace_members (workspace_id, user_id, role)
values
  ('00000000-0000-4000-8000-000000000100', '00000000-0000-4000-8000-000000000001', 'admin'),
  ('00000000-0000-4000-8000-000000000100', '00000000-0000-4000-8000-000000000002', 'editor'),
  ('00000000-0000-4000-8000-000000000100', '00000000-0000-4000-8000-000000000003', 'member');

insert into public.projects (id, workspace_id, name, description, created_by)
values
  ('00000000-0000-4000-8000-000000000200', '00000000-0000-4000-8000-000000000100', 'Launch',
   'First project of the demo workspace', '00000000-0000-4000-8000-000000000001'),
  ('00000000-0000-4000-8000-000000000201', '00000000-0000-4000-8000-000000000100', 'Website',
   null, '00000000-0000-4000-8000-000000000002');

-- Application roles (RBAC): alice admin, bob editor; carol and dave keep `user`.
update public.user_roles set role = 'admin' where user_id = '00000000-0000-4000-8000-000000000001';
update public.user_roles set role = 'editor' where user_id = '00000000-0000-4000-8000-000000000002';
update public.profiles set public_profile = true, bio = '<p>Editor of <b>Acme</b></p>'
where id = '00000000-0000-4000-8000-000000000002';

insert into public.posts (id, author_id, title, body, published, published_at) values
  ('00000000-0000-4000-8000-000000000300', '00000000-0000-4000-8000-000000000002', 'Hello, world', 'First post.', true, now()),
  ('00000000-0000-4000-8000-000000000301', '00000000-0000-4000-8000-000000000003', 'Draft', 'Not yet.', false, null);
