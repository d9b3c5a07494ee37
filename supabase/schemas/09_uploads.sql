-- Uploads: one row per file a user asked to upload. The bytes go straight to S3 with a
-- presigned URL; a row becomes `ready` only after the function verified size and magic
-- bytes, and only the service role can change the status (users have no UPDATE here).

create type public.upload_status as enum ('pending', 'ready', 'rejected');

create table public.uploads (
  id uuid primary key default gen_random_uuid(),
  owner_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  -- The pending object's key, always under the owner's own prefix.
  object_key text not null unique,
  -- The client's name for the file: metadata only, never part of a key or path.
  original_name public.upload_name not null,
  content_type text not null check (content_type in ('image/jpeg', 'image/png', 'image/webp')),
  size_bytes bigint not null check (size_bytes between 1 and 5242880),
  status public.upload_status not null default 'pending',
  rejection_reason text check (char_length(rejection_reason) <= 300),
  created_at timestamptz not null default now(),
  completed_at timestamptz,
  constraint uploads_key_under_owner_prefix
    check (object_key = 'pending/' || owner_id::text || '/' || id::text)
);

create index uploads_owner_id_created_at_idx on public.uploads (owner_id, created_at desc);
-- The pending uploads of an owner (the cap below).
create index uploads_pending_owner_idx on public.uploads (owner_id) where status = 'pending';

alter table public.uploads enable row level security;
revoke all on table public.uploads from anon;
revoke insert, update, truncate on table public.uploads from authenticated;
grant insert (id, object_key, original_name, content_type, size_bytes) on table public.uploads to authenticated;

create policy "uploads: owners read" on public.uploads
  for select to authenticated using (owner_id = (select auth.uid()));
create policy "uploads: owners create pending" on public.uploads
  for insert to authenticated
  with check (owner_id = (select auth.uid()) and status = 'pending');
create policy "uploads: owners delete" on public.uploads
  for delete to authenticated using (owner_id = (select auth.uid()));

-- Marks a pending upload ready or rejected (service role only: the function calls it
-- after checking the object). Asked again for the outcome it already has, it answers the
-- row; for the other outcome, PT409.
create or replace function public.set_upload_status(p_id uuid, p_owner uuid, p_ready boolean, p_reason text default null)
returns public.uploads
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_row public.uploads;
  v_status public.upload_status := case when p_ready then 'ready'::public.upload_status else 'rejected'::public.upload_status end;
begin
  update public.uploads
  set status = v_status,
      rejection_reason = case when p_ready then null else left(p_reason, 300) end,
      completed_at = now()
  where id = p_id and owner_id = p_owner and status = 'pending'
  returning * into v_row;
  if v_row.id is null then
    -- Completed already, with the same outcome, by an attempt that ran at the same time or
    -- whose answer was lost: that row is the answer again (as it was, completed_at kept).
    select * into v_row from public.uploads where id = p_id and owner_id = p_owner;
    if v_row.id is null then
      raise exception 'no pending upload %', p_id using errcode = 'PT404';
    elsif v_row.status <> v_status then
      raise exception 'upload % is already %', p_id, v_row.status using errcode = 'PT409';
    end if;
  end if;
  return v_row;
end;
$$;

revoke all on function public.set_upload_status(uuid, uuid, boolean, text) from public, anon, authenticated;
grant execute on function public.set_upload_status(uuid, uuid, boolean, text) to service_role;

-- POST /uploads (with the request's Idempotency-Key, 11_idempotency.sql).
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

revoke all on function public.create_upload(uuid, text, text, bigint) from public, anon;
grant execute on function public.create_upload(uuid, text, text, bigint) to authenticated;

-- At most private.pending_uploads_per_user() pending uploads a user: the next is refused
-- (409) until one is completed, deleted, or removed by the sweep an hour after it was
-- asked for (16_expiry_sweep.sql).
create or replace function private.pending_uploads_per_user()
returns integer
language sql
immutable
parallel safe
set search_path = ''
as $$
  select 20;
$$;

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

revoke all on function private.pending_uploads_per_user(), private.cap_pending_uploads() from public;

-- ---------------------------------------------------------------------------------------
-- Storage follows its rows
-- ---------------------------------------------------------------------------------------

-- Storage follows its rows (issue 23, part 1), and rows that expire are removed by the
-- schedule rather than by their owner's next call (part 4).
--
-- An object in the uploads bucket exists only while a row of public.uploads says it
-- should. Whatever deletes a row (DELETE /uploads/{id}, a DELETE straight through
-- PostgREST, the cascade of a deleted user) records its objects' keys in
-- private.storage_deletions, in the same transaction (a trigger: no path can skip it),
-- and so does a pending upload that became ready or rejected, for its pending object. A
-- scheduled function (sweep-storage, every five minutes; locally `make dev` runs it every
-- minute) then:
--   1. sweep_expired_rows(): removes what has expired: pending uploads never completed an
--      hour after they were asked for (their objects are queued like any other), and the
--      bookkeeping that would otherwise wait for its owner's next call (idempotency keys
--      after 24 hours, rate-limit windows and passes, sign-up bindings after a day);
--   2. claim_storage_deletions(n): takes up to n queued keys (each claim pushes its next
--      try back, 2, 4, ... 60 minutes, so a key whose delete failed is retried later and
--      a sweep that died midway loses nothing);
--   3. deletes the objects from S3 (deleting a key that is gone is a success: idempotent);
--   4. finish_storage_deletions(deleted, failed, error): forgets the deleted keys, keeps
--      the failed ones with the error for the next run.
-- The queue's length is the sweep's backlog metric (an alarm watches it). All of it is
-- the service role's: no user reads or changes the queue. (sweep_expired_rows is in
-- 16_expiry_sweep.sql.)

