-- The database refuses whatever the API refuses (migration 20261201000000): email
-- privacy (profile_emails, search_users), the text rules on every user-writable column,
-- names from sign-up metadata, emails following auth.users, the request gate
-- (anonymous writes, rate limits on direct writes, the API's pass), and
-- peek_subject_limit. For anon, a user, an editor, an admin and another user.
begin;
set search_path = extensions, public;
select plan(65);

-- Users (ids unique to this file):
--   uma 11000000-0000-4000-8000-00000000000a  user
--   ola 11000000-0000-4000-8000-00000000000b  user (another user), public profile
--   eve 11000000-0000-4000-8000-00000000000e  editor
--   ada 11000000-0000-4000-8000-00000000000d  admin
--   xss 11000000-0000-4000-8000-000000000001  signed up with a hostile name
--   pad 11000000-0000-4000-8000-000000000002  signed up with a padded name
insert into auth.users (id, email, raw_user_meta_data) values
  ('11000000-0000-4000-8000-00000000000a', 'uma.11@example.test', '{"full_name": "Uma User"}'),
  ('11000000-0000-4000-8000-00000000000b', 'ola.11@example.test', '{"full_name": "Ola Other"}'),
  ('11000000-0000-4000-8000-00000000000e', 'eve.11@example.test', '{"full_name": "Eve Editor"}'),
  ('11000000-0000-4000-8000-00000000000d', 'ada.11@example.test', '{"full_name": "Ada Admin"}'),
  ('11000000-0000-4000-8000-000000000001', 'xss.11@example.test', '{"full_name": "<img src=x onerror=alert(1)>"}'),
  ('11000000-0000-4000-8000-000000000002', 'pad.11@example.test', '{"name": "  Pat Pad\u00a0 "}');
-- Each signed in: a live session whose id is the user's (the request gate checks it).
insert into auth.sessions (id, user_id) select id, id from auth.users where id::text like '11000000-%';
update public.user_roles set role = 'editor' where user_id = '11000000-0000-4000-8000-00000000000e';
update public.user_roles set role = 'admin' where user_id = '11000000-0000-4000-8000-00000000000d';
update public.profiles set public_profile = true where id = '11000000-0000-4000-8000-00000000000b';
insert into public.workspaces (id, name, created_by) values
  ('11000000-0000-4000-8000-0000000000a1', 'Uma''s', '11000000-0000-4000-8000-00000000000a');
insert into public.workspace_members (workspace_id, user_id, role) values
  ('11000000-0000-4000-8000-0000000000a1', '11000000-0000-4000-8000-00000000000a', 'admin');

-- Sign-up metadata and email sync (no request: as Supabase Auth writes) ----------------

select results_eq(
  $$ select right(id::text, 2), full_name::text from public.profiles
     where id in ('11000000-0000-4000-8000-000000000001', '11000000-0000-4000-8000-000000000002') order by id $$,
  $$ values ('01', null::text), ('02', 'Pat Pad') $$,
  'a hostile sign-up name is dropped (null); a padded one is trimmed, as the API would store it'
);

update auth.users set email = 'uma.new.11@example.test' where id = '11000000-0000-4000-8000-00000000000a';
select results_eq(
  $$ select email from public.profile_emails where id = '11000000-0000-4000-8000-00000000000a' $$,
  $$ values ('uma.new.11@example.test') $$,
  'an email change in auth.users reaches profile_emails'
);

-- The text rules, as functions ----------------------------------------------------------

select ok(private.is_safe_html('<p>Hi <b>there</b> <a href="https://ok.example/?a=1&amp;b=2" rel="noopener noreferrer nofollow">ok</a><br></p>'),
  'is_safe_html: the sanitizer''s output is safe HTML');
select ok(not private.is_safe_html('<img src=x onerror=alert(1)>'), 'is_safe_html: an img is refused');
select ok(not private.is_safe_html('<a href="javascript:alert(1)" rel="noopener noreferrer nofollow">x</a>'),
  'is_safe_html: a javascript: link is refused');
select ok(not private.is_safe_html('<a href="/x" rel="noopener noreferrer nofollow">x</a>'),
  'is_safe_html: a relative link is refused (the sanitizer drops them)');
select ok(not private.is_safe_html('<b onclick="x()">x</b>'), 'is_safe_html: an attribute on an allowed tag is refused');
select ok(not private.is_safe_html('<scr<b>ipt>'), 'is_safe_html: markup split around an allowed tag is refused');
select ok(private.is_safe_html('1 &lt; 2 &amp;&amp; 3 &gt; 2'), 'is_safe_html: escaped text is fine');
select ok(private.is_person_name('Zoë Ålund-O''Neil 2') and not private.is_person_name('Zoë.') and not private.is_person_name(' Zoë'),
  'is_person_name: letters of any script, digits, space, - and '', trimmed');
select ok(private.is_https_url('https://example.com/@me?x=1#y') and not private.is_https_url('http://example.com')
  and not private.is_https_url('https://user@example.com') and not private.is_https_url('https:///example.com')
  and not private.is_https_url('https://example.com/a b') and not private.is_https_url(E'https://example.com/\x01')
  and private.is_https_url('https://xn--mnchen-3ya.de/a%20b') and not private.is_https_url('https://münchen.de')
  and not private.is_https_url('https://example.com/"q"') and not private.is_https_url('https://example.com/a%2'),
  'is_https_url: an RFC 3986 https URI, a host, no user info, no spaces, control or non-ASCII characters');
select ok(private.is_file_name('photo (1).png') and not private.is_file_name('../x.png') and not private.is_file_name('a\b')
  and not private.is_file_name('..') and not private.is_file_name(' a.png'),
  'is_file_name: plain names only');
select ok(private.is_free_text(E'line\nline\ttab\r') and not private.is_free_text(E'bell\x07'),
  'is_free_text: newlines and tabs, no other control characters');

-- anon ----------------------------------------------------------------------------------

set local role anon;
select set_config('request.jwt.claims', json_build_object('role', 'anon')::text, true);
select throws_ok($$ select * from public.profile_emails $$, '42501', null, 'anon cannot read profile_emails');
select throws_ok($$ select * from public.search_users('uma') $$, '42501', null, 'anon cannot search users');
select set_config('request.method', 'POST', true);
select set_config('request.path', '/rpc/create_workspace', true);
select lives_ok($$ select private.check_request() $$, 'the request gate lets anon requests through (privileges refuse them)');
reset role;

-- a user --------------------------------------------------------------------------------

set local role authenticated;
select set_config('request.jwt.claims', json_build_object('sub', '11000000-0000-4000-8000-00000000000a', 'session_id', '11000000-0000-4000-8000-00000000000a', 'role', 'authenticated')::text, true);

select results_eq(
  $$ select id from public.profile_emails where id::text like '11000000-%' $$,
  $$ values ('11000000-0000-4000-8000-00000000000a'::uuid) $$,
  'a user reads her own email and no one else''s'
);
select is_empty(
  $$ select email from public.profile_emails where id = '11000000-0000-4000-8000-00000000000b' $$,
  'a user cannot read the email of another user''s public profile'
);
select throws_ok($$ select email from public.profiles $$, '42703', null, 'profiles has no email column to read');
select throws_ok($$ select * from public.search_users('@') $$, '42501', null, 'a user cannot search users (no email guessing)');
select throws_ok($$ update public.profile_emails set email = 'x@evil.test' $$, '42501', null, 'a user cannot change an email');
select throws_ok($$ insert into public.profile_emails (id, email) values ('11000000-0000-4000-8000-00000000000a', 'x@evil.test') $$,
  '42501', null, 'a user cannot insert an email');
select throws_ok($$ delete from public.profile_emails $$, '42501', null, 'a user cannot delete an email');

select throws_ok($$ update public.profiles set bio = '<img src=x onerror=alert(1)>' where id = '11000000-0000-4000-8000-00000000000a' $$,
  '23514', null, 'a user cannot store an active element in her bio');
select throws_ok($$ update public.profiles set bio = E'ok\x01' where id = '11000000-0000-4000-8000-00000000000a' $$,
  '23514', null, 'nor a control character');
select results_eq(
  $$ update public.profiles set bio = '<b>hi</b> &amp; <a href="https://x.example" rel="noopener noreferrer nofollow">me</a>'
     where id = '11000000-0000-4000-8000-00000000000a' returning bio $$,
  $$ values ('<b>hi</b> &amp; <a href="https://x.example" rel="noopener noreferrer nofollow">me</a>') $$,
  'a user stores sanitized HTML in her bio'
);
select throws_ok($$ update public.profiles set full_name = '<b>Uma</b>' where id = '11000000-0000-4000-8000-00000000000a' $$,
  '23514', null, 'a name with markup is refused');
select throws_ok($$ update public.profiles set full_name = ' Uma ' where id = '11000000-0000-4000-8000-00000000000a' $$,
  '23514', null, 'an untrimmed name is refused');
select throws_ok($$ update public.profiles set website = 'javascript:alert(1)' where id = '11000000-0000-4000-8000-00000000000a' $$,
  '23514', null, 'a javascript: website is refused');
select throws_ok($$ update public.profiles set website = 'https://user:pw@x.example' where id = '11000000-0000-4000-8000-00000000000a' $$,
  '23514', null, 'a website with user info is refused');
select throws_ok($$ select public.create_workspace(E'bell\x07') $$, '23514', null, 'a workspace name with a control character is refused');
select throws_ok($$ select public.create_workspace(' padded ') $$, '23514', null, 'an untrimmed workspace name is refused');
select throws_ok($$ update public.workspaces set name = E'tab\there' where id = '11000000-0000-4000-8000-0000000000a1' $$,
  '23514', null, 'a rename to a name with a tab is refused');
select throws_ok($$ insert into public.projects (workspace_id, name) values ('11000000-0000-4000-8000-0000000000a1', E'a\nb') $$,
  '23514', null, 'a project name with a newline is refused');
select throws_ok($$ insert into public.projects (workspace_id, name, description) values ('11000000-0000-4000-8000-0000000000a1', 'P', E'\x1b[31m') $$,
  '23514', null, 'a project description with an escape character is refused');
select throws_ok($$ insert into public.posts (title, body) values (E'\u200btitle\x08', 'b') $$,
  '23514', null, 'a post title with a control character is refused');
select throws_ok($$ insert into public.posts (title, body) values ('Title', E'body\x00') $$,
  '22021', null, 'a NUL in a post body never reaches a row (text cannot hold it)');
select throws_ok(
  $$ insert into public.uploads (id, object_key, original_name, content_type, size_bytes)
     values ('11000000-0000-4000-8000-0000000000f1', 'pending/11000000-0000-4000-8000-00000000000a/11000000-0000-4000-8000-0000000000f1',
             '../../etc/passwd', 'image/png', 10) $$,
  '23514', null, 'an upload name with a path is refused');

-- The request gate, as a user's direct write.
select set_config('request.method', 'POST', true);
select set_config('request.path', '/posts', true);
select set_config('request.headers', '{}', true);
select lives_ok($$ select private.check_request() $$, 'a direct write passes the gate');
select matches(current_setting('response.headers', true), '"RateLimit-Policy" : "\\"write\\";q=120;w=60"',
  'and answers with the write rule''s RateLimit-Policy');
select set_config('request.method', 'GET', true);
select lives_ok($$ select private.check_request() $$, 'a read passes the gate uncounted');
select set_config('request.method', 'POST', true);
select set_config('request.path', '/rpc/hit_route_limit', true);
select lives_ok($$ select private.check_request() $$, 'hit_route_limit passes the gate uncounted (it counts itself)');
select set_config('request.path', '/uploads', true);
select lives_ok($$ select private.check_request() $$, 'a direct upload row counts against create-upload');
reset role;

select results_eq(
  $$ select key, hits from private.rate_limit_counters where key like 'user:%:11000000-0000-4000-8000-00000000000a' order by key $$,
  $$ values ('user:create-upload:11000000-0000-4000-8000-00000000000a', 1),
            ('user:write:11000000-0000-4000-8000-00000000000a', 1) $$,
  'the gate counted one write and one upload, nothing for the read and hit_route_limit'
);

-- The API's pass: the pipeline counted the hit (through the service role, the only
-- caller that gets a pass), the write goes through uncounted.
set local role service_role;
select set_config('request.jwt.claims', json_build_object('role', 'service_role')::text, true);
select set_config('test.pass', (public.hit_route_limit_for(
  json_build_object('sub', '11000000-0000-4000-8000-00000000000a', 'session_id', '11000000-0000-4000-8000-00000000000a', 'role', 'authenticated')::jsonb,
  'write') ->> 'pass'), true);
