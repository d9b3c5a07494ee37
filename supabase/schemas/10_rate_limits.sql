-- One limiter for every route that asks for one. Fixed windows, counted atomically in
-- Postgres (where every Lambda instance meets): one upsert per hit. Limits per route
-- live in rate_limit_rules; the functions only name the rule.
--
-- - User-keyed limits: hit_route_limit(rule) derives the key inside SQL from auth.uid(),
--   so a user can only ever spend their own allowance, and cannot read or reset it
--   (counters live in schema private; no API role may touch them).
-- - Address- and email-keyed limits (sign-in, before anyone is authenticated):
--   hit_subject_limit(rule, subject), service role only.
-- - The pipeline's count before a handler whose first side effect is not a PostgREST
--   write (Supabase Auth, S3): hit_route_limit_for(claims, rule), service role only,
--   which hands back a pass for that request's own PostgREST writes; the request gate
--   (14_request_gate.sql) counts every other write, straight to PostgREST included.

-- Fixed-window counters: one row per key and window, pruned as windows pass (and by the
-- sweep, 16_expiry_sweep.sql). Keys are built inside SQL (user-keyed) or from a subject
-- the service role passes (an address, a hash of an email).
create table private.rate_limit_counters (
  key text not null,
  window_start timestamptz not null,
  window_seconds integer not null check (window_seconds > 0),
  -- When this window ends (window_start + window_seconds), for pruning.
  expires_at timestamptz not null,
  hits integer not null default 0,
  primary key (key, window_start),
  constraint rate_limit_counters_key_bounded check (char_length(key) <= 200)
);
create index rate_limit_counters_expires_at_idx on private.rate_limit_counters (expires_at);

create table public.rate_limit_rules (
  rule text primary key check (rule ~ '^[a-z][a-z0-9:-]{0,63}$'),
  max_hits integer not null check (max_hits between 1 and 1000000),
  window_seconds integer not null check (window_seconds between 1 and 86400),
  key_kind text not null check (key_kind in ('user', 'ip', 'email')),
  description text
);

alter table public.rate_limit_rules enable row level security;
revoke all on table public.rate_limit_rules from anon, authenticated;
-- No policies: the rules are read by the definer functions below (and the service role).

