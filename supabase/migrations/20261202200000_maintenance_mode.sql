-- maintenanceMode (issue 14): while app_settings.maintenance_mode is true, every write
-- by a user whose app role is not admin is refused with 503 and Retry-After, by the
-- database itself, so a write sent straight to PostgREST obeys it like the API's:
--   - the request gate (private.check_request, PostgREST's db-pre-request) refuses
--     every POST, PUT, PATCH and DELETE that is not a read-only function call, before
--     anything is written;
--   - hit_route_limit (the pipeline's count before a handler whose first side effect is
--     not a PostgREST write: Supabase Auth, S3, the service role) refuses it too, so those
--     routes stop before they start.
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

-- The same two functions as in 20261201000000_database_refuses.sql, each with the check.
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
  perform private.refuse_writes_in_maintenance();
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

