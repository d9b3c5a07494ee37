-- What expires is removed by the schedule (sweep-storage, every five minutes; locally
-- `make dev` runs it every minute), not only by its owner's next call: pending uploads
-- never completed an hour after they were asked for (their objects are queued like any
-- other, 09_uploads.sql), idempotency keys after 24 hours, rate-limit windows and
-- passes, sign-up bindings after a day. In bounded batches (the next run takes the
-- rest); returns what it removed, by kind. Service role only.
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

revoke all on function public.sweep_expired_rows(integer) from public, anon, authenticated;
grant execute on function public.sweep_expired_rows(integer) to service_role;