-- Reference rows: the limits (sign-in:email counts failed sign-ins only, per email and
-- client address, so a stranger's wrong passwords lock out their own address, not the
-- account's owner elsewhere).
insert into public.rate_limit_rules (rule, max_hits, window_seconds, key_kind, description) values
  ('sign-in:ip', 20, 300, 'ip', 'sign-in attempts per client address'),
  ('sign-in:email', 5, 300, 'email', 'failed sign-ins per email address and client address'),
  ('create-upload', 20, 60, 'user', 'upload URLs per user'),
  ('write', 120, 60, 'user', 'default for every write route (POST, PUT, PATCH, DELETE) per user'),
  ('stream', 10, 60, 'user', 'event streams opened per user'),
  ('refresh:ip', 60, 300, 'ip', 'session refreshes per client address'),
  ('sign-up:ip', 10, 3600, 'ip', 'sign-ups per client address'),
  ('magic-link:ip', 20, 300, 'ip', 'email links asked for per client address'),
  ('magic-link:email', 3, 300, 'email', 'email links asked for per email address');

-- The counting core (not callable through the API).
create or replace function private.count_hit(p_key text, p_limit integer, p_window_seconds integer)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_window timestamptz;
  v_hits integer;
  v_reset integer;
begin
  if p_key is null or p_limit is null or p_window_seconds is null
     or char_length(p_key) > 200 or p_limit < 1 or p_window_seconds < 1 then
    raise exception 'invalid rate limit arguments' using errcode = '22023';
  end if;
  v_window := to_timestamp(floor(extract(epoch from now()) / p_window_seconds) * p_window_seconds);
  insert into private.rate_limit_counters as c (key, window_start, window_seconds, expires_at, hits)
  values (p_key, v_window, p_window_seconds, v_window + make_interval(secs => p_window_seconds), 1)
  on conflict (key, window_start) do update
    set hits = c.hits + 1,
        -- A rule whose window changed keeps counting in the longer of the two.
        window_seconds = excluded.window_seconds,
        expires_at = greatest(c.expires_at, excluded.expires_at)
  returning hits into v_hits;
  delete from private.rate_limit_counters
  where ctid in (
    select ctid from private.rate_limit_counters
    where expires_at < now() - interval '1 minute'
    limit 100
  );
  v_reset := greatest(1, ceil(extract(epoch from (v_window + make_interval(secs => p_window_seconds) - now())))::integer);
  return jsonb_build_object(
    'allowed', v_hits <= p_limit,
    'hits', v_hits,
    'limit', p_limit,
    'remaining', greatest(p_limit - v_hits, 0),
    'window', p_window_seconds,
    'reset', v_reset,
    'retryAfter', v_reset
  );
end;
$$;

revoke all on function private.count_hit(text, integer, integer) from public, anon, authenticated, service_role;

-- The first entry point (a key, a limit and a window), for the service role.
create or replace function public.hit_rate_limit(p_key text, p_limit integer, p_window_seconds integer)
returns jsonb
language sql
security definer
set search_path = ''
as $$
  select private.count_hit(p_key, p_limit, p_window_seconds);
$$;

revoke all on function public.hit_rate_limit(text, integer, integer) from public, anon, authenticated;
grant execute on function public.hit_rate_limit(text, integer, integer) to service_role;

-- An address- or email-keyed hit (service role only; the caller passes the subject,
-- an IP address or a hash of an email).
create or replace function public.hit_subject_limit(p_rule text, p_subject text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_rule public.rate_limit_rules;
begin
  select * into v_rule from public.rate_limit_rules r where r.rule = p_rule and r.key_kind in ('ip', 'email');
  if v_rule.rule is null or coalesce(p_subject, '') = '' or char_length(p_subject) > 128 then
    raise exception 'unknown rule or bad subject' using errcode = '22023';
  end if;
  return private.count_hit(v_rule.key_kind || ':' || v_rule.rule || ':' || p_subject, v_rule.max_hits, v_rule.window_seconds)
         || jsonb_build_object('rule', v_rule.rule);
end;
$$;

revoke all on function public.hit_subject_limit(text, text) from public, anon, authenticated;
grant execute on function public.hit_subject_limit(text, text) to service_role;

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

-- Gives back one hit of a subject-keyed rule in its current window (service role): the
-- API reserved a failed sign-in before asking Supabase Auth (hit_subject_limit, one
-- atomic upsert, refused at the limit), and the password was right; so parallel wrong
-- passwords cannot pass the limit between a check and a count.
create or replace function public.release_subject_hit(p_rule text, p_subject text)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_rule public.rate_limit_rules;
  v_window timestamptz;
begin
  select * into v_rule from public.rate_limit_rules r where r.rule = p_rule and r.key_kind in ('ip', 'email');
  if v_rule.rule is null or coalesce(p_subject, '') = '' or char_length(p_subject) > 128 then
    raise exception 'unknown rule or bad subject' using errcode = '22023';
  end if;
  v_window := to_timestamp(floor(extract(epoch from now()) / v_rule.window_seconds) * v_rule.window_seconds);
  update private.rate_limit_counters c
  set hits = greatest(c.hits - 1, 0)
  where c.key = v_rule.key_kind || ':' || v_rule.rule || ':' || p_subject and c.window_start = v_window;
end;
$$;

revoke all on function public.release_subject_hit(text, text) from public, anon, authenticated;
grant execute on function public.release_subject_hit(text, text) to service_role;

-- One counted hit on an address- or email-keyed rule, with the site's two switches, in
-- one call (service role): what an auth route needs before it calls Supabase Auth.
create or replace function public.hit_auth_limit(p_rule text, p_subject text)
returns jsonb
language sql
security definer
set search_path = ''
as $$
  select public.hit_subject_limit(p_rule, p_subject) || jsonb_build_object(
    'signupsEnabled', private.site_switch('signups_enabled', true),
    'maintenanceMode', private.site_switch('maintenance_mode', false));
$$;

revoke all on function public.hit_auth_limit(text, text) from public, anon, authenticated;
grant execute on function public.hit_auth_limit(text, text) to service_role;

-- ---------------------------------------------------------------------------------------
-- User-keyed limits and the pipeline's passes
-- ---------------------------------------------------------------------------------------

-- The pipeline counts a route before its handler, then the handler's own PostgREST writes
-- carry a pass (the X-Rate-Limit-Pass header) that lets them through the request gate
-- without a second count. A pass is random, bound to the user, short-lived and good for a
-- few writes; only the service role mints one (hit_route_limit_for), for the token the
-- pipeline verified; clients never see it.
create table private.rate_limit_passes (
  pass uuid primary key,
  user_id uuid not null,
  uses_left integer not null check (uses_left >= 0),
  expires_at timestamptz not null
);
create index rate_limit_passes_expires_at_idx on private.rate_limit_passes (expires_at);

-- One user-keyed hit on `p_rule` (unknown rules count under `write`) for the user whose
-- claims are the request's (auth.uid()); with the pass when asked and allowed. The body
-- of both entry points below.
create or replace function private.hit_route(p_rule text, p_with_pass boolean)
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
  -- Every user-keyed rule counts writes, but the stream's (opening a stream reads).
  if p_rule is distinct from 'stream' then
    perform private.refuse_writes_in_maintenance();
  end if;
  select * into v_rule from public.rate_limit_rules r where r.rule = p_rule and r.key_kind = 'user';
  if v_rule.rule is null then
    select * into v_rule from public.rate_limit_rules r where r.rule = 'write';
  end if;
  v_quota := private.count_hit('user:' || v_rule.rule || ':' || v_uid::text, v_rule.max_hits, v_rule.window_seconds)
             || jsonb_build_object('rule', v_rule.rule);
  if p_with_pass and (v_quota ->> 'allowed')::boolean then
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

revoke all on function private.hit_route(text, boolean) from public;

-- A signed-in user's own hit (counting only: no pass).
create or replace function public.hit_route_limit(p_rule text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
  return private.hit_route(p_rule, false);
end;
$$;

revoke all on function public.hit_route_limit(text) from public, anon;
grant execute on function public.hit_route_limit(text) to authenticated;

-- The pipeline's hit before a handler (service role only): for the user of `p_claims`
-- (the token the pipeline verified), refused as the gate refuses them (an ended session
-- 401, an anonymous user's write 403), and with the pass its PostgREST writes carry.
create or replace function public.hit_route_limit_for(p_claims jsonb, p_rule text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
  if coalesce(p_claims ->> 'role', '') <> 'authenticated' then
    raise exception 'not a user token' using errcode = '22023';
  end if;
  if not private.session_is_live(p_claims) then
    perform private.refuse_ended_session();
  end if;
  if coalesce(p_claims ->> 'is_anonymous', 'false') = 'true' and p_rule is distinct from 'stream' then
    raise exception 'anonymous users cannot write' using errcode = '42501';
  end if;
  -- The rest of this transaction (one RPC) runs for that user: auth.uid() and the
  -- maintenance check read the claims.
  perform set_config('request.jwt.claims', p_claims::text, true);
  return private.hit_route(p_rule, true);
end;
$$;

revoke all on function public.hit_route_limit_for(jsonb, text) from public, anon, authenticated;
grant execute on function public.hit_route_limit_for(jsonb, text) to service_role;
