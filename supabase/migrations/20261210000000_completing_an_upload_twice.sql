-- A completion asked twice answers the same (found by make chaos: a complete-upload
-- instance killed after its status change reached PostgREST, and the client's retry,
-- which had read the row while it was still pending, got 404). set_upload_status now
-- answers the row when it already has the outcome asked for, and PT409 when it has the
-- other one; PT404 only when there is no such upload of that owner.

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
