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
-- order do not matter). Expired keys are deleted by their owner's next claim and by the
-- sweep (16_expiry_sweep.sql); a user keeps at most the newest
-- private.idempotency_keys_per_user() keys.

create table private.idempotency_keys (
  user_id uuid not null references auth.users (id) on delete cascade,
  key text not null check (key ~ '^[!-~]{1,255}$'),
  -- What the key was first used for: the create function's name.
  operation text not null,
  request_hash text not null,
  -- The first answer; null while a claim made outside a transaction is running.
  response jsonb,
  created_at timestamptz not null default now(),
  primary key (user_id, key),
  -- Every text a client can make the database store is bounded.
  constraint idempotency_keys_operation_is_a_name check (operation ~ '^[a-z_]{1,64}$'),
  constraint idempotency_keys_request_hash_is_sha256 check (request_hash ~ '^[0-9a-f]{64}$'),
  constraint idempotency_keys_response_bounded check (pg_column_size(response) <= 65536)
);

revoke all on table private.idempotency_keys from public, anon, authenticated;

create index idempotency_keys_user_created_idx on private.idempotency_keys (user_id, created_at desc);

create or replace function private.idempotency_keys_per_user()
returns integer
language sql
immutable
parallel safe
set search_path = ''
as $$
  select 1000;
$$;

-- A new key: the user's keys beyond the newest 1,000 are forgotten.
create or replace function private.cap_idempotency_keys()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  delete from private.idempotency_keys k
  where k.user_id = new.user_id
    and k.key in (select x.key from private.idempotency_keys x
                  where x.user_id = new.user_id
                  order by x.created_at desc, x.key
                  offset private.idempotency_keys_per_user());
  return null;
end;
$$;

create trigger idempotency_keys_capped_per_user
  after insert on private.idempotency_keys
  for each row execute function private.cap_idempotency_keys();

revoke all on function private.idempotency_keys_per_user(), private.cap_idempotency_keys() from public;

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

revoke all on function private.request_idempotency_key() from public;
revoke all on function private.idempotent_replay(text, jsonb) from public;
revoke all on function private.idempotent_store(jsonb) from public;
-- The create functions run as the caller (security invoker) and call these.
grant execute on function private.request_idempotency_key(),
  private.idempotent_replay(text, jsonb), private.idempotent_store(jsonb) to authenticated;

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

revoke all on function public.claim_idempotency_key(text, jsonb), public.release_idempotency_key(),
  public.finish_user_creation(uuid, public.app_role, text) from public, anon;
grant execute on function public.claim_idempotency_key(text, jsonb), public.release_idempotency_key(),
  public.finish_user_creation(uuid, public.app_role, text) to authenticated;
