-- app_settings (settings.read / settings.write), profiles under RBAC (own, public ones,
-- users.read; update own or users.write), the SETTINGS_CHANGED and PROFILE_CHANGED
-- audit rows, who reads audit_log, and search_users().
begin;
set search_path = extensions, public;
select plan(53);

-- Users (ids unique to this file):
--   una 08000000-0000-4000-8000-00000000000a  user, private profile
--   pia 08000000-0000-4000-8000-00000000000b  user, public profile
--   eli 08000000-0000-4000-8000-00000000000e  editor, private profile
--   ari 08000000-0000-4000-8000-00000000000d  admin, private profile
--   bob 08000000-0000-4000-8000-00000000000c  user, public, named "bob"
--   rob 08000000-0000-4000-8000-000000000001  user, public, email "rob_bot.08@..."
--   car 08000000-0000-4000-8000-000000000002  user, public, email "car100%.08@..."
--   bak 08000000-0000-4000-8000-000000000003  user, public, email "bak\slash.08@..."
--   byp 08000000-0000-4000-8000-000000000004  user, private, named "Bobby Private"
insert into auth.users (id, email, raw_user_meta_data) values
  ('08000000-0000-4000-8000-00000000000a', 'una.08@example.test', '{"full_name": "Una User"}'),
  ('08000000-0000-4000-8000-00000000000b', 'pia.08@example.test', '{"full_name": "Pia Public"}'),
  ('08000000-0000-4000-8000-00000000000e', 'eli.08@example.test', '{"full_name": "Eli Editor"}'),
  ('08000000-0000-4000-8000-00000000000d', 'ari.08@example.test', '{"full_name": "Ari Admin"}'),
  ('08000000-0000-4000-8000-00000000000c', 'bob.08@example.test', '{"full_name": "bob"}'),
  ('08000000-0000-4000-8000-000000000001', 'rob_bot.08@example.test', '{"full_name": "Rob Bot"}'),
  ('08000000-0000-4000-8000-000000000002', 'car100%.08@example.test', '{"full_name": "Carl"}'),
  ('08000000-0000-4000-8000-000000000003', 'bak\slash.08@example.test', '{"full_name": "Back Slash"}'),
  ('08000000-0000-4000-8000-000000000004', 'byp.08@example.test', '{"full_name": "Bobby Private"}');

update public.user_roles set role = 'editor' where user_id = '08000000-0000-4000-8000-00000000000e';
update public.user_roles set role = 'admin' where user_id = '08000000-0000-4000-8000-00000000000d';
update public.profiles set public_profile = true
where id in ('08000000-0000-4000-8000-00000000000b', '08000000-0000-4000-8000-00000000000c',
             '08000000-0000-4000-8000-000000000001', '08000000-0000-4000-8000-000000000002',
             '08000000-0000-4000-8000-000000000003');

-- A trail entry that only admins may read.
select public.record_audit_event('SEED_EIGHT', null, 'seed:08');

-- Settings -----------------------------------------------------------------------------------

set local role anon;
select set_config('request.jwt.claims', json_build_object('role', 'anon')::text, true);
select throws_ok($$ select * from public.app_settings $$, '42501', null, 'anon cannot read settings');
reset role;

set local role authenticated;

select set_config('request.jwt.claims', json_build_object('sub', '08000000-0000-4000-8000-00000000000a', 'role', 'authenticated', 'user_role', 'user')::text, true);
select is_empty($$ select * from public.app_settings $$, 'user x settings select: 0 rows');
select throws_ok(
  $$ insert into public.app_settings (key, value) values ('una_08', 'true') $$,
  '42501', null,
  'user x settings insert: refused'
);
select is_empty(
  $$ update public.app_settings set value = '"Una''s app"' where key = 'site_name' returning key $$,
  'user x settings update: 0 rows'
);
select throws_ok(
  $$ insert into public.app_settings (key, value) values ('site_name', '"Upserted by una"')
     on conflict (key) do update set value = excluded.value $$,
  '42501', null,
  'user x settings upsert (as PostgREST sends it): refused'
);

select set_config('request.jwt.claims', json_build_object('sub', '08000000-0000-4000-8000-00000000000e', 'role', 'authenticated', 'user_role', 'editor')::text, true);
select is_empty($$ select * from public.app_settings $$, 'editor x settings select: 0 rows');
select throws_ok(
  $$ insert into public.app_settings (key, value) values ('eli_08', 'true') $$,
  '42501', null,
  'editor x settings insert: refused'
);
select is_empty(
  $$ update public.app_settings set value = '"Eli''s app"' where key = 'site_name' returning key $$,
  'editor x settings update: 0 rows'
);

