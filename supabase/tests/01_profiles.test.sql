-- profiles: the on_auth_user_created trigger, "profiles: read own, public ones, or
-- users.read", "profiles: update own, or users.write" (as seen by users with the role
-- `user`; editors and admins are in 08), the column grants, and anon.
begin;
set search_path = extensions, public;
select plan(20);

-- Users (ids unique to this file):
--   alice 01000000-0000-4000-8000-00000000000a  full_name in metadata
--   bob   01000000-0000-4000-8000-00000000000b  only "name" in metadata
--   carol 01000000-0000-4000-8000-00000000000c  no metadata; public profile
--   dave  01000000-0000-4000-8000-00000000000d  blank full_name
--   erin  01000000-0000-4000-8000-00000000000e  created below as supabase_auth_admin
insert into auth.users (id, email, raw_user_meta_data) values
  ('01000000-0000-4000-8000-00000000000a', 'alice.01@example.test', '{"full_name": "Alice Anders"}'),
  ('01000000-0000-4000-8000-00000000000b', 'bob.01@example.test', '{"name": "  Bob Brown  "}'),
  ('01000000-0000-4000-8000-00000000000c', 'carol.01@example.test', null),
  ('01000000-0000-4000-8000-00000000000d', 'dave.01@example.test',
   '{"full_name": "   "}');

-- The trigger --------------------------------------------------------------------------

select results_eq(
  $$
    select p.id, e.email, p.full_name::text from public.profiles p join public.profile_emails e using (id)
    where p.id::text like '01000000-%' order by e.email
  $$,
  $$
    values
      ('01000000-0000-4000-8000-00000000000a'::uuid, 'alice.01@example.test', 'Alice Anders'),
      ('01000000-0000-4000-8000-00000000000b'::uuid, 'bob.01@example.test', 'Bob Brown'),
      ('01000000-0000-4000-8000-00000000000c'::uuid, 'carol.01@example.test', null),
      ('01000000-0000-4000-8000-00000000000d'::uuid, 'dave.01@example.test', null)
  $$,
  'creating an auth user creates its profile: full_name, else name, trimmed; blank becomes null'
);

-- Supabase Auth inserts as supabase_auth_admin, which has no right on public.profiles.
select ok(
  not has_table_privilege('supabase_auth_admin', 'public.profiles', 'insert'),
  'supabase_auth_admin cannot insert into profiles by itself'
);

-- (A plain statement: supabase_auth_admin has no usage on schema extensions, where pgTAP
-- lives. Should the trigger fail, the insert aborts the file.)
set local role supabase_auth_admin;
insert into auth.users (id, email, raw_user_meta_data)
values ('01000000-0000-4000-8000-00000000000e', 'erin.01@example.test', json_build_object('full_name', repeat('e', 150))::jsonb);
reset role;

select results_eq(
  $$ select e.email, p.full_name::text from public.profiles p join public.profile_emails e using (id)
     where p.id = '01000000-0000-4000-8000-00000000000e' $$,
  $$ values ('erin.01@example.test', repeat('e', 100)) $$,
  'a user created by supabase_auth_admin gets a profile, full_name cut to 100 characters'
);

-- Reading --------------------------------------------------------------------------------

-- (Before any request claims are set, so no audit row is written for it.)
update public.profiles set public_profile = true where id = '01000000-0000-4000-8000-00000000000c';

set local role authenticated;
select set_config('request.jwt.claims', json_build_object('sub', '01000000-0000-4000-8000-00000000000a', 'role', 'authenticated')::text, true);

select results_eq(
  $$ select id from public.profiles where (id::text like '01000000-%' or not public_profile) order by id $$,
  $$ values ('01000000-0000-4000-8000-00000000000a'::uuid), ('01000000-0000-4000-8000-00000000000c'::uuid) $$,
  'alice (role user) reads her own profile and carol''s public one, nothing else'
);

select is_empty(
  $$ select * from public.profiles where id = '01000000-0000-4000-8000-00000000000b' $$,
  'alice cannot read bob''s private profile'
);

