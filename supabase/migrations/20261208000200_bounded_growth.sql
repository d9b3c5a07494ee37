-- Nothing that grows without bound (issue 23, part 4).
--
-- Every text a client can make the database store has a length bound in SQL, so a call
-- straight through PostgREST is bounded too: the columns below were the last without
-- one (a direct call of claim_idempotency_key stored a megabyte operation name). Where
-- rows accumulate per user, their count is capped:
--   - idempotency keys: the newest 1,000 of a user are kept; an older one is forgotten
--     when a new one is claimed (its retry then runs again, as after 24 hours);
--   - pending uploads: at most 20 at a time; the 21st is refused (409) until one is
--     completed, deleted, or removed by the sweep an hour after it was asked for.
-- Expired rows are removed by the scheduled sweep (20261208000100), not only by their
-- owner's next call.

-- ---------------------------------------------------------------------------------------
-- 1. Length bounds
-- ---------------------------------------------------------------------------------------

alter table private.idempotency_keys
  add constraint idempotency_keys_operation_is_a_name check (operation ~ '^[a-z_]{1,64}$'),
  add constraint idempotency_keys_request_hash_is_sha256 check (request_hash ~ '^[0-9a-f]{64}$'),
  add constraint idempotency_keys_response_bounded check (pg_column_size(response) <= 65536);
alter table private.rate_limit_counters
  add constraint rate_limit_counters_key_bounded check (char_length(key) <= 200);
alter table private.sign_up_bindings
  add constraint sign_up_bindings_password_hash_bounded check (char_length(password_hash) <= 255);
alter table public.audit_log
  add constraint audit_log_coalesce_key_bounded check (char_length(coalesce_key) <= 600);

-- ---------------------------------------------------------------------------------------
-- 2. Per-user caps
-- ---------------------------------------------------------------------------------------

create or replace function private.idempotency_keys_per_user()
returns integer
language sql
immutable
parallel safe
set search_path = ''
as $$
  select 1000;
$$;

create or replace function private.pending_uploads_per_user()
returns integer
language sql
immutable
parallel safe
set search_path = ''
as $$
  select 20;
$$;

create index idempotency_keys_user_created_idx on private.idempotency_keys (user_id, created_at desc);

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

create index uploads_pending_owner_idx on public.uploads (owner_id) where status = 'pending';

-- A new upload (the API's create_upload or an insert straight through PostgREST): refused
-- with PT409 while its owner has the most pending uploads allowed.
create or replace function private.cap_pending_uploads()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if (select count(*) from public.uploads u
      where u.owner_id = new.owner_id and u.status = 'pending') >= private.pending_uploads_per_user() then
    raise exception 'too many pending uploads' using errcode = 'PT409', hint = 'Uploads in progress';
  end if;
  return new;
end;
$$;

create trigger uploads_pending_capped_per_user
  before insert on public.uploads
  for each row execute function private.cap_pending_uploads();

revoke all on function private.idempotency_keys_per_user(), private.pending_uploads_per_user(),
  private.cap_idempotency_keys(), private.cap_pending_uploads() from public;