reset role;
select results_eq(
  $$ select value from public.app_settings where key = 'site_name' $$,
  $$ values ('"My app"'::jsonb) $$,
  'the refused updates left site_name as it was'
);
set local role authenticated;

select set_config('request.jwt.claims', json_build_object('sub', '08000000-0000-4000-8000-00000000000d', 'role', 'authenticated', 'user_role', 'admin')::text, true);
select results_eq(
  $$ select key from public.app_settings order by key $$,
  $$ values ('maintenance_mode'), ('signups_enabled'), ('site_name'), ('support_email') $$,
  'admin x settings select: every setting (and the refused inserts added none)'
);
select results_eq(
  $$ insert into public.app_settings (key, value) values ('theme_08', '"dark"') returning key, value, updated_by $$,
  $$ values ('theme_08', '"dark"'::jsonb, '08000000-0000-4000-8000-00000000000d'::uuid) $$,
  'admin x settings insert: allowed, updated_by is the admin'
);
select results_eq(
  $$ update public.app_settings set value = '"Ari''s app"' where key = 'site_name' returning value $$,
  $$ values ('"Ari''s app"'::jsonb) $$,
  'admin x settings update: allowed'
);
select throws_ok(
  $$ update public.app_settings set updated_by = '08000000-0000-4000-8000-00000000000a' where key = 'site_name' $$,
  '42501', null,
  'not even an admin writes updated_by'
);
select throws_ok(
  $$ delete from public.app_settings where key = 'theme_08' $$,
  '42501', null,
  'nobody deletes settings through the API'
);
select throws_ok(
  $$ insert into public.app_settings (key, value) values ('Bad Key', 'true') $$,
  '23514', null,
  'a malformed key is refused by the check constraint'
);

reset role;

-- KNOWN BUG (20261128000300_rbac.sql): updated_by is only a column default, so it keeps
-- its insert-time value (here null) after an admin changes the setting.
select is(
  (select updated_by from public.app_settings where key = 'site_name'),
  '08000000-0000-4000-8000-00000000000d'::uuid,
  'after ari''s change, site_name.updated_by is ari'
);

select results_eq(
  $$
    select actor_id, target, metadata from public.audit_log
    where action = 'SETTINGS_CHANGED' and target in ('setting:site_name', 'setting:theme_08')
    order by target
  $$,
  $$
    values ('08000000-0000-4000-8000-00000000000d'::uuid, 'setting:site_name', '{"from": "My app", "to": "Ari''s app"}'::jsonb),
           ('08000000-0000-4000-8000-00000000000d'::uuid, 'setting:theme_08', '{"from": null, "to": "dark"}'::jsonb)
  $$,
  'each admin change to settings wrote one SETTINGS_CHANGED row with the admin as actor, old and new value'
);
select is_empty(
  $$
    select * from public.audit_log
    where actor_id in ('08000000-0000-4000-8000-00000000000a', '08000000-0000-4000-8000-00000000000e')
  $$,
  'the refused attempts of the user and the editor wrote no audit row'
);

-- Profiles: reading --------------------------------------------------------------------------

set local role authenticated;

select set_config('request.jwt.claims', json_build_object('sub', '08000000-0000-4000-8000-00000000000a', 'role', 'authenticated', 'user_role', 'user')::text, true);
select is_empty(
  $$ select * from public.profiles where id = '08000000-0000-4000-8000-00000000000e' $$,
  'a user cannot read another user''s private profile (0 rows)'
);
select results_eq(
  $$ select full_name::text from public.profiles where id = '08000000-0000-4000-8000-00000000000b' $$,
  $$ values ('Pia Public') $$,
  'a user reads another user''s public profile'
);
select results_eq(
  $$ select right(id::text, 2) from public.profiles where id::text like '08000000-%' order by id $$,
  $$ values ('01'), ('02'), ('03'), ('0a'), ('0b'), ('0c') $$,
  'a user reads exactly her own profile and the public ones'
);

select set_config('request.jwt.claims', json_build_object('sub', '08000000-0000-4000-8000-00000000000e', 'role', 'authenticated', 'user_role', 'editor')::text, true);
select results_eq(
  $$ select count(*)::integer from public.profiles where id::text like '08000000-%' $$,
  $$ values (9) $$,
  'an editor (users.read) reads every profile, private ones included'
);

select set_config('request.jwt.claims', json_build_object('sub', '08000000-0000-4000-8000-00000000000d', 'role', 'authenticated', 'user_role', 'admin')::text, true);
select results_eq(
  $$ select count(*)::integer from public.profiles where id::text like '08000000-%' $$,
  $$ values (9) $$,
  'an admin (users.read) reads every profile'
);