reset role;
set local role authenticated;
select set_config('request.jwt.claims', json_build_object('sub', '11000000-0000-4000-8000-00000000000a', 'session_id', '11000000-0000-4000-8000-00000000000a', 'role', 'authenticated')::text, true);
select set_config('request.path', '/posts', true);
select set_config('request.headers', json_build_object('x-rate-limit-pass', current_setting('test.pass'))::text, true);
select lives_ok($$ select private.check_request() $$, 'a write with the API''s pass passes the gate');
select set_config('request.jwt.claims', json_build_object('sub', '11000000-0000-4000-8000-00000000000b', 'session_id', '11000000-0000-4000-8000-00000000000b', 'role', 'authenticated')::text, true);
select lives_ok($$ select private.check_request() $$, 'another user presenting that pass passes too, but is counted');
reset role;

select results_eq(
  $$ select right(key, 2), hits from private.rate_limit_counters where key like 'user:write:11000000-%' order by key $$,
  $$ values ('0a', 2), ('0b', 1) $$,
  'the pass saved its owner a second count (hit_route_limit counted once); the other user was counted'
);
select results_eq(
  $$ select uses_left from private.rate_limit_passes where pass = current_setting('test.pass')::uuid $$,
  $$ values (2) $$,
  'the pass lost one use'
);

