-- Sessions end when they end (migration 20261207000000): the request gate refuses a user
-- token whose session is gone, past its not_after, or whose user is banned or deleted,
-- reads included and anonymous sessions alike, with PostgREST's 401 SESSION_ENDED; a
-- user lists their own sessions and ends one, nobody else's.
begin;
set search_path = extensions, public;
select plan(27);

-- Users (ids unique to this file):
--   uma 16000000-0000-4000-8000-00000000000a  user, two sessions (s1 = her id, s2)
--   ola 16000000-0000-4000-8000-00000000000b  another user, one session
--   ban 16000000-0000-4000-8000-00000000000c  banned until tomorrow
--   was 16000000-0000-4000-8000-00000000000d  banned until yesterday (over)
--   del 16000000-0000-4000-8000-00000000000e  soft-deleted (deleted_at)
--   ano 16000000-0000-4000-8000-00000000000f  an anonymous sign-in
insert into auth.users (id, email, banned_until, deleted_at, is_anonymous) values
  ('16000000-0000-4000-8000-00000000000a', 'uma.16@example.test', null, null, false),
  ('16000000-0000-4000-8000-00000000000b', 'ola.16@example.test', null, null, false),
  ('16000000-0000-4000-8000-00000000000c', 'ban.16@example.test', now() + interval '1 day', null, false),
  ('16000000-0000-4000-8000-00000000000d', 'was.16@example.test', now() - interval '1 day', null, false),
  ('16000000-0000-4000-8000-00000000000e', 'del.16@example.test', null, now(), false),
  ('16000000-0000-4000-8000-00000000000f', null, null, null, true);
insert into auth.sessions (id, user_id, created_at, updated_at, refreshed_at, user_agent, ip, not_after) values
  ('16000000-0000-4000-8000-00000000000a', '16000000-0000-4000-8000-00000000000a',
   now() - interval '2 days', now() - interval '2 days', null, 'Firefox on a laptop', '192.0.2.1', null),
  ('16000000-0000-4000-8000-0000000000a2', '16000000-0000-4000-8000-00000000000a',
   now() - interval '1 day', now() - interval '1 hour', (now() - interval '5 minutes') at time zone 'UTC',
   'Safari on a phone', '2001:db8::1', null),
  ('16000000-0000-4000-8000-0000000000a3', '16000000-0000-4000-8000-00000000000a',
   now() - interval '3 days', now() - interval '3 days', null, 'an old tab', '192.0.2.3', now() - interval '1 minute'),
  ('16000000-0000-4000-8000-00000000000b', '16000000-0000-4000-8000-00000000000b', now(), now(), null, null, null, null),
  ('16000000-0000-4000-8000-00000000000c', '16000000-0000-4000-8000-00000000000c', now(), now(), null, null, null, null),
  ('16000000-0000-4000-8000-00000000000d', '16000000-0000-4000-8000-00000000000d', now(), now(), null, null, null, null),
  ('16000000-0000-4000-8000-00000000000e', '16000000-0000-4000-8000-00000000000e', now(), now(), null, null, null, null),
  ('16000000-0000-4000-8000-00000000000f', '16000000-0000-4000-8000-00000000000f', now(), now(), null, null, null, null);

-- A request as PostgREST makes it: the token's claims, the method and path.
create function pg_temp.as_token(p_sub text, p_session text, p_method text default 'GET',
                                 p_path text default '/profiles', p_anonymous boolean default false)
returns void language sql as $$
  select set_config('request.jwt.claims', json_build_object(
           'sub', p_sub, 'session_id', p_session, 'role', 'authenticated',
           'is_anonymous', p_anonymous)::text, true),
         set_config('request.method', p_method, true),
         set_config('request.path', p_path, true),
         set_config('request.headers', '{}', true);
$$;

-- The gate's refusal as PostgREST answers it: its body and its status and headers.
create function pg_temp.refusal() returns jsonb language plpgsql as $$
declare v_message text; v_detail text;
begin
  perform private.check_request();
  return null;
