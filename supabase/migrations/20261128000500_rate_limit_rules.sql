-- One limiter for every route that asks for one. Fixed windows, counted atomically in
-- Postgres (where every Lambda instance meets): one upsert per hit. Limits per route
-- live in rate_limit_rules; the functions only name the rule.
--
-- - User-keyed limits: hit_route_limit(rule) derives the key inside SQL from auth.uid(),
--   so a user can only ever spend their own allowance, and cannot read or reset it
--   (counters live in schema private; no API role may touch them).
-- - Address- and email-keyed limits (sign-in, before anyone is authenticated):
--   hit_subject_limit(rule, subject), service role only.

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

insert into public.rate_limit_rules (rule, max_hits, window_seconds, key_kind, description) values
  ('sign-in:ip', 20, 300, 'ip', 'sign-in attempts per client address'),
  ('sign-in:email', 5, 300, 'email', 'sign-in attempts per email address'),
  ('create-upload', 20, 60, 'user', 'upload URLs per user'),
  ('write', 120, 60, 'user', 'default for every write route (POST, PUT, PATCH, DELETE) per user'),
  ('stream', 10, 60, 'user', 'event streams opened per user');

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

-- The old entry point keeps working for the service role, now through the core.
create or replace function public.hit_rate_limit(p_key text, p_limit integer, p_window_seconds integer)
returns jsonb
language sql
security definer
set search_path = ''
as $$
  select private.count_hit(p_key, p_limit, p_window_seconds);
$$;

-- A user-keyed hit on `p_rule` (unknown rules fall back to `write`). The key is
-- rule + the caller's own id: nobody can spend someone else's allowance.
create or replace function public.hit_route_limit(p_rule text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := (select auth.uid());
  v_rule public.rate_limit_rules;
begin
  if v_uid is null then
    raise exception 'not authenticated' using errcode = '42501';
  end if;
  select * into v_rule from public.rate_limit_rules r where r.rule = p_rule and r.key_kind = 'user';
  if v_rule.rule is null then
    select * into v_rule from public.rate_limit_rules r where r.rule = 'write';
  end if;
  return private.count_hit('user:' || v_rule.rule || ':' || v_uid::text, v_rule.max_hits, v_rule.window_seconds)
         || jsonb_build_object('rule', v_rule.rule);
end;
$$;

revoke all on function public.hit_route_limit(text) from public, anon;
grant execute on function public.hit_route_limit(text) to authenticated;

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