-- Over the limit: refused with PostgREST's custom error (429, Retry-After, RateLimit).
insert into private.rate_limit_counters (key, window_start, window_seconds, expires_at, hits)
values ('user:write:11000000-0000-4000-8000-00000000000b',
        to_timestamp(floor(extract(epoch from now()) / 60) * 60), 60,
        to_timestamp(floor(extract(epoch from now()) / 60) * 60) + interval '60 seconds', 500)
on conflict (key, window_start) do update set hits = 500;
set local role authenticated;
select set_config('request.headers', '{}', true);
select throws_ok($$ select private.check_request() $$, 'PGRST', null, 'a direct write over the write limit is refused (429)');
reset role;

-- Anonymous sign-ins read, never write.
set local role authenticated;
select set_config('request.jwt.claims', json_build_object('sub', '11000000-0000-4000-8000-00000000000a', 'session_id', '11000000-0000-4000-8000-00000000000a', 'role', 'authenticated', 'is_anonymous', true)::text, true);
select throws_ok($$ select private.check_request() $$, '42501', null, 'the gate refuses an anonymous user''s write');
select set_config('request.path', '/rpc/create_workspace', true);
select throws_ok($$ select private.check_request() $$, '42501', null, 'the gate refuses an anonymous user''s call of create_workspace');
reset role;

