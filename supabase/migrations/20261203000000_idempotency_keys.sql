-- Idempotency keys on every create and on publish (issue 15, part 3).
--
-- A client that retries a POST (a mobile app on a flaky network) sends the same
-- `Idempotency-Key` header (draft-ietf-httpapi-idempotency-key-header) and gets the
-- first answer back instead of a second workspace, project, post, upload or user. The
-- key is read here, from the request's headers, so the API and a client calling
-- PostgREST directly get the same behaviour:
--   - the same user, key and request within 24 hours: the first answer, with
--     `Idempotent-Replayed: true`;
--   - the same key for a different request (another body or another route): 422
--     IDEMPOTENCY_KEY_REUSED;
--   - a duplicate sent while the first is still running: it waits on the first's row
--     lock (the claim and the create are one transaction), then replays its answer, or
--     runs itself if the first failed (a failed create stores nothing: its transaction,
--     claim included, is rolled back). POST /users runs partly outside the database
--     (Supabase Auth), so its claim commits first and a duplicate meanwhile gets 409
--     IDEMPOTENCY_IN_PROGRESS.
-- Keys are per user (primary key (user_id, key)); the requests are compared by a hash of
-- the create's arguments as the function received them (JSON, so whitespace and key
-- order do not matter). Expired keys are deleted by their owner's next claim: the cost
-- follows the caller's own rows.

create table private.idempotency_keys (
  user_id uuid not null references auth.users (id) on delete cascade,
  key text not null check (key ~ '^[!-~]{1,255}$'),
  -- What the key was first used for: the create function's name.
  operation text not null,
  request_hash text not null,
  -- The first answer; null while a claim made outside a transaction is running.
  response jsonb,
  created_at timestamptz not null default now(),
  primary key (user_id, key)
);

revoke all on table private.idempotency_keys from public, anon, authenticated;

