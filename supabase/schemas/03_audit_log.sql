-- The security audit trail.
--
-- audit_log is insert-only for every API role: rows are written by record_audit_event()
-- (security definer, executable by the service role only) and by the database's own
-- triggers; nobody updates or deletes them through the API. The service role reads it,
-- and so do admins ("audit_log: admins read", in 04_rbac.sql, where app roles are).
-- When a user leaves, their events keep the action and lose address, user agent and
-- hashed email (private.account_leaves, 15_accounts.sql).

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
  coalesce_key text unique,
  constraint audit_log_coalesce_key_bounded check (char_length(coalesce_key) <= 600)
);

-- GET /audit-log: newest first, ties by id.
create index audit_log_created_at_id_idx on public.audit_log (created_at desc, id desc);
create index audit_log_action_idx on public.audit_log (action, created_at desc);
-- A user's events oldest first (GET /me/export's audit part); it also serves the cascade
-- of a deleted user (actor_id set null).
create index audit_log_actor_id_created_at_idx on public.audit_log (actor_id, created_at, id);
-- Failed sign-ins name the address only as sha256(lower(email)) (functions/src/sessions.rs
-- email_key): found by this index when its owner leaves.
create index audit_log_email_key_idx on public.audit_log ((metadata ->> 'emailKey'))
  where metadata ? 'emailKey';

alter table public.audit_log enable row level security;

revoke all on table public.audit_log from anon, authenticated, service_role;
grant select on table public.audit_log to service_role;
-- Admins read through RLS ("audit_log: admins read", 04_rbac.sql).
grant select on table public.audit_log to authenticated;
-- No insert/update/delete policies and no such privileges: the table is written only
-- through record_audit_event() (which the database's own triggers call too).

-- One event; with p_coalesce, repeats of the same action, address, target and actor in
-- one minute count on one row (occurrences, last_seen_at). Service role only.
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

-- Every change to roles and settings, and admins' changes to other people's profiles, is
-- recorded by the database itself (triggers user_roles_audit in 04_rbac.sql,
-- app_settings_audit in 08_settings_and_maintenance.sql, profiles_audit in
-- 05_profiles.sql).
create or replace function private.audit_admin_change()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_actor uuid := (select auth.uid());
  v_action text;
  v_target text;
  v_meta jsonb;
begin
  -- An actor that no longer exists is the user being deleted (this change is the
  -- cascade of that delete): not an admin change, and not a valid actor_id.
  if v_actor is not null and not exists (select 1 from auth.users u where u.id = v_actor) then
    v_actor := null;
  end if;
  -- Changes made outside a user's request (migrations, sign-up defaults, cascades) are
  -- not admin changes.
  if v_actor is null then
    return coalesce(new, old);
  end if;
  if tg_table_name = 'user_roles' then
    v_action := 'ROLE_CHANGED';
    v_target := 'user:' || coalesce(new.user_id, old.user_id)::text;
    v_meta := jsonb_build_object('from', case when tg_op = 'INSERT' then null else old.role end,
                                 'to', case when tg_op = 'DELETE' then null else new.role end);
  elsif tg_table_name = 'app_settings' then
    if tg_op = 'UPDATE' and new.value is not distinct from old.value then
      return new;
    end if;
    v_action := 'SETTINGS_CHANGED';
    v_target := 'setting:' || new.key;
    v_meta := jsonb_build_object('from', case when tg_op = 'UPDATE' then old.value end, 'to', new.value);
  elsif tg_table_name = 'profiles' then
    -- Only changes made to someone else's profile.
    if v_actor = new.id then
      return new;
    end if;
    v_action := 'PROFILE_CHANGED';
    v_target := 'user:' || new.id::text;
    v_meta := jsonb_build_object('fields', (
      select coalesce(jsonb_agg(k), '[]'::jsonb) from jsonb_object_keys(to_jsonb(new)) k
      where to_jsonb(new) -> k is distinct from to_jsonb(old) -> k and k <> 'updated_at'));
  end if;
  perform public.record_audit_event(v_action, v_actor, v_target, v_meta, null, null, false);
  return coalesce(new, old);
end;
$$;

-- ---------------------------------------------------------------------------------------
-- GET /audit-log
-- ---------------------------------------------------------------------------------------

-- GET /audit-log: admins (RLS: "audit_log: admins read"), newest first.
create or replace function public.list_audit_log(p_limit integer default 20, p_offset integer default 0)
returns json
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_items json;
  v_total bigint;
  v_cap integer := private.exact_count_limit();
begin
  perform private.check_page(p_limit, p_offset);
  if public.current_app_role() is distinct from 'admin' then
    raise exception 'the audit log is for admins' using errcode = 'PT403',
      hint = 'Only admins may read the audit log';
  end if;
  select coalesce(json_agg(json_build_object(
           'id', x.id, 'actor_id', x.actor_id, 'action', x.action, 'target', x.target,
           'metadata', x.metadata, 'ip', x.ip, 'user_agent', x.user_agent,
           'occurrences', x.occurrences, 'created_at', x.created_at, 'last_seen_at', x.last_seen_at)
         order by x.created_at desc, x.id desc), '[]')
  into v_items
  from (select * from public.audit_log a order by a.created_at desc, a.id desc
        limit p_limit offset p_offset) x;
  select count(*) into v_total from (select 1 from public.audit_log limit v_cap + 1) c;
  if v_total > v_cap then
    select greatest(v_total, c.reltuples::bigint) into v_total
    from pg_catalog.pg_class c where c.oid = 'public.audit_log'::regclass;
  end if;
  return json_build_object('items', v_items, 'total', v_total);
end;
$$;

revoke all on function public.list_audit_log(integer, integer) from public, anon;
grant execute on function public.list_audit_log(integer, integer) to authenticated;