-- another user ---------------------------------------------------------------------------

set local role authenticated;
select set_config('request.jwt.claims', json_build_object('sub', '11000000-0000-4000-8000-00000000000b', 'session_id', '11000000-0000-4000-8000-00000000000b', 'role', 'authenticated')::text, true);
select results_eq(
  $$ select id from public.profile_emails where id::text like '11000000-%' $$,
  $$ values ('11000000-0000-4000-8000-00000000000b'::uuid) $$,
  'another user reads only her own email'
);
select is_empty(
  $$ update public.profiles set bio = 'hijacked' where id = '11000000-0000-4000-8000-00000000000a' returning id $$,
  'another user cannot write a profile that is not hers'
);
reset role;

-- an editor (users.read) ------------------------------------------------------------------

set local role authenticated;
select set_config('request.jwt.claims', json_build_object('sub', '11000000-0000-4000-8000-00000000000e', 'session_id', '11000000-0000-4000-8000-00000000000e', 'role', 'authenticated', 'user_role', 'editor')::text, true);
select results_eq(
  $$ select count(*)::int from public.profile_emails where id::text like '11000000-%' $$,
  $$ values (6) $$,
  'an editor (users.read) reads every email'
);
select results_eq(
  $$ select full_name::text from public.search_users('uma.new.11@') $$,
  $$ values ('Uma User') $$,
  'an editor searches by email'
);
select throws_ok($$ update public.profile_emails set email = 'x@evil.test' $$, '42501', null, 'an editor cannot change an email');
reset role;