create table private.storage_deletions (
  object_key text primary key
    check (object_key ~ '^(pending|files)/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'),
  queued_at timestamptz not null default now(),
  attempts integer not null default 0 check (attempts >= 0),
  -- Not claimed before this: now, or later after a claim (its retry).
  not_before timestamptz not null default now(),
  last_error text check (char_length(last_error) <= 300)
);
create index storage_deletions_not_before_idx on private.storage_deletions (not_before, queued_at);

revoke all on table private.storage_deletions from public, anon, authenticated, service_role;

comment on table private.storage_deletions is
  'Objects of the uploads bucket whose row is gone: deleted from S3 by the sweep-storage '
  'function, then forgotten.';

-- How long a pending upload waits to be completed before the sweep removes it (its
-- presigned PUT lasts five minutes; shared/src/clients/storage.rs UPLOAD_URL_TTL).
create or replace function private.pending_upload_ttl()
returns interval
language sql
immutable
parallel safe
set search_path = ''
as $$
  select interval '1 hour';
$$;

-- The trigger: a deleted row's two possible objects (pending and files), or the pending
-- object of an upload that left `pending`.
create or replace function private.queue_upload_objects()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'DELETE' then
    insert into private.storage_deletions (object_key)
    values ('pending/' || old.owner_id || '/' || old.id), ('files/' || old.owner_id || '/' || old.id)
    on conflict (object_key) do update set not_before = least(private.storage_deletions.not_before, now());
    return old;
  end if;
  if old.status = 'pending' and new.status <> 'pending' then
    insert into private.storage_deletions (object_key)
    values ('pending/' || new.owner_id || '/' || new.id)
    on conflict (object_key) do nothing;
  end if;
  return new;
end;
$$;

revoke all on function private.queue_upload_objects(), private.pending_upload_ttl() from public;

create trigger uploads_objects_follow_the_row
  after delete or update of status on public.uploads
  for each row execute function private.queue_upload_objects();


-- 2. Up to `p_limit` keys to delete now, each pushed back for its next try; and the
--    backlog (every queued key, due or not). `{"keys": [...], "backlog": n}`.
create or replace function public.claim_storage_deletions(p_limit integer default 100)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_keys jsonb;
begin
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    raise exception 'bad limit' using errcode = '22023';
  end if;
  with due as (
    select d.object_key from private.storage_deletions d
    where d.not_before <= now()
    order by d.not_before, d.queued_at
    limit p_limit
    for update skip locked
  ), claimed as (
    update private.storage_deletions d
    set attempts = d.attempts + 1,
        not_before = now() + least(interval '60 minutes', interval '1 minute' * power(2, least(d.attempts + 1, 6)))
    from due
    where d.object_key = due.object_key
    returning d.object_key
  )
  select coalesce(jsonb_agg(object_key order by object_key), '[]'::jsonb) into v_keys from claimed;
  return jsonb_build_object('keys', v_keys,
                            'backlog', (select count(*) from private.storage_deletions));
end;
$$;

-- 4. The outcome of a sweep: deleted keys are forgotten; failed ones keep their next
--    try and the error (plain text, bounded).
create or replace function public.finish_storage_deletions(
  p_deleted text[],
  p_failed text[] default '{}',
  p_error text default null
)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  delete from private.storage_deletions d where d.object_key = any (coalesce(p_deleted, '{}'));
  update private.storage_deletions d
  set last_error = left(coalesce(p_error, 'the delete failed'), 300)
  where d.object_key = any (coalesce(p_failed, '{}'));
end;
$$;

revoke all on function public.claim_storage_deletions(integer),
  public.finish_storage_deletions(text[], text[], text) from public, anon, authenticated;
grant execute on function public.claim_storage_deletions(integer),
  public.finish_storage_deletions(text[], text[], text) to service_role;
