-- Demo data for `make dev` and `supabase db reset` (local only, never a real project's
-- data). Inserting into auth.users fires the profile trigger, as signing up through
-- Supabase Auth would. Fixed ids so the event fixtures in functions/events/ and the
-- examples in docs/ (docs/running-locally.md, docs/uploads.md) point at real rows.
--
-- The users are written as Supabase Auth (GoTrue) writes them, so the real service can
-- sign them in too (`supabase start`, then password123): the instance id, every token
-- column an empty string (GoTrue reads them as strings; NULL breaks its sign-in), the
-- email provider in app_metadata, and one auth.identities row each.

-- Every demo user's password is "password123" (local demo data only).
insert into auth.users (
  instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
  raw_user_meta_data, raw_app_meta_data, created_at, updated_at,
  confirmation_token, recovery_token, email_change_token_new, email_change,
  email_change_token_current, phone_change, phone_change_token, reauthentication_token
)
select '00000000-0000-0000-0000-000000000000', u.id, 'authenticated', 'authenticated', u.email,
       extensions.crypt('password123', extensions.gen_salt('bf')), now(),
       jsonb_build_object('full_name', u.full_name), '{"provider": "email", "providers": ["email"]}',
       now(), now(), '', '', '', '', '', '', '', ''
from (values
  ('00000000-0000-4000-8000-000000000001'::uuid, 'alice@example.com', 'Alice Admin'),
  ('00000000-0000-4000-8000-000000000002'::uuid, 'bob@example.com', 'Bob Editor'),
  ('00000000-0000-4000-8000-000000000003'::uuid, 'carol@example.com', 'Carol Member'),
  ('00000000-0000-4000-8000-000000000004'::uuid, 'dave@example.com', 'Dave Outsider')
) as u (id, email, full_name);

-- The email identity of each (GoTrue: provider_id is the user id for email).
insert into auth.identities (provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at)
select u.id::text, u.id,
       jsonb_build_object('sub', u.id::text, 'email', u.email, 'email_verified', true, 'phone_verified', false),
       'email', now(), now(), now()
from auth.users u
where u.id in ('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002',
               '00000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000004');

-- Signed-in sessions, as Supabase Auth records a sign-in (auth.sessions: when, from which
-- browser and address; refreshed_at is UTC without a zone, as GoTrue stores it). Access
-- tokens count only while their session lives (the request gate): the demo tokens
-- `make dev` prints name these. Alice is signed in on two devices (GET /me/sessions).
insert into auth.sessions (id, user_id, created_at, updated_at, aal, refreshed_at, user_agent, ip)
select s.id, s.user_id, now() - s.age, now() - s.age, 'aal1', (now() - s.age / 2) at time zone 'UTC',
       s.user_agent, s.ip::inet
from (values
  ('00000000-0000-4000-8000-000000000501'::uuid, '00000000-0000-4000-8000-000000000001'::uuid, interval '3 days',
   'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0', '192.0.2.10'),
  ('00000000-0000-4000-8000-000000000502'::uuid, '00000000-0000-4000-8000-000000000001'::uuid, interval '2 hours',
   'Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1', '198.51.100.7'),
  ('00000000-0000-4000-8000-000000000503'::uuid, '00000000-0000-4000-8000-000000000002'::uuid, interval '1 day',
   'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0 Safari/537.36', '203.0.113.20'),
  ('00000000-0000-4000-8000-000000000504'::uuid, '00000000-0000-4000-8000-000000000003'::uuid, interval '5 hours',
   'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0 Safari/537.36 Edg/138.0', '203.0.113.31')
) as s (id, user_id, age, user_agent, ip);

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