exception when sqlstate 'PGRST' then
  get stacked diagnostics v_message = message_text, v_detail = pg_exception_detail;
  return jsonb_build_object('message', v_message::jsonb, 'detail', v_detail::jsonb);
end $$;

set local role authenticated;

-- Live sessions pass, reads and writes.
select pg_temp.as_token('16000000-0000-4000-8000-00000000000a', '16000000-0000-4000-8000-00000000000a');
select lives_ok($$ select private.check_request() $$, 'a live session''s read passes the gate');
select pg_temp.as_token('16000000-0000-4000-8000-00000000000a', '16000000-0000-4000-8000-0000000000a2', 'POST', '/workspaces');
select lives_ok($$ select private.check_request() $$, 'a live second session''s write passes the gate');
select pg_temp.as_token('16000000-0000-4000-8000-00000000000d', '16000000-0000-4000-8000-00000000000d');
select lives_ok($$ select private.check_request() $$, 'a ban that is over no longer refuses');

-- Ended sessions are refused, reads included.
select pg_temp.as_token('16000000-0000-4000-8000-00000000000a', '16000000-0000-4000-8000-0000000000ff');
select is((select pg_temp.refusal()),
  jsonb_build_object(
    'message', jsonb_build_object('code', 'SESSION_ENDED', 'message', 'The session has ended; sign in again',
                                  'details', null, 'hint', null),
    'detail', jsonb_build_object('status', 401,
                                 'headers', jsonb_build_object('WWW-Authenticate', 'Bearer error="invalid_token"'))),
  'a read with a session that does not exist: 401 SESSION_ENDED with WWW-Authenticate');
select pg_temp.as_token('16000000-0000-4000-8000-00000000000a', '16000000-0000-4000-8000-0000000000a3');
select throws_ok($$ select private.check_request() $$, 'PGRST', null, 'a session past its not_after is refused');
select pg_temp.as_token('16000000-0000-4000-8000-00000000000a', '16000000-0000-4000-8000-00000000000b');
select throws_ok($$ select private.check_request() $$, 'PGRST', null, 'another user''s live session is refused (sub and session must match)');
select pg_temp.as_token('16000000-0000-4000-8000-00000000000c', '16000000-0000-4000-8000-00000000000c');
select throws_ok($$ select private.check_request() $$, 'PGRST', null, 'a banned user''s session is refused');
select pg_temp.as_token('16000000-0000-4000-8000-00000000000e', '16000000-0000-4000-8000-00000000000e');
select throws_ok($$ select private.check_request() $$, 'PGRST', null, 'a deleted user''s session is refused');
select pg_temp.as_token('16000000-0000-4000-8000-00000000000a', 'not-a-uuid');
select throws_ok($$ select private.check_request() $$, 'PGRST', null, 'a session_id that is not a UUID is refused, not a cast error');
select set_config('request.jwt.claims', json_build_object('sub', '16000000-0000-4000-8000-00000000000a', 'role', 'authenticated')::text, true);
select throws_ok($$ select private.check_request() $$, 'PGRST', null, 'a user token without a session_id is refused');

-- Anonymous sign-ins: a live session reads; an ended one is refused before anything else.
select pg_temp.as_token('16000000-0000-4000-8000-00000000000f', '16000000-0000-4000-8000-00000000000f', 'GET', '/posts', true);
select lives_ok($$ select private.check_request() $$, 'an anonymous user''s live session reads');
select pg_temp.as_token('16000000-0000-4000-8000-00000000000f', '16000000-0000-4000-8000-0000000000fe', 'GET', '/posts', true);
select throws_ok($$ select private.check_request() $$, 'PGRST', null, 'an anonymous user''s ended session is refused');

-- The keys: anon and the service role carry no session and pass as before.
select set_config('request.jwt.claims', json_build_object('role', 'anon')::text, true);
reset role;
set local role anon;
select lives_ok($$ select private.check_request() $$, 'anon requests pass the session check (privileges refuse them)');
reset role;
set local role service_role;
select set_config('request.jwt.claims', json_build_object('role', 'service_role')::text, true);
select lives_ok($$ select private.check_request() $$, 'the service role passes the session check');
reset role;