-- Writing --------------------------------------------------------------------------------

select results_eq(
  $$ update public.profiles set full_name = 'Alice Anne' where id = '01000000-0000-4000-8000-00000000000a' returning full_name::text $$,
  $$ values ('Alice Anne') $$,
  'alice renames herself'
);

select is_empty(
  $$ update public.profiles set full_name = 'Bobby' where id = '01000000-0000-4000-8000-00000000000b' returning id $$,
  'alice cannot rename bob (no row matches)'
);

-- Carol's profile is visible to alice, so only the update policy stands in the way.
select is_empty(
  $$ update public.profiles set full_name = 'Caroline' where id = '01000000-0000-4000-8000-00000000000c' returning id $$,
  'alice cannot rename carol, whose public profile she can read (no row matches)'
);

-- No WHERE and no RETURNING, so only the update policy (not the read policy) filters.
select lives_ok(
  $$ update public.profiles set full_name = 'Alice Anne' $$,
  'an update of every profile runs'
);

select throws_ok(
  $$ update public.profile_emails set email = 'mallory@example.test' where id = '01000000-0000-4000-8000-00000000000a' $$,
  '42501', null,
  'alice cannot change her profile email (no privilege: it follows auth.users)'
);

select throws_ok(
  $$ update public.profiles set id = '01000000-0000-4000-8000-00000000000f' where id = '01000000-0000-4000-8000-00000000000a' $$,
  '42501', null,
  'alice cannot change her profile id (no column privilege)'
);

select throws_ok(
  $$ insert into public.profiles (id, full_name) values ('01000000-0000-4000-8000-00000000000a', 'Again') $$,
  '42501', null,
  'alice cannot insert a profile'
);

select throws_ok(
  $$ delete from public.profiles where id = '01000000-0000-4000-8000-00000000000a' $$,
  '42501', null,
  'alice cannot delete her profile'
);

select throws_ok(
  $$ update public.profiles set full_name = '' where id = '01000000-0000-4000-8000-00000000000a' $$,
  '23514', null,
  'an empty full_name is refused by the check constraint'
);

-- Bob, for the other side of the same policies.
select set_config('request.jwt.claims', json_build_object('sub', '01000000-0000-4000-8000-00000000000b', 'role', 'authenticated')::text, true);

select results_eq(
  $$ select id, full_name::text from public.profiles where (id::text like '01000000-%' or not public_profile) order by id $$,
  $$
    values ('01000000-0000-4000-8000-00000000000b'::uuid, 'Bob Brown'),
           ('01000000-0000-4000-8000-00000000000c'::uuid, null)
  $$,
  'bob reads his own profile, unchanged by alice, and carol''s public one (unrenamed)'
);

-- A signed-in role without a user (no sub) sees the public profiles only.
select set_config('request.jwt.claims', json_build_object('role', 'authenticated')::text, true);
select results_eq(
  $$ select id from public.profiles where (id::text like '01000000-%' or not public_profile) $$,
  $$ values ('01000000-0000-4000-8000-00000000000c'::uuid) $$,
  'authenticated without a sub reads only the public profile'
);

reset role;

select is(
  (select full_name from public.profiles where id = '01000000-0000-4000-8000-00000000000a'),
  'Alice Anne',
  'alice''s rename is stored'
);

select is_empty(
  $$ select * from public.profiles where full_name = 'Alice Anne' and id <> '01000000-0000-4000-8000-00000000000a' $$,
  'the update of every profile reached only alice''s'
);

-- Anon -----------------------------------------------------------------------------------

set local role anon;
select set_config('request.jwt.claims', json_build_object('role', 'anon')::text, true);

select throws_ok(
  $$ select * from public.profiles $$,
  '42501', null,
  'anon cannot read profiles'
);

reset role;

-- Deleting the auth user deletes the profile.
delete from auth.users where id = '01000000-0000-4000-8000-00000000000b';
select is_empty(
  $$ select * from public.profiles where id = '01000000-0000-4000-8000-00000000000b' $$,
  'deleting an auth user deletes its profile'
);

select * from finish();
rollback;