-- Appends one header to the answer PostgREST sends (`response.headers`), keeping the
-- ones already set in this request (the request gate's RateLimit headers).
create or replace function private.add_response_header(p_name text, p_value text)
returns void
language sql
set search_path = ''
as $$
  select set_config('response.headers',
    (coalesce(nullif(current_setting('response.headers', true), '')::jsonb, '[]'::jsonb)
      || jsonb_build_array(jsonb_build_object(p_name, p_value)))::text, true);
$$;

-- Refuses the request with PostgREST's answer for it: status, the API's error code and
-- message (and details), and headers (`raise sqlstate 'PGRST'`, PostgREST 12).
create or replace function private.refuse(
  p_status integer,
  p_code text,
  p_message text,
  p_details text default null,
  p_headers json default '{}'
)
returns void
language plpgsql
set search_path = ''
as $$
begin
  raise sqlstate 'PGRST' using
    message = json_build_object('code', p_code, 'message', p_message,
                                'details', p_details, 'hint', null)::text,
    detail = json_build_object('status', p_status, 'headers', p_headers)::text;
end;
$$;

-- The request's Idempotency-Key header (null when it sent none); the shape the API
-- checks too: 1 to 255 visible ASCII characters.
create or replace function private.request_idempotency_key()
returns text
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_key text := nullif(current_setting('request.headers', true), '')::jsonb ->> 'idempotency-key';
begin
  if v_key is not null and v_key !~ '^[!-~]{1,255}$' then
    perform private.refuse(422, 'VALIDATION_ERROR',
      'Idempotency-Key must be 1 to 255 visible ASCII characters',
      'Idempotency-Key: 1 to 255 characters from ! to ~ (no spaces)');
  end if;
  return v_key;
end;
$$;

-- For a create running as the caller: the first answer when this user already made
-- this request with this key, else null after claiming the key in the caller's
-- transaction (the create then calls private.idempotent_store with its answer).
-- p_operation is the create's name; p_request what makes two requests the same.
create or replace function private.idempotent_replay(p_operation text, p_request jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := (select auth.uid());
  v_key text := private.request_idempotency_key();
  v_hash text;
  v_row private.idempotency_keys;
begin
  if v_key is null or v_uid is null then
    return null;
  end if;
  v_hash := encode(sha256(convert_to(p_operation || ' ' || p_request::text, 'UTF8')), 'hex');
  -- Waits while another transaction holds an uncommitted claim of the same key.
  insert into private.idempotency_keys (user_id, key, operation, request_hash)
  values (v_uid, v_key, p_operation, v_hash)
  on conflict (user_id, key) do nothing;
  if found then
    delete from private.idempotency_keys k
    where k.user_id = v_uid and k.created_at < now() - interval '24 hours';
    return null;
  end if;
  select * into v_row from private.idempotency_keys k
  where k.user_id = v_uid and k.key = v_key
  for update;
  if v_row.user_id is null then
    -- Released (POST /users failed) between the insert and here: claim again.
    return private.idempotent_replay(p_operation, p_request);
  end if;
  -- Expired, or a claim outside a transaction that never finished (its function
  -- stopped): the key is free again.
  if v_row.created_at < now() - interval '24 hours'
     or (v_row.response is null and v_row.created_at < now() - interval '60 seconds') then
    update private.idempotency_keys k
    set operation = p_operation, request_hash = v_hash, response = null, created_at = now()
    where k.user_id = v_uid and k.key = v_key;
    return null;
  end if;
  if v_row.request_hash <> v_hash then
    perform private.refuse(422, 'IDEMPOTENCY_KEY_REUSED',
      'This Idempotency-Key was already used for a different request');
  end if;
  if v_row.response is null then
    perform private.refuse(409, 'IDEMPOTENCY_IN_PROGRESS',
      'A request with this Idempotency-Key is still running; retry shortly',
      p_headers => json_build_object('Retry-After', '1'));
  end if;
  perform private.add_response_header('Idempotent-Replayed', 'true');
  return v_row.response;
end;
$$;

-- The create's answer, for the key private.idempotent_replay claimed in this request.
create or replace function private.idempotent_store(p_response jsonb)
returns void
language sql
security definer
set search_path = ''
as $$
  update private.idempotency_keys k
  set response = p_response
  where k.user_id = (select auth.uid()) and k.key = private.request_idempotency_key();
$$;

revoke all on function private.refuse(integer, text, text, text, json) from public;
revoke all on function private.add_response_header(text, text) from public;
revoke all on function private.request_idempotency_key() from public;
revoke all on function private.idempotent_replay(text, jsonb) from public;
revoke all on function private.idempotent_store(jsonb) from public;
-- The create functions run as the caller (security invoker) and call these.
grant execute on function private.request_idempotency_key(),
  private.idempotent_replay(text, jsonb), private.idempotent_store(jsonb) to authenticated;

-- POST /workspaces
create or replace function public.create_workspace(name text)
returns public.workspaces
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_user uuid := (select auth.uid());
  v_workspace public.workspaces;
  v_replay jsonb;
begin
  if v_user is null or (select auth.role()) is distinct from 'authenticated' then
    raise exception 'not authenticated' using errcode = '42501';
  end if;
  v_replay := private.idempotent_replay('create_workspace',
    jsonb_build_object('name', create_workspace.name));
  if v_replay is not null then
    return jsonb_populate_record(null::public.workspaces, v_replay);
  end if;
  insert into public.workspaces (name, created_by)
  values (create_workspace.name, v_user)
  returning * into v_workspace;
  insert into public.workspace_members (workspace_id, user_id, role)
  values (v_workspace.id, v_user, 'admin');
  perform private.idempotent_store(to_jsonb(v_workspace));
  return v_workspace;
end;
$$;

-- POST /projects
create or replace function public.create_project(
  p_workspace_id uuid,
  p_name text,
  p_description text default null
)
returns json
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_project public.projects;
  v_replay jsonb;
begin
  perform private.require_workspace_role(p_workspace_id, '{admin,editor}');
  v_replay := private.idempotent_replay('create_project', jsonb_build_object(
    'workspace_id', p_workspace_id, 'name', p_name, 'description', p_description));
  if v_replay is not null then
    return v_replay::json;
  end if;
  insert into public.projects (workspace_id, name, description)
  values (p_workspace_id, p_name, p_description)
  returning * into v_project;
  perform private.idempotent_store(to_jsonb(v_project));
  return row_to_json(v_project);
end;
$$;

-- POST /posts: the insert as the caller (RLS and the publishing guard decide), so a
-- key can come with it.
create or replace function public.create_post(p_title text, p_body text default '')
returns json
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_post public.posts;
  v_replay jsonb;
begin
  v_replay := private.idempotent_replay('create_post',
    jsonb_build_object('title', p_title, 'body', p_body));
  if v_replay is not null then
    return v_replay::json;
  end if;
  insert into public.posts (title, body)
  values (p_title, coalesce(p_body, ''))
  returning * into v_post;
  perform private.idempotent_store(to_jsonb(v_post));
  return row_to_json(v_post);
end;
$$;

-- POST /posts/{id}/publish: as the caller (RLS, and the guard lets posts.publish
-- holders alone publish); PT404 when the caller cannot see or change the post.
create or replace function public.publish_post(p_id uuid)
returns json
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_post public.posts;
  v_replay jsonb;
begin
  v_replay := private.idempotent_replay('publish_post', jsonb_build_object('id', p_id));
  if v_replay is not null then
    return v_replay::json;
  end if;
  update public.posts set published = true
  where id = p_id
  returning * into v_post;
  if v_post.id is null then
    raise exception 'no such post' using errcode = 'PT404', hint = 'Post';
  end if;
  perform private.idempotent_store(to_jsonb(v_post));
  return row_to_json(v_post);
end;
$$;

-- POST /uploads: the pending row under the caller's own prefix (the function presigns
-- the PUT from its id). The id is the client's request's, not part of what makes two
-- requests the same: a replay answers the first upload, id and all.
create or replace function public.create_upload(
  p_id uuid,
  p_original_name text,
  p_content_type text,
  p_size_bytes bigint
)
returns json
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_upload public.uploads;
  v_answer jsonb;
begin
  v_answer := private.idempotent_replay('create_upload', jsonb_build_object(
    'original_name', p_original_name, 'content_type', p_content_type,
    'size_bytes', p_size_bytes));
  if v_answer is not null then
    return v_answer::json;
  end if;
  insert into public.uploads (id, object_key, original_name, content_type, size_bytes)
  values (p_id, 'pending/' || (select auth.uid())::text || '/' || p_id::text,
          p_original_name, p_content_type, p_size_bytes)
  returning * into v_upload;
  v_answer := to_jsonb(v_upload) - 'object_key';
  perform private.idempotent_store(v_answer);
  return v_answer::json;
end;
$$;

-- POST /users, outside one transaction: the function claims the key first (a committed
-- claim without an answer: a duplicate meanwhile gets 409), creates the account in
-- Supabase Auth, then finish_user_creation sets role and profile and stores the answer.
-- On failure it releases the claim. null: claimed, go on; otherwise the first answer.
create or replace function public.claim_idempotency_key(p_operation text, p_request jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
  if private.request_idempotency_key() is null then
    perform private.refuse(422, 'VALIDATION_ERROR', 'Send the key in the Idempotency-Key header');
  end if;
  return private.idempotent_replay(p_operation, p_request);
end;
$$;

-- Gives up the caller's own claim that has no answer yet (the create failed).
create or replace function public.release_idempotency_key()
returns void
language sql
security definer
set search_path = ''
as $$
  delete from private.idempotency_keys k
  where k.user_id = (select auth.uid()) and k.key = private.request_idempotency_key()
    and k.response is null;
$$;

-- POST /users, last step: the new user's role and display name, as the calling admin
-- (RLS: users.write), in one transaction, and the answer stored for the request's key.
-- 42501 when the caller may not (no row changed).
create or replace function public.finish_user_creation(p_id uuid, p_role public.app_role, p_name text)
returns jsonb
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_profile public.profiles;
  v_answer jsonb;
begin
  update public.user_roles set role = p_role where user_id = p_id;
  if not found then
    raise exception 'users.write needed' using errcode = '42501';
  end if;
  update public.profiles set full_name = p_name where id = p_id
  returning * into v_profile;
  if v_profile.id is null then
    raise exception 'users.write needed' using errcode = '42501';
  end if;
  -- The profile as the API reads it (with profile_emails embedded), and the role.
  v_answer := to_jsonb(v_profile) || jsonb_build_object('role', p_role,
    'profile_emails', (select jsonb_build_object('email', e.email)
                       from public.profile_emails e where e.id = p_id));
  perform private.idempotent_store(v_answer);
  return v_answer;
end;
$$;

revoke all on function public.create_post(text, text), public.publish_post(uuid),
  public.create_upload(uuid, text, text, bigint),
  public.claim_idempotency_key(text, jsonb), public.release_idempotency_key(),
  public.finish_user_creation(uuid, public.app_role, text) from public, anon;
grant execute on function public.create_post(text, text), public.publish_post(uuid),
  public.create_upload(uuid, text, text, bigint),
  public.claim_idempotency_key(text, jsonb), public.release_idempotency_key(),
  public.finish_user_creation(uuid, public.app_role, text) to authenticated;

-- The request gate as in 20261202200000_maintenance_mode.sql, counting create_upload (the
-- API's POST /uploads now) under create-upload as a direct insert into uploads is.
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
