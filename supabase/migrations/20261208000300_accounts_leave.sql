-- An account leaves (issue 23, part 2).
--
-- Whatever deletes an auth user (DELETE /me, DELETE /users/{id}, Supabase Auth's admin
-- API or dashboard, SQL as the owner) passes one trigger on auth.users, before the row
-- goes and in its transaction:
--   1. refused with PT409 while the user is the last admin of a workspace that has other
--      members (the cascade would leave it without an admin: keep_one_admin lets the
--      cascade through because the user row is gone by then); Supabase Auth answers
--      that with a 500 "Database error deleting user", and the API then asks
--      account_deletion_blockers() which workspaces to name in its 409;
--   2. the workspaces only this user belongs to are deleted (their projects and
--      memberships by cascade): nobody could reach them any more;
--   3. the audit events keep what happened, not where it came from: the addresses, user
--      agents and coalescing keys of the user's own events are cleared, and the hashed
--      email of failed sign-ins for their address removed.
-- Then the cascades take the profile, role, posts, memberships, idempotency keys,
-- sign-up binding and uploads (whose trigger queues the files for the sweep); projects
-- and workspaces they created in workspaces that stay, and the settings they changed,
-- keep the row with the creator cleared (`on delete set null`).

-- The workspaces p_user is the last admin of while others are members: the trigger's
-- question, and the API's for its 409 (service role only: it names another user's
-- workspaces).
create or replace function public.account_deletion_blockers(p_user uuid)
returns table (id uuid, name text)
language sql
stable
security definer
set search_path = ''
as $$
  select w.id, w.name
  from public.workspace_members m
  join public.workspaces w on w.id = m.workspace_id
  where m.user_id = p_user
    and m.role = 'admin'
    and not exists (
      select 1 from public.workspace_members o
      where o.workspace_id = m.workspace_id and o.role = 'admin' and o.user_id <> p_user
    )
    and exists (
      select 1 from public.workspace_members o
      where o.workspace_id = m.workspace_id and o.user_id <> p_user
    )
  order by w.name, w.id;
$$;

revoke all on function public.account_deletion_blockers(uuid) from public, anon, authenticated;
grant execute on function public.account_deletion_blockers(uuid) to service_role;

-- Failed sign-ins name the address only as sha256(lower(email)) (functions/src/sessions.rs
-- email_key): found by this index when its owner leaves.
create index audit_log_email_key_idx on public.audit_log ((metadata ->> 'emailKey'))
  where metadata ? 'emailKey';

create or replace function private.account_leaves()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_blocked text;
begin
  -- Lock the workspaces the user administers, as keep_one_admin does: another admin
  -- leaving or being demoted meanwhile waits for this transaction, then sees it.
  perform 1 from public.workspaces w
  where w.id in (
    select m.workspace_id from public.workspace_members m
    where m.user_id = old.id and m.role = 'admin'
  )
  order by w.id
  for no key update;

  select string_agg(b.id::text, ', ') into v_blocked
  from public.account_deletion_blockers(old.id) b;
  if v_blocked is not null then
    raise exception 'the last admin of a workspace with other members cannot leave it'
      using errcode = 'PT409',
            detail = 'workspaces: ' || v_blocked,
            hint = 'make another member an admin, or remove the members, first';
  end if;

  delete from public.workspaces w
  where exists (
      select 1 from public.workspace_members m
      where m.workspace_id = w.id and m.user_id = old.id
    )
    and not exists (
      select 1 from public.workspace_members o
      where o.workspace_id = w.id and o.user_id <> old.id
    );

  update public.audit_log a
  set ip = null, user_agent = null, coalesce_key = null
  where a.actor_id = old.id
    and (a.ip is not null or a.user_agent is not null or a.coalesce_key is not null);

  if old.email is not null then
    update public.audit_log a
    set metadata = a.metadata - 'emailKey'
    where a.metadata ? 'emailKey'
      and a.metadata ->> 'emailKey' = encode(sha256(convert_to(lower(btrim(old.email)), 'UTF8')), 'hex');
  end if;

  return old;
end;
$$;

revoke all on function private.account_leaves() from public;

create trigger users_account_leaves
  before delete on auth.users
  for each row execute function private.account_leaves();
