-- The request gate: PostgREST's db-pre-request, run before every request inside its
-- transaction, as the request's role, so a client calling PostgREST directly meets the
-- same rules as the API. For a user token (role authenticated):
--   1. its session must be live (private.session_is_live, 12_sessions.sql), reads
--      included, else 401 SESSION_ENDED;
--   2. reads never count: GETs, and POSTs to stable or immutable functions, which
--      PostgREST runs in a read-only transaction;
--   3. anonymous sign-ins (Supabase Auth's is_anonymous) read, never write (42501);
--   4. in maintenance mode only admins write (503 MAINTENANCE,
--      08_settings_and_maintenance.sql);
--   5. a write carrying a pass the pipeline got from hit_route_limit_for goes through
--      uncounted (10_rate_limits.sql);
--   6. any other write counts against the caller's `create-upload` (POST /uploads or
--      /rpc/create_upload) or `write` rule, matched on the path as PostgREST decodes it,
--      with the RateLimit headers on the answer, or 429 RATE_LIMITED past the limit.
-- The service role and anon keys carry no session and are not affected.

-- `p_path` with its percent-encoded bytes decoded (UTF-8), as PostgREST decodes it to
-- find the table or function; unchanged when it holds no escape or does not decode.
create or replace function private.decoded_path(p_path text)
returns text
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
declare
  v_bytes bytea := ''::bytea;
  v_i integer := 1;
  v_char text;
begin
  if p_path is null or position('%' in p_path) = 0 then
    return p_path;
  end if;
  while v_i <= char_length(p_path) loop
    v_char := substr(p_path, v_i, 1);
    if v_char = '%' and substr(p_path, v_i + 1, 2) ~ '^[0-9A-Fa-f]{2}$' then
      v_bytes := v_bytes || decode(substr(p_path, v_i + 1, 2), 'hex');
      v_i := v_i + 3;
    else
      v_bytes := v_bytes || convert_to(v_char, 'UTF8');
      v_i := v_i + 1;
    end if;
  end loop;
  return convert_from(v_bytes, 'UTF8');
exception when others then
  return p_path;
end;
$$;

revoke all on function private.decoded_path(text) from public;

create or replace function private.check_request()
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_method text := current_setting('request.method', true);
  v_path text := private.decoded_path(current_setting('request.path', true));
  v_claims jsonb := auth.jwt();
  v_uid uuid;
  v_pass_text text;
  v_pass uuid;
  v_rule public.rate_limit_rules;
  v_quota jsonb;
  v_policy text;
  v_state text;
begin
  if coalesce(v_claims ->> 'role', '') <> 'authenticated' then
    return;
  end if;
  if not private.session_is_live(v_claims) then
    perform private.refuse_ended_session();
  end if;
  -- Reads never count: GETs, and POSTs to stable or immutable functions, which
  -- PostgREST runs in a read-only transaction (search_users, authorize, ...).
  -- hit_route_limit counts itself.
  if v_method is null or v_method not in ('POST', 'PUT', 'PATCH', 'DELETE')
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
  where r.rule = case when v_method = 'POST' and v_path in ('/uploads', '/rpc/create_upload')
                      then 'create-upload' else 'write' end;
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