-- Profiles: writing --------------------------------------------------------------------------

select set_config('request.jwt.claims', json_build_object('sub', '08000000-0000-4000-8000-00000000000a', 'role', 'authenticated', 'user_role', 'user')::text, true);
select results_eq(
  $$
    update public.profiles set bio = 'Hi, I am Una.', website = 'https://una.example.test'
    where id = '08000000-0000-4000-8000-00000000000a' returning bio, website::text
  $$,
  $$ values ('Hi, I am Una.', 'https://una.example.test') $$,
  'a user updates her own bio and website'
);
select throws_ok(
  $$ update public.profiles set website = 'http://una.example.test' where id = '08000000-0000-4000-8000-00000000000a' $$,
  '23514', null,
  'a website that is not https is refused by the check constraint'
);
-- Pia's profile is public, so una can read it: only the update policy refuses.
select is_empty(
  $$ update public.profiles set bio = 'Written by una' where id = '08000000-0000-4000-8000-00000000000b' returning id $$,
  'a user cannot update another user''s (public, readable) profile: 0 rows'
);
select throws_ok(
  $$ update public.profile_emails set email = 'una@evil.test' where id = '08000000-0000-4000-8000-00000000000a' $$,
  '42501', null,
  'a user cannot change her email'
);
select throws_ok(
  $$ update public.profiles set id = '08000000-0000-4000-8000-0000000000ff' where id = '08000000-0000-4000-8000-00000000000a' $$,
  '42501', null,
  'a user cannot change her id'
);

select set_config('request.jwt.claims', json_build_object('sub', '08000000-0000-4000-8000-00000000000e', 'role', 'authenticated', 'user_role', 'editor')::text, true);
select is_empty(
  $$ update public.profiles set bio = 'Written by eli' where id = '08000000-0000-4000-8000-00000000000a' returning id $$,
  'an editor cannot update a profile she can read (users.read is not users.write): 0 rows'
);

select set_config('request.jwt.claims', json_build_object('sub', '08000000-0000-4000-8000-00000000000d', 'role', 'authenticated', 'user_role', 'admin')::text, true);
select results_eq(
  $$ update public.profiles set bio = 'Moderated.' where id = '08000000-0000-4000-8000-00000000000a' returning bio, website::text $$,
  $$ values ('Moderated.', 'https://una.example.test') $$,
  'an admin (users.write) updates another user''s profile'
);
select results_eq(
  $$ update public.profiles set bio = 'Ari here.' where id = '08000000-0000-4000-8000-00000000000d' returning bio $$,
  $$ values ('Ari here.') $$,
  'an admin updates her own profile'
);
select throws_ok(
  $$ update public.profile_emails set email = 'una@admin.test' where id = '08000000-0000-4000-8000-00000000000a' $$,
  '42501', null,
  'not even an admin changes a profile email'
);
select throws_ok(
  $$ update public.profiles set id = '08000000-0000-4000-8000-0000000000ff' where id = '08000000-0000-4000-8000-00000000000a' $$,
  '42501', null,
  'not even an admin changes a profile id'
);
select throws_ok(
  $$ delete from public.profiles where id = '08000000-0000-4000-8000-00000000000a' $$,
  '42501', null,
  'not even an admin deletes a profile through the API'
);

reset role;

select results_eq(
  $$ select right(id::text, 2), bio from public.profiles where id in ('08000000-0000-4000-8000-00000000000a', '08000000-0000-4000-8000-00000000000b') order by id $$,
  $$ values ('0a', 'Moderated.'), ('0b', null) $$,
  'una''s bio carries the admin''s edit; pia''s was never changed'
);

select results_eq(
  $$ select actor_id, target, metadata from public.audit_log where action = 'PROFILE_CHANGED' and target like 'user:08000000-%' $$,
  $$ values ('08000000-0000-4000-8000-00000000000d'::uuid, 'user:08000000-0000-4000-8000-00000000000a', '{"fields": ["bio"]}'::jsonb) $$,
  'exactly one PROFILE_CHANGED row: the admin''s change to una''s bio (not una''s or the admin''s own edits)'
);

-- audit_log: admins only ---------------------------------------------------------------------

set local role anon;
select set_config('request.jwt.claims', json_build_object('role', 'anon')::text, true);
select throws_ok($$ select * from public.audit_log $$, '42501', null, 'anon cannot read audit_log');
reset role;

set local role authenticated;

