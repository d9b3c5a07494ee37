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
-- the service role's: no user reads or changes the queue.

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

-- 1. What has expired, in bounded batches (the next run takes the rest). Returns what it
--    removed, by kind.
create or replace function public.sweep_expired_rows(p_limit integer default 1000)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uploads integer;
  v_keys integer;
  v_windows integer;
  v_passes integer;
  v_bindings integer;
begin
  if p_limit is null or p_limit < 1 or p_limit > 10000 then
    raise exception 'bad limit' using errcode = '22023';
  end if;
  delete from public.uploads u
  where u.id in (select x.id from public.uploads x
                 where x.status = 'pending' and x.created_at < now() - private.pending_upload_ttl()
                 order by x.created_at limit p_limit);
  get diagnostics v_uploads = row_count;
  delete from private.idempotency_keys k
  where (k.user_id, k.key) in (select x.user_id, x.key from private.idempotency_keys x
                               where x.created_at < now() - interval '24 hours' limit p_limit);
  get diagnostics v_keys = row_count;
  delete from private.rate_limit_counters c
  where c.ctid in (select x.ctid from private.rate_limit_counters x
                   where x.expires_at < now() - interval '1 minute' limit p_limit);
  get diagnostics v_windows = row_count;
  delete from private.rate_limit_passes p
  where p.pass in (select x.pass from private.rate_limit_passes x where x.expires_at < now() limit p_limit);
  get diagnostics v_passes = row_count;
  delete from private.sign_up_bindings b
  where b.user_id in (select x.user_id from private.sign_up_bindings x
                      where x.created_at < now() - interval '1 day' limit p_limit);
  get diagnostics v_bindings = row_count;
  return jsonb_build_object('pendingUploads', v_uploads, 'idempotencyKeys', v_keys,
                            'rateLimitWindows', v_windows, 'rateLimitPasses', v_passes,
                            'signUpBindings', v_bindings);
end;
$$;

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

revoke all on function public.sweep_expired_rows(integer), public.claim_storage_deletions(integer),
  public.finish_storage_deletions(text[], text[], text) from public, anon, authenticated;
grant execute on function public.sweep_expired_rows(integer), public.claim_storage_deletions(integer),
  public.finish_storage_deletions(text[], text[], text) to service_role;
