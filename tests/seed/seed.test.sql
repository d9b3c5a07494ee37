-- supabase/seed.sql writes users the real Supabase Auth can sign in (issue 15): run by
-- scripts/test.sh after it loads the seed (not under supabase/tests, which runs before).
begin;
set search_path = extensions, public;
select plan(5);

select is_empty(
  $$ select email from auth.users
     where email like '%@example.com'
       and (instance_id is null or confirmation_token is null or recovery_token is null
            or email_change_token_new is null or email_change is null
            or email_change_token_current is null or phone_change is null
            or phone_change_token is null or reauthentication_token is null
            or encrypted_password is null or email_confirmed_at is null) $$,
  'no seeded user has a NULL token column, instance id, password or confirmation (GoTrue reads them as strings)');
select results_eq(
  $$ select u.email::text, i.provider, i.provider_id = u.id::text, i.identity_data ->> 'email'
     from auth.users u join auth.identities i on i.user_id = u.id
     where u.email like '%@example.com' order by u.email $$,
  $$ values ('alice@example.com', 'email', true, 'alice@example.com'),
            ('bob@example.com', 'email', true, 'bob@example.com'),
            ('carol@example.com', 'email', true, 'carol@example.com'),
            ('dave@example.com', 'email', true, 'dave@example.com') $$,
  'one email identity per seeded user, as GoTrue links them');
select is_empty(
  $$ select email from auth.users where email like '%@example.com'
     and raw_app_meta_data <> '{"provider": "email", "providers": ["email"]}'::jsonb $$,
  'app_metadata names the email provider as GoTrue writes it');
select ok(
  (select encrypted_password = extensions.crypt('password123', encrypted_password)
   from auth.users where email = 'alice@example.com'),
  'the demo password is a bcrypt hash GoTrue checks');

select results_eq(
  $$ select u.email::text, count(*)::int, bool_and(private.session_is_live(jsonb_build_object('sub', u.id, 'session_id', s.id)))
     from auth.users u join auth.sessions s on s.user_id = u.id
     where u.email like '%@example.com' group by u.email order by u.email $$,
  $$ values ('alice@example.com', 2, true), ('bob@example.com', 1, true), ('carol@example.com', 1, true) $$,
  'the demo sessions are live rows of auth.sessions (alice on two devices; dave never signed in)');

select * from finish();
rollback;