-- an admin -------------------------------------------------------------------------------

set local role authenticated;
select set_config('request.jwt.claims', json_build_object('sub', '11000000-0000-4000-8000-00000000000d', 'session_id', '11000000-0000-4000-8000-00000000000d', 'role', 'authenticated', 'user_role', 'admin')::text, true);
select results_eq(
  $$ select count(*)::int from public.profile_emails where id::text like '11000000-%' $$,
  $$ values (6) $$,
  'an admin reads every email'
);
select throws_ok($$ update public.profile_emails set email = 'x@evil.test' $$, '42501', null, 'not even an admin changes an email here');
select throws_ok($$ update public.profiles set bio = '<script>alert(1)</script>' where id = '11000000-0000-4000-8000-00000000000a' $$,
  '23514', null, 'not even an admin (users.write) stores an active element in a bio');
select throws_ok($$ update public.app_settings set value = to_jsonb(E'Site\x07'::text) where key = 'site_name' $$,
  '23514', null, 'an admin cannot store a site name with a control character');
select throws_ok($$ update public.app_settings set value = '"yes"' where key = 'maintenance_mode' $$,
  '23514', null, 'maintenance_mode stays a boolean');
select throws_ok($$ update public.app_settings set value = '"not an email"' where key = 'support_email' $$,
  '23514', null, 'support_email stays an email address');
reset role;

-- service role: peek_subject_limit --------------------------------------------------------

set local role service_role;
select results_eq(
  $$ select (r ->> 'hits')::int, (r ->> 'remaining')::int, (r ->> 'allowed')::boolean
     from (select public.peek_subject_limit('sign-in:email', '11-peek') as r) s $$,
  $$ values (0, 5, true) $$,
  'peek_subject_limit reads a fresh subject: nothing used'
);
select public.hit_subject_limit('sign-in:email', '11-peek') from generate_series(1, 5);
select results_eq(
  $$ select (r ->> 'hits')::int, (r ->> 'remaining')::int, (r ->> 'allowed')::boolean
     from (select public.peek_subject_limit('sign-in:email', '11-peek') as r) s $$,
  $$ values (5, 0, false) $$,
  'after five hits, a peek says the next one would be refused'
);
reset role;
select results_eq(
  $$ select hits from private.rate_limit_counters where key = 'email:sign-in:email:11-peek' $$,
  $$ values (5) $$,
  'peeking counted nothing'
);

select * from finish();
rollback;
