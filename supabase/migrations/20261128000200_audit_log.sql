-- Security audit trail and the sign-in rate-limit counters.
--
-- audit_log is insert-only for every API role: rows are written by
-- record_audit_event() (security definer, executable by service_role only) and nobody
-- may update or delete them through the API. Reading: service_role only for now (the
-- RBAC migration grants it to admins).

create table public.audit_log (
  id uuid primary key default gen_random_uuid(),
  actor_id uuid references auth.users (id) on delete set null,
  action text not null check (action ~ '^[A-Z_]{1,64}$'),
  target text check (char_length(target) <= 200),
  metadata jsonb not null default '{}'::jsonb check (pg_column_size(metadata) <= 8192),
  ip inet,
  user_agent text check (char_length(user_agent) <= 512),
  occurrences integer not null default 1 check (occurrences >= 1),
  created_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  -- Set for coalesced events: one row per action, address, target and minute.
  coalesce_key text unique
);

create index audit_log_created_at_idx on public.audit_log (created_at desc);
create index audit_log_actor_id_idx on public.audit_log (actor_id);
create index audit_log_action_idx on public.audit_log (action, created_at desc);

alter table public.audit_log enable row level security;

revoke all on table public.audit_log from anon, authenticated, service_role;
grant select on table public.audit_log to service_role;
-- No insert/update/delete policies and no such privileges: the table is written only
-- through record_audit_event().

create or replace function public.record_audit_event(
  p_action text,
  p_actor uuid default null,
  p_target text default null,
  p_metadata jsonb default '{}'::jsonb,
  p_ip text default null,
  p_user_agent text default null,
  p_coalesce boolean default false
)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_ip inet;
  v_key text;
begin
  begin
    v_ip := nullif(p_ip, '')::inet;
  exception when others then
    v_ip := null;
  end;
  if p_coalesce then
    v_key := concat_ws('|', p_action, coalesce(host(v_ip), '-'), coalesce(p_target, '-'),
                       coalesce(p_actor::text, '-'), to_char(date_trunc('minute', now()), 'YYYYMMDDHH24MI'));
  end if;
  insert into public.audit_log as a (actor_id, action, target, metadata, ip, user_agent, coalesce_key)
  values (
    p_actor,
    p_action,
    left(p_target, 200),
    coalesce(p_metadata, '{}'::jsonb),
    v_ip,
    left(p_user_agent, 512),
    v_key
  )
  on conflict (coalesce_key) do update
    set occurrences = a.occurrences + 1,
        last_seen_at = now();
end;
$$;

revoke all on function public.record_audit_event(text, uuid, text, jsonb, text, text, boolean) from public, anon, authenticated;
grant execute on function public.record_audit_event(text, uuid, text, jsonb, text, text, boolean) to service_role;

-- Fixed-window counters for sign-in attempts (per address and per email). Keys are
-- built by the caller (the email part is a hash); old windows are pruned as they pass.
create table private.rate_limit_counters (
  key text not null,
  window_start timestamptz not null,
  window_seconds integer not null check (window_seconds > 0),
  -- When this window ends (window_start + window_seconds), for pruning.
  expires_at timestamptz not null,
  hits integer not null default 0,
  primary key (key, window_start)
);
create index rate_limit_counters_expires_at_idx on private.rate_limit_counters (expires_at);

-- One hit on `p_key` in the current window of `p_window_seconds`. Returns whether the
-- hit is within `p_limit` and, if not, the seconds until the window ends.
create or replace function public.hit_rate_limit(p_key text, p_limit integer, p_window_seconds integer)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_window timestamptz;
  v_hits integer;
begin
  if p_key is null or p_limit is null or p_window_seconds is null
     or char_length(p_key) > 200 or p_limit < 1 or p_window_seconds < 1 then
    raise exception 'invalid rate limit arguments' using errcode = '22023';
  end if;
  v_window := to_timestamp(floor(extract(epoch from now()) / p_window_seconds) * p_window_seconds);
  insert into private.rate_limit_counters as c (key, window_start, window_seconds, expires_at, hits)
  values (p_key, v_window, p_window_seconds, v_window + make_interval(secs => p_window_seconds), 1)
  on conflict (key, window_start) do update set hits = c.hits + 1
  returning hits into v_hits;
  -- Prune counters whose own window ended (cheap: indexed, a few rows at a time), so
  -- the table cannot grow without bound.
  delete from private.rate_limit_counters
  where ctid in (
    select ctid from private.rate_limit_counters
    where expires_at < now() - interval '1 minute'
    limit 100
  );
  return jsonb_build_object(
    'allowed', v_hits <= p_limit,
    'hits', v_hits,
    'limit', p_limit,
    'retryAfter', greatest(1, ceil(extract(epoch from (v_window + make_interval(secs => p_window_seconds) - now())))::integer)
  );
end;
$$;

revoke all on function public.hit_rate_limit(text, integer, integer) from public, anon, authenticated;
grant execute on function public.hit_rate_limit(text, integer, integer) to service_role;
