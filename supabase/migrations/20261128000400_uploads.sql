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
  original_name text not null check (char_length(original_name) between 1 and 255),
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
-- after checking the object).
create or replace function public.set_upload_status(p_id uuid, p_owner uuid, p_ready boolean, p_reason text default null)
returns public.uploads
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_row public.uploads;
begin
  update public.uploads
  set status = case when p_ready then 'ready'::public.upload_status else 'rejected'::public.upload_status end,
      rejection_reason = case when p_ready then null else left(p_reason, 300) end,
      completed_at = now()
  where id = p_id and owner_id = p_owner and status = 'pending'
  returning * into v_row;
  if v_row.id is null then
    raise exception 'no pending upload %', p_id using errcode = 'PT404';
  end if;
  return v_row;
end;
$$;

revoke all on function public.set_upload_status(uuid, uuid, boolean, text) from public, anon, authenticated;
grant execute on function public.set_upload_status(uuid, uuid, boolean, text) to service_role;
