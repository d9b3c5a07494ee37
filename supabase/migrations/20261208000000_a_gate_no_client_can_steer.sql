-- A request gate no client can steer (issue 23, part 5).
--
-- 1. The rate-limit pass. A route whose first side effect is not a PostgREST write
--    (Supabase Auth, S3) is counted by the pipeline before its handler runs, and its own
--    PostgREST writes then carry a pass so the gate does not count them again. Until
--    now hit_route_limit, which any signed-in user may call, handed that pass back: a
--    client could mint passes and replay them on direct writes, uncounted (about 3.75x
--    the write limit). Now a pass is minted only by hit_route_limit_for, which only the
--    service role may call: the pipeline, with the claims of the token it verified
--    (their session checked here as the gate checks it, and their user the one counted).
--    hit_route_limit stays for a user counting their own hits, without a pass.
-- 2. What the gate recognises. It classified a write by the raw request path, while
--    PostgREST routes by the decoded one: `/rpc/create%5Fupload` ran create_upload but was
--    counted under `write`, not `create-upload`. The gate now decodes the path as
--    PostgREST does before it matches it.

-- ---------------------------------------------------------------------------------------
-- 1. Passes for the pipeline only
-- ---------------------------------------------------------------------------------------

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

-- ---------------------------------------------------------------------------------------
-- 2. The path as PostgREST routes it
-- ---------------------------------------------------------------------------------------

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

-- The request gate as in 20261207000000_sessions_end.sql, matching the decoded path.
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
