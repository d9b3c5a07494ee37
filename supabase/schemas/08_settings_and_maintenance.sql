-- Application settings (GET/PUT /settings): validated key/value pairs, read by
-- settings.read holders and written by settings.write holders; two of them are the
-- site's switches (maintenance_mode, signups_enabled).

create table public.app_settings (
  key text primary key check (key ~ '^[a-z][a-z0-9_]{0,62}$'),
  value jsonb not null check (pg_column_size(value) <= 4096),
  updated_by uuid references auth.users (id) on delete set null default auth.uid(),
  updated_at timestamptz not null default now(),
  -- The typed set the API writes (settings.write holders only, but still). The site
  -- name is a short_name (02_text_types.sql; a value the domain refuses fails with 23514).
  constraint app_settings_value_rule check (
    case key
      when 'site_name' then jsonb_typeof(value) = 'string'
        and (value #>> '{}')::public.short_name is not null
      when 'support_email' then jsonb_typeof(value) = 'string'
        and char_length(value #>> '{}') <= 254 and (value #>> '{}') ~ '^[^@[:space:][:cntrl:]]+@[^@[:space:][:cntrl:]]+$'
      when 'maintenance_mode' then jsonb_typeof(value) = 'boolean'
      when 'signups_enabled' then jsonb_typeof(value) = 'boolean'
      else true
    end
  )
);

create trigger app_settings_set_updated_at
  before update on public.app_settings
  for each row execute function private.set_updated_at();

create index app_settings_updated_by_idx on public.app_settings (updated_by);

-- Who changed a setting last (the default covers only new rows).
create or replace function private.set_updated_by()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_by := coalesce((select auth.uid()), new.updated_by);
  return new;
end;
$$;

create trigger app_settings_set_updated_by
  before update on public.app_settings
  for each row execute function private.set_updated_by();

alter table public.app_settings enable row level security;
revoke all on table public.app_settings from anon;
revoke insert, update, delete, truncate on table public.app_settings from authenticated;
-- (update on key too: PostgREST's upsert sets every column it was sent.)
grant insert (key, value) on table public.app_settings to authenticated;
grant update (key, value) on table public.app_settings to authenticated;

create policy "app_settings: settings.read" on public.app_settings
  for select to authenticated using ((select public.authorize('settings.read')));
create policy "app_settings: settings.write inserts" on public.app_settings
  for insert to authenticated with check ((select public.authorize('settings.write')));
create policy "app_settings: settings.write updates" on public.app_settings
  for update to authenticated
  using ((select public.authorize('settings.write')))
  with check ((select public.authorize('settings.write')));

-- Settings changes are audited (03_audit_log.sql).
create trigger app_settings_audit
  after insert or update on public.app_settings
  for each row execute function private.audit_admin_change();

-- Reference rows: the settings every project starts with.
insert into public.app_settings (key, value, updated_by) values
  ('site_name', '"My app"', null),
  ('support_email', '"support@example.com"', null),
  ('maintenance_mode', 'false', null),
  ('signups_enabled', 'true', null);

-- GET /settings: settings.read holders (in user_roles now, not only in the token).
create or replace function public.get_settings()
returns json
language plpgsql
stable
security invoker
set search_path = ''
as $$
begin
  if not public.authorize('settings.read') then
    raise exception 'reading settings needs settings.read' using errcode = 'PT403',
      hint = 'This needs the settings.read permission';
  end if;
  return coalesce((select json_agg(json_build_object('key', s.key, 'value', s.value))
                   from public.app_settings s), '[]');
end;
$$;

revoke all on function public.get_settings() from public, anon;
grant execute on function public.get_settings() to authenticated;

-- ---------------------------------------------------------------------------------------
-- Maintenance mode
-- ---------------------------------------------------------------------------------------

-- maintenanceMode (issue 14): while app_settings.maintenance_mode is true, every write
-- by a user whose app role is not admin is refused with 503 and Retry-After, by the
-- database itself, so a write sent straight to PostgREST obeys it like the API's:
--   - the request gate (private.check_request, PostgREST's db-pre-request) refuses
--     every POST, PUT, PATCH and DELETE that is not a read-only function call, before
--     anything is written;
--   - the user-keyed rate-limit hit (private.hit_route: hit_route_limit, and
--     hit_route_limit_for, the pipeline's count before a handler whose first side effect
--     is not a PostgREST write: Supabase Auth, S3, the service role) refuses it too, so
--     those routes stop before they start.
-- Admins keep writing (to turn it off, among others). The role is the database's
-- (user_roles), not the token's: a demoted admin's older token is not enough. Reads,
-- sign-ins and the service role's own writes go on. PostgREST answers
-- 503 {"code": "MAINTENANCE", "details": "Retry after 300 seconds", ...} with
-- Retry-After (PostgREST 12 sends its own `Retry-After: 0` on every 503 first, hence the
-- seconds in `details` too); the API answers 503 MAINTENANCE with one Retry-After: 300.

-- A boolean switch of app_settings (maintenance_mode, signups_enabled), `p_default` when
-- the row is missing. One place reads them, for the gate, the auth routes and the hook.
create or replace function private.site_switch(p_key text, p_default boolean)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce((select s.value = 'true'::jsonb from public.app_settings s where s.key = p_key), p_default);
$$;

create or replace function private.refuse_writes_in_maintenance()
returns void
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  if private.site_switch('maintenance_mode', false)
     and public.current_app_role() is distinct from 'admin' then
    raise sqlstate 'PGRST' using
      message = json_build_object('code', 'MAINTENANCE',
                                  'message', 'The service is down for maintenance; try again later',
                                  'details', format('Retry after %s seconds', private.maintenance_retry_after()),
                                  'hint', null)::text,
      detail = json_build_object('status', 503,
                                 'headers', json_build_object('Retry-After', private.maintenance_retry_after()::text))::text;
  end if;
end;
$$;

-- How long clients are told to wait (seconds). One place, so the API documents the same.
create or replace function private.maintenance_retry_after()
returns integer
language sql
immutable
parallel safe
set search_path = ''
as $$
  select 300;
$$;

-- Called only by security definer functions (as their owner): no API role may call them.
revoke all on function private.site_switch(text, boolean) from public;
revoke all on function private.refuse_writes_in_maintenance() from public;
revoke all on function private.maintenance_retry_after() from public;