select set_config('request.jwt.claims', json_build_object('sub', '08000000-0000-4000-8000-00000000000a', 'role', 'authenticated', 'user_role', 'user')::text, true);
select is_empty($$ select * from public.audit_log $$, 'a user reads no audit_log row (not even the one about her profile)');

select set_config('request.jwt.claims', json_build_object('sub', '08000000-0000-4000-8000-00000000000e', 'role', 'authenticated', 'user_role', 'editor')::text, true);
select is_empty($$ select * from public.audit_log $$, 'an editor reads no audit_log row');

-- A forged or stale claim does not open it: the policy reads user_roles.
select set_config('request.jwt.claims', json_build_object('sub', '08000000-0000-4000-8000-00000000000e', 'role', 'authenticated', 'user_role', 'admin')::text, true);
select is_empty($$ select * from public.audit_log $$, 'an editor whose token claims admin still reads no audit_log row');

select set_config('request.jwt.claims', json_build_object('sub', '08000000-0000-4000-8000-00000000000d', 'role', 'authenticated', 'user_role', 'admin')::text, true);
select results_eq(
  $$
    select action, target from public.audit_log
    where target in ('seed:08', 'setting:site_name', 'user:08000000-0000-4000-8000-00000000000a')
    order by action
  $$,
  $$
    values ('PROFILE_CHANGED', 'user:08000000-0000-4000-8000-00000000000a'),
           ('SEED_EIGHT', 'seed:08'),
           ('SETTINGS_CHANGED', 'setting:site_name')
  $$,
  'an admin reads the audit trail'
);
select throws_ok(
  $$ update public.audit_log set action = 'ERASED' where target = 'seed:08' $$,
  '42501', null,
  'an admin cannot rewrite the audit trail'
);
select throws_ok(
  $$ delete from public.audit_log where target = 'seed:08' $$,
  '42501', null,
  'an admin cannot delete from the audit trail'
);
select throws_ok(
  $$ insert into public.audit_log (action, target) values ('FORGED', 'seed:08') $$,
  '42501', null,
  'an admin cannot insert into the audit trail'
);

reset role;

-- search_users --------------------------------------------------------------------------------

set local role authenticated;

select set_config('request.jwt.claims', json_build_object('sub', '08000000-0000-4000-8000-00000000000a', 'role', 'authenticated', 'user_role', 'user')::text, true);
select throws_ok(
  $$ select * from public.search_users('bob') $$,
  '42501', null,
  'a user without users.read cannot search users at all (no email guessing)'
);

select set_config('request.jwt.claims', json_build_object('sub', '08000000-0000-4000-8000-00000000000e', 'role', 'authenticated', 'user_role', 'editor')::text, true);
select results_eq(
  $$ select full_name::text from public.search_users('b_') where id::text like '08000000-%' order by full_name $$,
  $$ values ('Rob Bot') $$,
  'search ''b_'': the underscore is literal (rob_bot matches, bob does not)'
);
select results_eq(
  $$ select full_name::text from public.search_users('%') where id::text like '08000000-%' $$,
  $$ values ('Carl') $$,
  'search ''%'': only the email containing a percent sign'
);
select results_eq(
  $$ select full_name::text from public.search_users('\') where id::text like '08000000-%' $$,
  $$ values ('Back Slash') $$,
  'search ''\'': only the email containing a backslash (it escapes nothing)'
);
select results_eq(
  $$ select full_name::text from public.search_users('BOB') where id::text like '08000000-%' order by full_name $$,
  $$ values ('Bobby Private'), ('bob') $$,
  'search is case-insensitive and, for users.read, finds private profiles too'
);
select results_eq(
  $$ select full_name::text from public.search_users('pia.08@EXAMPLE') where id::text like '08000000-%' $$,
  $$ values ('Pia Public') $$,
  'search matches email too'
);
select results_eq(
  $$ select right(id::text, 2) from public.search_users(null) where id::text like '08000000-%' order by id $$,
  $$ values ('01'), ('02'), ('03'), ('04'), ('0a'), ('0b'), ('0c'), ('0d'), ('0e') $$,
  'an empty search returns every profile to an editor'
);
select results_eq(
  $$ select full_name::text from public.search_users('una.08@') where id::text like '08000000-%' $$,
  $$ values ('Una User') $$,
  'an editor finds a private profile by its email'
);

reset role;
set local role anon;
select set_config('request.jwt.claims', json_build_object('role', 'anon')::text, true);
select throws_ok(
  $$ select * from public.search_users('bob') $$,
  '42501', null,
  'anon cannot search users'
);
reset role;

select * from finish();
rollback;
