-- The database refuses whatever the API refuses.
--
-- Any holder of a user's access token can call PostgREST directly with the privileges
-- the functions use, so every rule the functions enforce holds here too:
--   1. email privacy: emails live in profile_emails, readable by their owner and by
--      users.read holders only; search_users needs users.read;
--   2. safe text: CHECK constraints mirroring every Rust validator on user-writable text
--      (lengths, allowed characters, no control characters, https-only websites), and a
--      bio that can only hold the sanitizer's safe HTML subset;
--   3. one gate before every PostgREST request (PostgREST's db-pre-request): writes by
--      anonymous users are refused, and direct writes count against the same rate-limit
--      counters as the API's writes.
-- tests/tests/direct_postgrest.rs sends the hostile variant of every route straight to
-- PostgREST; supabase/tests/11_database_refuses.test.sql covers each role.

-- ---------------------------------------------------------------------------------------
-- 1. Text rules, one function per Rust validator (functions/src/validate.rs names them).
-- ---------------------------------------------------------------------------------------

-- Rust's char::is_control (Unicode Cc) and its trim() (Unicode White_Space).
-- input::plain_text: not blank, no control characters; the API stores it trimmed.
create or replace function private.is_plain_text(p text)
returns boolean
language sql
immutable
parallel safe
set search_path = ''
as $$
  select p !~ '[\x01-\x1f\x7f-\x9f]'
     and p !~ '^[ \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]'
     and p !~ '[ \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$'
     and p <> '';
$$;

-- input::free_text: no control characters other than newline, carriage return and tab.
create or replace function private.is_free_text(p text)
returns boolean
language sql
immutable
parallel safe
set search_path = ''
as $$
  select p !~ '[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]';
$$;

-- validate::person_name: plain text of letters (any script), digits, spaces, - and '.
create or replace function private.is_person_name(p text)
returns boolean
language sql
immutable
parallel safe
set search_path = ''
as $$
  select private.is_plain_text(p) and p ~ '^[[:alnum:] ''-]+$';
$$;

-- validate::https_url: https://, a host without user info, no spaces or control
-- characters.
create or replace function private.is_https_url(p text)
returns boolean
language sql
immutable
parallel safe
set search_path = ''
as $$
  select p ~ '^https://[^/?#@[:space:]\x01-\x1f\x7f-\x9f]+([/?#][^[:space:]\x01-\x1f\x7f-\x9f]*)?$'
     and p !~ '[\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]';
$$;

-- validate::file_name: plain text, no path separators, not . or ..
create or replace function private.is_file_name(p text)
returns boolean
language sql
immutable
parallel safe
set search_path = ''
as $$
  select private.is_plain_text(p) and p !~ '[/\\]' and p not in ('.', '..');
$$;

-- validate::sanitize_bio's output (ammonia): text without < or >, and only the tags
-- b, i, em, strong, p, br and a with an http(s) or mailto href and the fixed rel (tag
-- names and schemes in any case, as the sanitizer keeps them). Any other markup,
-- attribute or URL scheme is refused, so no path that skips the sanitizer can store an
-- active element.
create or replace function private.is_safe_html(p text)
returns boolean
language sql
immutable
parallel safe
set search_path = ''
as $$
  select private.is_free_text(p)
     and regexp_replace(
           p,
           '</?(b|i|em|strong|p)>|<br>|</a>|<a( href="(https?://|mailto:)[^"]*")? rel="noopener noreferrer nofollow">',
           '', 'gi'
         ) !~ '[<>]';
$$;

revoke all on function private.is_plain_text(text), private.is_free_text(text),
  private.is_person_name(text), private.is_https_url(text), private.is_file_name(text),
  private.is_safe_html(text) from public;
grant execute on function private.is_plain_text(text), private.is_free_text(text),
  private.is_person_name(text), private.is_https_url(text), private.is_file_name(text),
  private.is_safe_html(text) to authenticated, service_role;

-- The rules on every user-writable text column. (Lengths were already there.)
alter table public.profiles
  add constraint profiles_full_name_rule check (full_name is null or private.is_person_name(full_name)),
  add constraint profiles_bio_rule check (bio is null or private.is_safe_html(bio)),
  add constraint profiles_website_rule check (website is null or private.is_https_url(website));
alter table public.workspaces
  add constraint workspaces_name_rule check (private.is_plain_text(name));
alter table public.projects
  add constraint projects_name_rule check (private.is_plain_text(name)),
  add constraint projects_description_rule check (description is null or private.is_free_text(description));
alter table public.posts
  add constraint posts_title_rule check (private.is_plain_text(title)),
  add constraint posts_body_rule check (private.is_free_text(body));
alter table public.uploads
  add constraint uploads_original_name_rule check (private.is_file_name(original_name));

-- Settings: the typed set the API writes (settings.write holders only, but still).
alter table public.app_settings
  add constraint app_settings_value_rule check (
    case key
      when 'site_name' then jsonb_typeof(value) = 'string'
        and char_length(value #>> '{}') between 1 and 100 and private.is_plain_text(value #>> '{}')
      when 'support_email' then jsonb_typeof(value) = 'string'
        and char_length(value #>> '{}') <= 254 and (value #>> '{}') ~ '^[^@[:space:][:cntrl:]]+@[^@[:space:][:cntrl:]]+$'
      when 'maintenance_mode' then jsonb_typeof(value) = 'boolean'
      when 'signups_enabled' then jsonb_typeof(value) = 'boolean'
      else true
    end
  );

-- A name from sign-up metadata is whatever the client sent Supabase Auth: trimmed and
-- cut to 100 characters, and kept only if it is a valid name (else null).
create or replace function private.handle_new_user()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_space text := E' \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';
  v_name text := btrim(left(btrim(coalesce(new.raw_user_meta_data ->> 'full_name',
                                           new.raw_user_meta_data ->> 'name', ''), v_space), 100), v_space);
begin
  if not private.is_person_name(v_name) then
    v_name := null;
  end if;
  insert into public.profiles (id, full_name) values (new.id, v_name);
  insert into public.profile_emails (id, email) values (new.id, new.email);
  return new;
end;
$$;

-- ---------------------------------------------------------------------------------------
-- 2. Email privacy: the address leaves profiles for a table of its own.
-- ---------------------------------------------------------------------------------------

create table public.profile_emails (
  id uuid primary key references public.profiles (id) on delete cascade,
  email text
);
comment on table public.profile_emails is
  'Each user''s email, readable by the user and users.read holders; kept in step with auth.users.';

insert into public.profile_emails (id, email)
select p.id, p.email from public.profiles p;

alter table public.profiles drop column email;

alter table public.profile_emails enable row level security;
revoke all on table public.profile_emails from anon, authenticated;
grant select on table public.profile_emails to authenticated;
-- No writes through the API: the address follows auth.users (the trigger below).

create policy "profile_emails: own, or users.read" on public.profile_emails
  for select to authenticated
  using (id = (select auth.uid()) or (select public.authorize('users.read')));

-- An email change in Supabase Auth reaches the profile.
create or replace function private.sync_profile_email()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update public.profile_emails set email = new.email where id = new.id;
  return new;
end;
$$;

create trigger on_auth_user_email_changed
  after update of email on auth.users
  for each row when (old.email is distinct from new.email)
  execute function private.sync_profile_email();

-- Searching by name or email is for users.read holders (the API's GET /users rule).
drop function public.search_users(text);
create function public.search_users(p_search text default null)
returns setof public.profiles
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_pattern text := '%' || replace(replace(replace(coalesce(p_search, ''), '\', '\\'), '%', '\%'), '_', '\_') || '%';
begin
  if not public.authorize('users.read') then
    raise exception 'searching users needs users.read' using errcode = '42501';
  end if;
  return query
    select p.* from public.profiles p
    where coalesce(p_search, '') = ''
       or p.full_name ilike v_pattern escape '\'
       or exists (select 1 from public.profile_emails e
                  where e.id = p.id and e.email ilike v_pattern escape '\');
end;
$$;

revoke all on function public.search_users(text) from public, anon;
grant execute on function public.search_users(text) to authenticated;

-- ---------------------------------------------------------------------------------------
-- 3. The request gate (PostgREST db-pre-request): runs before every request, inside
--    its transaction, as the request's role.
-- ---------------------------------------------------------------------------------------

-- The API's own writes were already counted by hit_route_limit in the function; it
-- hands the function a pass (sent as the X-Rate-Limit-Pass header) that lets that
-- request's writes through without a second count. The pass is random, bound to the
-- user, short-lived and good for a few writes; clients never see it.
create table private.rate_limit_passes (
  pass uuid primary key,
  user_id uuid not null,
  uses_left integer not null check (uses_left >= 0),
  expires_at timestamptz not null
);
create index rate_limit_passes_expires_at_idx on private.rate_limit_passes (expires_at);

create or replace function public.hit_route_limit(p_rule text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := (select auth.uid());
  v_rule public.rate_limit_rules;
  v_quota jsonb;
  v_pass uuid;
begin
  if v_uid is null then
    raise exception 'not authenticated' using errcode = '42501';
  end if;
  select * into v_rule from public.rate_limit_rules r where r.rule = p_rule and r.key_kind = 'user';
  if v_rule.rule is null then
    select * into v_rule from public.rate_limit_rules r where r.rule = 'write';
  end if;
  v_quota := private.count_hit('user:' || v_rule.rule || ':' || v_uid::text, v_rule.max_hits, v_rule.window_seconds)
             || jsonb_build_object('rule', v_rule.rule);
  if (v_quota ->> 'allowed')::boolean then
    v_pass := gen_random_uuid();
    insert into private.rate_limit_passes (pass, user_id, uses_left, expires_at)
    values (v_pass, v_uid, 3, now() + interval '60 seconds');
    delete from private.rate_limit_passes
    where pass in (select p.pass from private.rate_limit_passes p where p.expires_at < now() limit 100);
    v_quota := v_quota || jsonb_build_object('pass', v_pass);
  end if;
  return v_quota;
end;
$$;

revoke all on function public.hit_route_limit(text) from public, anon;
grant execute on function public.hit_route_limit(text) to authenticated;

create or replace function private.check_request()
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_method text := current_setting('request.method', true);
  v_path text := current_setting('request.path', true);
  v_claims jsonb := auth.jwt();
  v_uid uuid;
  v_pass_text text;
  v_pass uuid;
  v_rule public.rate_limit_rules;
  v_quota jsonb;
  v_policy text;
  v_state text;
begin
  -- Reads never count: GETs, and POSTs to stable or immutable functions, which
  -- PostgREST runs in a read-only transaction (search_users, authorize, ...).
  -- hit_route_limit counts itself.
  if v_method is null or v_method not in ('POST', 'PUT', 'PATCH', 'DELETE')
     or coalesce(v_claims ->> 'role', '') <> 'authenticated'
     or current_setting('transaction_read_only') = 'on'
     or v_path = '/rpc/hit_route_limit' then
    return;
  end if;
  v_uid := (select auth.uid());
  -- Anonymous sign-ins (Supabase Auth's is_anonymous) read, never write.
  if coalesce(v_claims ->> 'is_anonymous', 'false') = 'true' then
    raise exception 'anonymous users cannot write' using errcode = '42501';
  end if;
  v_pass_text := nullif(current_setting('request.headers', true), '')::jsonb ->> 'x-rate-limit-pass';
  if v_pass_text ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
    v_pass := v_pass_text::uuid;
    update private.rate_limit_passes
    set uses_left = uses_left - 1
    where pass = v_pass and user_id = v_uid and uses_left > 0 and expires_at > now();
    if found then
      return;
    end if;
  end if;
  select * into v_rule from public.rate_limit_rules r
  where r.rule = case when v_method = 'POST' and v_path = '/uploads' then 'create-upload' else 'write' end;
  v_quota := private.count_hit('user:' || v_rule.rule || ':' || v_uid::text, v_rule.max_hits, v_rule.window_seconds);
  v_policy := format('"%s";q=%s;w=%s', v_rule.rule, v_quota ->> 'limit', v_quota ->> 'window');
  v_state := format('"%s";r=%s;t=%s', v_rule.rule, v_quota ->> 'remaining', v_quota ->> 'reset');
  if not (v_quota ->> 'allowed')::boolean then
    raise sqlstate 'PGRST' using
      message = json_build_object('code', 'RATE_LIMITED', 'message', 'Too many requests',
                                  'details', null, 'hint', null)::text,
      detail = json_build_object('status', 429, 'headers', json_build_object(
                 'Retry-After', v_quota ->> 'retryAfter', 'RateLimit-Policy', v_policy,
                 'RateLimit', v_state))::text;
  end if;
  perform set_config('response.headers',
    json_build_array(json_build_object('RateLimit-Policy', v_policy),
                     json_build_object('RateLimit', v_state))::text, true);
end;
$$;

revoke all on function private.check_request() from public;
grant usage on schema private to anon;
grant execute on function private.check_request() to anon, authenticated, service_role;

-- PostgREST reads its db-pre-request from the authenticator role's settings (in-database
-- configuration; on Supabase: `alter role authenticator set pgrst.db_pre_request`).
-- Scoped to this database, so other databases of the same cluster are unaffected.
do $$
begin
  execute format('alter role authenticator in database %I set pgrst.db_pre_request = %L',
                 current_database(), 'private.check_request');
end
$$;
notify pgrst, 'reload config';

-- ---------------------------------------------------------------------------------------
-- 4. Sign-in and refresh limits that a stranger cannot turn against a user.
-- ---------------------------------------------------------------------------------------

-- sign-in:email now counts failed attempts only, per email and client address (the
-- function hashes both into the subject): five wrong passwords from one address lock
-- that address out of that account, not the account's owner elsewhere.
update public.rate_limit_rules
set description = 'failed sign-ins per email address and client address'
where rule = 'sign-in:email';

insert into public.rate_limit_rules (rule, max_hits, window_seconds, key_kind, description) values
  ('refresh:ip', 60, 300, 'ip', 'session refreshes per client address');

-- Where a subject stands in its rule's current window, without counting a hit
-- (service role only).
create or replace function public.peek_subject_limit(p_rule text, p_subject text)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_rule public.rate_limit_rules;
  v_window timestamptz;
  v_hits integer;
  v_reset integer;
begin
  select * into v_rule from public.rate_limit_rules r where r.rule = p_rule and r.key_kind in ('ip', 'email');
  if v_rule.rule is null or coalesce(p_subject, '') = '' or char_length(p_subject) > 128 then
    raise exception 'unknown rule or bad subject' using errcode = '22023';
  end if;
  v_window := to_timestamp(floor(extract(epoch from now()) / v_rule.window_seconds) * v_rule.window_seconds);
  select coalesce(sum(c.hits), 0) into v_hits from private.rate_limit_counters c
  where c.key = v_rule.key_kind || ':' || v_rule.rule || ':' || p_subject and c.window_start = v_window;
  v_reset := greatest(1, ceil(extract(epoch from (v_window + make_interval(secs => v_rule.window_seconds) - now())))::integer);
  return jsonb_build_object(
    'rule', v_rule.rule,
    'allowed', v_hits < v_rule.max_hits,
    'hits', v_hits,
    'limit', v_rule.max_hits,
    'remaining', greatest(v_rule.max_hits - v_hits, 0),
    'window', v_rule.window_seconds,
    'reset', v_reset,
    'retryAfter', v_reset
  );
end;
$$;

revoke all on function public.peek_subject_limit(text, text) from public, anon, authenticated;
grant execute on function public.peek_subject_limit(text, text) to service_role;