-- A deleted user's sessions go with them; the gate refuses the token that named one.
delete from auth.users where id = '16000000-0000-4000-8000-00000000000b';
select is_empty($$ select 1 from auth.sessions where user_id = '16000000-0000-4000-8000-00000000000b' $$,
  'deleting a user deletes their sessions');
set local role authenticated;
select pg_temp.as_token('16000000-0000-4000-8000-00000000000b', '16000000-0000-4000-8000-00000000000b');
select throws_ok($$ select private.check_request() $$, 'PGRST', null, 'a deleted user''s token is refused');

-- A user's own sessions: newest first, the current one marked, nobody else's.
select pg_temp.as_token('16000000-0000-4000-8000-00000000000a', '16000000-0000-4000-8000-0000000000a2');
select is(
  (select json_agg(json_build_object('id', x ->> 'id', 'current', x -> 'current', 'ip', x ->> 'ip',
                                     'userAgent', x ->> 'userAgent'))::jsonb
   from json_array_elements(public.list_my_sessions(20, 0) -> 'items') x),
  jsonb_build_array(
    jsonb_build_object('id', '16000000-0000-4000-8000-0000000000a2', 'current', true, 'ip', '2001:db8::1', 'userAgent', 'Safari on a phone'),
    jsonb_build_object('id', '16000000-0000-4000-8000-00000000000a', 'current', false, 'ip', '192.0.2.1', 'userAgent', 'Firefox on a laptop'),
    jsonb_build_object('id', '16000000-0000-4000-8000-0000000000a3', 'current', false, 'ip', '192.0.2.3', 'userAgent', 'an old tab')),
  'list_my_sessions: the caller''s three sessions, newest first, the current one marked');
select is((public.list_my_sessions(1, 1) ->> 'total')::int, 3, 'and the total, whatever the page');
select ok(
  (select (x ->> 'lastActiveAt')::timestamptz between now() - interval '6 minutes' and now() - interval '4 minutes'
   from json_array_elements(public.list_my_sessions(20, 0) -> 'items') x
   where x ->> 'id' = '16000000-0000-4000-8000-0000000000a2'),
  'lastActiveAt is when Supabase Auth last refreshed it (refreshed_at, UTC)');
select throws_ok($$ select public.list_my_sessions(101, 0) $$, '22023', null, 'a page over 100 is refused');

select throws_ok($$ select public.revoke_my_session('16000000-0000-4000-8000-00000000000c') $$,
  'PT404', null, 'revoking another user''s session is 404');
select throws_ok($$ select public.revoke_my_session('16000000-0000-4000-8000-0000000000ff') $$,
  'PT404', null, 'revoking a session that does not exist is 404');
select lives_ok($$ select public.revoke_my_session('16000000-0000-4000-8000-00000000000a') $$,
  'a user revokes their own other session');
reset role;
select is_empty($$ select 1 from auth.sessions where id = '16000000-0000-4000-8000-00000000000a' $$,
  'that session is gone');
select is(
  (select jsonb_build_object('actor', actor_id, 'target', target, 'metadata', metadata) from public.audit_log
   where action = 'SESSION_REVOKED' and actor_id = '16000000-0000-4000-8000-00000000000a'),
  jsonb_build_object('actor', '16000000-0000-4000-8000-00000000000a', 'target', 'session',
                     'metadata', jsonb_build_object('sessionId', '16000000-0000-4000-8000-00000000000a', 'current', false)),
  'the revocation is audited: SESSION_REVOKED by the user, naming the session');
set local role authenticated;
select pg_temp.as_token('16000000-0000-4000-8000-00000000000a', '16000000-0000-4000-8000-00000000000a');
select throws_ok($$ select private.check_request() $$, 'PGRST', null, 'the revoked session''s token is refused from its next request');
reset role;

set local role anon;
select throws_ok($$ select public.list_my_sessions(20, 0) $$, '42501', null, 'anon cannot list sessions');

select * from finish();
rollback;
