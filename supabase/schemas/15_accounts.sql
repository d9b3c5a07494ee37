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

-- ---------------------------------------------------------------------------------------
-- A copy of one's own data
-- ---------------------------------------------------------------------------------------

-- A copy of one's own data (issue 23, part 3): GET /me/export, one part a page at a time.
--
-- export_my_data(part, limit, offset) answers `{items, total}` for the calling user:
--   account      one item: the auth user's email, phone, role, times, the profile, and
--                how many items each other part has
--   memberships  every workspace they belong to, with its name and their role
--   workspaces   the workspaces they administer, with how many members each has
--   projects     the projects they created, in workspaces they still belong to
--   posts        their posts, drafts included
--   uploads      their uploads (the API adds a fresh download URL to each ready one)
--   audit        the audit events they are the actor of, with address and user agent
-- Rows as the API's other answers read them (snake_case columns), oldest first. Pages
-- are at most 50 items: 50 posts of the longest body are about 4 MB of JSON, under
-- Lambda's 6 MB response limit. Stable, so PostgREST runs it read-only and the request
-- gate does not count it; security definer with every part filtered by auth.uid(), as
-- the audit log is otherwise only the admins' to read.

create or replace function public.export_my_data(p_part text, p_limit integer default 20, p_offset integer default 0)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_uid uuid := (select auth.uid());
  v_items jsonb;
  v_total bigint;
begin
  if v_uid is null or (select auth.role()) is distinct from 'authenticated' then
    raise exception 'not authenticated' using errcode = '42501';
  end if;
  if p_limit is null or p_limit not between 1 and 50 or p_offset is null or p_offset not between 0 and 5000000 then
    raise exception 'a page is 1 to 50 items from an offset of at most 5000000' using errcode = '22023';
  end if;

  case p_part
  when 'account' then
    select jsonb_build_array(jsonb_build_object(
             'id', u.id,
             'email', u.email,
             'phone', nullif(u.phone, ''),
             'role', coalesce(r.role::text, 'user'),
             'created_at', u.created_at,
             'email_confirmed_at', u.email_confirmed_at,
             'last_sign_in_at', u.last_sign_in_at,
             'profile', jsonb_build_object(
               'name', p.full_name,
               'bio', p.bio,
               'website', p.website,
               'public_profile', coalesce(p.public_profile, false),
               'created_at', p.created_at,
               'updated_at', p.updated_at),
             'counts', jsonb_build_object(
               'memberships', (select count(*) from public.workspace_members m where m.user_id = v_uid),
               'workspaces', (select count(*) from public.workspace_members m where m.user_id = v_uid and m.role = 'admin'),
               'projects', (select count(*) from public.projects pr
                            where pr.created_by = v_uid
                              and pr.workspace_id in (select m.workspace_id from public.workspace_members m where m.user_id = v_uid)),
               'posts', (select count(*) from public.posts po where po.author_id = v_uid),
               'uploads', (select count(*) from public.uploads up where up.owner_id = v_uid),
               'audit', (select count(*) from public.audit_log a where a.actor_id = v_uid))))
    into v_items
    from auth.users u
    left join public.profiles p on p.id = u.id
    left join public.user_roles r on r.user_id = u.id
    where u.id = v_uid and p_offset = 0;
    v_total := 1;

  when 'memberships' then
    select count(*) into v_total from public.workspace_members m where m.user_id = v_uid;
    select coalesce(jsonb_agg(x.item order by x.created_at, x.workspace_id), '[]'::jsonb) into v_items
    from (
      select jsonb_build_object('workspace_id', m.workspace_id, 'workspace_name', w.name,
                                'role', m.role, 'joined_at', m.created_at) as item,
             m.created_at, m.workspace_id
      from public.workspace_members m
      join public.workspaces w on w.id = m.workspace_id
      where m.user_id = v_uid
      order by m.created_at, m.workspace_id
      limit p_limit offset p_offset
    ) x;

  when 'workspaces' then
    select count(*) into v_total from public.workspace_members m where m.user_id = v_uid and m.role = 'admin';
    select coalesce(jsonb_agg(x.item order by x.created_at, x.id), '[]'::jsonb) into v_items
    from (
      select jsonb_build_object('id', w.id, 'name', w.name, 'created_by', w.created_by,
                                'created_at', w.created_at, 'updated_at', w.updated_at,
                                'members', (select count(*) from public.workspace_members o where o.workspace_id = w.id)) as item,
             w.created_at, w.id
      from public.workspace_members m
      join public.workspaces w on w.id = m.workspace_id
      where m.user_id = v_uid and m.role = 'admin'
      order by w.created_at, w.id
      limit p_limit offset p_offset
    ) x;

  when 'projects' then
    select count(*) into v_total from public.projects pr
    where pr.created_by = v_uid
      and pr.workspace_id in (select m.workspace_id from public.workspace_members m where m.user_id = v_uid);
    select coalesce(jsonb_agg(to_jsonb(x) order by x.created_at, x.id), '[]'::jsonb) into v_items
    from (
      select pr.id, pr.workspace_id, pr.name, pr.description, pr.created_by, pr.created_at, pr.updated_at
      from public.projects pr
      where pr.created_by = v_uid
        and pr.workspace_id in (select m.workspace_id from public.workspace_members m where m.user_id = v_uid)
      order by pr.created_at, pr.id
      limit p_limit offset p_offset
    ) x;

  when 'posts' then
    select count(*) into v_total from public.posts po where po.author_id = v_uid;
    select coalesce(jsonb_agg(to_jsonb(x) order by x.created_at, x.id), '[]'::jsonb) into v_items
    from (
      select po.id, po.author_id, po.title, po.body, po.published, po.published_at, po.created_at, po.updated_at
      from public.posts po
      where po.author_id = v_uid
      order by po.created_at, po.id
      limit p_limit offset p_offset
    ) x;

  when 'uploads' then
    select count(*) into v_total from public.uploads up where up.owner_id = v_uid;
    select coalesce(jsonb_agg(to_jsonb(x) order by x.created_at, x.id), '[]'::jsonb) into v_items
    from (
      select up.id, up.owner_id, up.original_name, up.content_type, up.size_bytes, up.status,
             up.rejection_reason, up.created_at, up.completed_at
      from public.uploads up
      where up.owner_id = v_uid
      order by up.created_at, up.id
      limit p_limit offset p_offset
    ) x;

  when 'audit' then
    select count(*) into v_total from public.audit_log a where a.actor_id = v_uid;
    select coalesce(jsonb_agg(to_jsonb(x) order by x.created_at, x.id), '[]'::jsonb) into v_items
    from (
      select a.id, a.actor_id, a.action, a.target, a.metadata, host(a.ip) as ip, a.user_agent,
             a.occurrences, a.created_at, a.last_seen_at
      from public.audit_log a
      where a.actor_id = v_uid
      order by a.created_at, a.id
      limit p_limit offset p_offset
    ) x;

  else
    raise exception 'no such part of an export' using errcode = '22023';
  end case;

  return jsonb_build_object('items', coalesce(v_items, '[]'::jsonb), 'total', coalesce(v_total, 0));
end;
$$;

revoke all on function public.export_my_data(text, integer, integer) from public, anon;
grant execute on function public.export_my_data(text, integer, integer) to authenticated;
