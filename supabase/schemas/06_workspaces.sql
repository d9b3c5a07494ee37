-- Workspaces, their members (admin, editor, member) and their projects.
-- Row-level security is the second line of defence behind the functions: even a client
-- talking to PostgREST directly sees and changes only what its workspace role allows.
--
-- Each project and member route is one function, called as the user (security invoker:
-- RLS still decides every row). It checks the caller's workspace role and makes the
-- write in the same transaction, so the API needs no membership query before it:
--   not a member of the workspace   -> PT404 (the API's 404; hint names what is missing)
--   a member whose role is too low  -> PT403 (the API's 403)
-- The request gate (private.check_request, 14_request_gate.sql) counts the call as the
-- caller's `write`, in the same request; a refused call rolls its count back with it.
-- Lists read through an index on what the caller may see (the caller's workspaces, then
-- each workspace's newest rows), and `total` is exact up to private.exact_count_limit()
-- rows and the planner's estimate beyond (01_api_helpers.sql).

create type public.workspace_role as enum ('admin', 'editor', 'member');

create table public.workspaces (
  id uuid primary key default gen_random_uuid(),
  name public.short_name not null,
  created_by uuid references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table public.workspace_members (
  workspace_id uuid not null references public.workspaces (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  role public.workspace_role not null default 'member',
  created_at timestamptz not null default now(),
  primary key (workspace_id, user_id)
);

create table public.projects (
  id uuid primary key default gen_random_uuid(),
  workspace_id uuid not null references public.workspaces (id) on delete cascade,
  name public.short_name not null,
  description public.description,
  created_by uuid default auth.uid() references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- Every column a policy filters on. (workspace_members' primary key already leads with
-- workspace_id; policies look members up by (workspace_id, user_id) and by user_id.)
create index workspace_members_user_id_idx on public.workspace_members (user_id);
create index workspaces_created_by_idx on public.workspaces (created_by);
create index projects_created_by_idx on public.projects (created_by);
-- Newest first, ties by id: the order of every project list (inside a workspace, and
-- across the table).
create index projects_workspace_id_created_at_id_idx
  on public.projects (workspace_id, created_at desc, id desc);
create index projects_created_at_id_idx on public.projects (created_at desc, id desc);

create trigger workspaces_set_updated_at
  before update on public.workspaces
  for each row execute function private.set_updated_at();
create trigger projects_set_updated_at
  before update on public.projects
  for each row execute function private.set_updated_at();

-- The workspaces the calling user belongs to (with one of the given roles). Policies
-- use them as `workspace_id in (select ...)`, which Postgres evaluates once per
-- statement rather than once per row. Security definer so that a policy on
-- workspace_members can consult workspace_members without recursing into itself;
-- they only ever answer about the calling user.
create or replace function private.member_workspace_ids()
returns setof uuid
language sql
stable
security definer
set search_path = ''
as $$
  select m.workspace_id from public.workspace_members m
  where m.user_id = (select auth.uid());
$$;

create or replace function private.workspace_ids_with_role(p_roles public.workspace_role[])
returns setof uuid
language sql
stable
security definer
set search_path = ''
as $$
  select m.workspace_id from public.workspace_members m
  where m.user_id = (select auth.uid()) and m.role = any (p_roles);
$$;

revoke all on function private.member_workspace_ids() from public;
revoke all on function private.workspace_ids_with_role(public.workspace_role[]) from public;
grant execute on function private.member_workspace_ids() to authenticated, service_role;
grant execute on function private.workspace_ids_with_role(public.workspace_role[]) to authenticated, service_role;

-- A workspace must keep an admin. Removing or demoting the last one is refused with
-- SQLSTATE PT409 (PostgREST answers 409), except when the workspace or the user
-- itself is being deleted (the cascade runs after the parent row is gone).
create or replace function private.keep_one_admin()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if old.role <> 'admin' or (tg_op = 'UPDATE' and new.role = 'admin') then
    return coalesce(new, old);
  end if;
  if not exists (select 1 from public.workspaces w where w.id = old.workspace_id)
     or not exists (select 1 from auth.users u where u.id = old.user_id) then
    return coalesce(new, old);
  end if;
  -- Serialize concurrent removals in one workspace: without this lock two admins
  -- leaving at once would each still see the other and both succeed.
  perform 1 from public.workspaces w where w.id = old.workspace_id for no key update;
  if not exists (
    select 1 from public.workspace_members m
    where m.workspace_id = old.workspace_id and m.role = 'admin' and m.user_id <> old.user_id
  ) then
    raise exception 'a workspace must keep at least one admin' using errcode = 'PT409';
  end if;
  return coalesce(new, old);
end;
$$;

create trigger workspace_members_keep_one_admin
  before update or delete on public.workspace_members
  for each row execute function private.keep_one_admin();

-- POST /workspaces: creating a workspace and making its creator the admin is one
-- transaction (with the request's Idempotency-Key, 11_idempotency.sql).
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

revoke all on function public.create_workspace(text) from public, anon;
grant execute on function public.create_workspace(text) to authenticated;

alter table public.workspaces enable row level security;
alter table public.workspace_members enable row level security;
alter table public.projects enable row level security;

-- Column privileges: the API may only ever write these columns (ids, creators and
-- timestamps come from defaults and triggers, never from the client).
revoke all on table public.workspaces, public.workspace_members, public.projects from anon;
revoke insert, update, delete, truncate on table public.workspaces from authenticated;
grant update (name) on table public.workspaces to authenticated;
grant delete on table public.workspaces to authenticated;
revoke insert, update, truncate on table public.workspace_members from authenticated;
grant insert (workspace_id, user_id, role) on table public.workspace_members to authenticated;
grant update (role) on table public.workspace_members to authenticated;
revoke insert, update, truncate on table public.projects from authenticated;
grant insert (workspace_id, name, description) on table public.projects to authenticated;
grant update (name, description) on table public.projects to authenticated;

-- workspaces: members read; admins rename and delete; created only by create_workspace().
create policy "workspaces: members read"
  on public.workspaces for select to authenticated
  using (id in (select private.member_workspace_ids()));

create policy "workspaces: admins update"
  on public.workspaces for update to authenticated
  using (id in (select private.workspace_ids_with_role('{admin}')))
  with check (id in (select private.workspace_ids_with_role('{admin}')));

create policy "workspaces: admins delete"
  on public.workspaces for delete to authenticated
  using (id in (select private.workspace_ids_with_role('{admin}')));

-- workspace_members: members see who else is in; admins add, change and remove.
create policy "workspace_members: members read"
  on public.workspace_members for select to authenticated
  using (workspace_id in (select private.member_workspace_ids()));

create policy "workspace_members: admins add"
  on public.workspace_members for insert to authenticated
  with check (workspace_id in (select private.workspace_ids_with_role('{admin}')));

create policy "workspace_members: admins change roles"
  on public.workspace_members for update to authenticated
  using (workspace_id in (select private.workspace_ids_with_role('{admin}')))
  with check (workspace_id in (select private.workspace_ids_with_role('{admin}')));

create policy "workspace_members: admins remove"
  on public.workspace_members for delete to authenticated
  using (workspace_id in (select private.workspace_ids_with_role('{admin}')));

-- projects: members read; admins and editors create and update; admins delete.
create policy "projects: members read"
  on public.projects for select to authenticated
  using (workspace_id in (select private.member_workspace_ids()));

create policy "projects: admins and editors create"
  on public.projects for insert to authenticated
  with check (
    workspace_id in (select private.workspace_ids_with_role('{admin,editor}'))
    and created_by = (select auth.uid())
  );

create policy "projects: admins and editors update"
  on public.projects for update to authenticated
  using (workspace_id in (select private.workspace_ids_with_role('{admin,editor}')))
  with check (workspace_id in (select private.workspace_ids_with_role('{admin,editor}')));

create policy "projects: admins delete"
  on public.projects for delete to authenticated
  using (workspace_id in (select private.workspace_ids_with_role('{admin}')));

-- ---------------------------------------------------------------------------------------
-- The routes' functions
-- ---------------------------------------------------------------------------------------

-- The caller's role in a workspace, or the refusal the API gives.
create or replace function private.require_workspace_role(
  p_workspace_id uuid,
  p_roles public.workspace_role[]
)
returns public.workspace_role
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_role public.workspace_role;
begin
  select m.role into v_role
  from public.workspace_members m
  where m.workspace_id = p_workspace_id and m.user_id = (select auth.uid());
  if v_role is null then
    raise exception 'workspace not found' using errcode = 'PT404', hint = 'Workspace';
  end if;
  if not (v_role = any (p_roles)) then
    raise exception 'workspace role too low' using errcode = 'PT403',
      hint = 'Your role in this workspace does not allow this';
  end if;
  return v_role;
end;
$$;

revoke all on function private.require_workspace_role(uuid, public.workspace_role[]) from public;
grant execute on function private.require_workspace_role(uuid, public.workspace_role[]) to authenticated, service_role;

-- The planner's row estimate for the projects of some workspaces (no RLS: the caller
-- has already been limited to their own workspaces, and an estimate reveals no row).
-- Volatile only because Postgres allows EXPLAIN in volatile functions alone; it writes
-- nothing.
create or replace function private.estimate_projects(p_workspace_ids uuid[])
returns bigint
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_plan json;
begin
  execute 'explain (format json) select 1 from public.projects p where p.workspace_id = any ($1)'
    into v_plan using p_workspace_ids;
  return (v_plan -> 0 -> 'Plan' ->> 'Plan Rows')::bigint;
end;
$$;

revoke all on function private.estimate_projects(uuid[]) from public;
grant execute on function private.estimate_projects(uuid[]) to authenticated, service_role;

-- GET /projects?workspaceId=&page=&pageSize=: one page and the total. Without a
-- workspace, the projects of every workspace the caller belongs to.
create or replace function public.list_projects(
  p_workspace_id uuid default null,
  p_limit integer default 20,
  p_offset integer default 0
)
returns json
language plpgsql
stable
security invoker
set search_path = ''
-- Plans for the caller's own workspaces, not a generic one for any array.
set plan_cache_mode = force_custom_plan
as $$
declare
  v_workspaces uuid[];
  v_items json;
  v_total bigint;
  v_table_rows real;
begin
  perform private.check_page(p_limit, p_offset);
  if p_workspace_id is not null then
    perform private.require_workspace_role(p_workspace_id, '{admin,editor,member}');
    v_workspaces := array[p_workspace_id];
  else
    v_workspaces := array(select private.member_workspace_ids());
  end if;

  select count(*) into v_total
  from (
    select 1 from public.projects p
    where p.workspace_id = any (v_workspaces)
    limit private.exact_count_limit() + 1
  ) counted;
  if v_total > private.exact_count_limit() then
    v_total := greatest(v_total, private.estimate_projects(v_workspaces));
  end if;

  -- Two ways to the newest rows, chosen by how many of the table's rows the caller sees:
  -- a large share (1% or more) is found quickly walking the whole table newest first
  -- (index projects (created_at, id)); a small one by each workspace's newest
  -- (offset + limit) rows (index projects (workspace_id, created_at, id)), then one merge.
  select greatest(c.reltuples, 1) into v_table_rows
  from pg_catalog.pg_class c where c.oid = 'public.projects'::regclass;
  if v_total * 100 >= v_table_rows and cardinality(v_workspaces) > 1 then
    select coalesce(json_agg(row_to_json(page) order by page.created_at desc, page.id desc), '[]')
    into v_items
    from (
      select p.id, p.workspace_id, p.name, p.description, p.created_by, p.created_at, p.updated_at
      from public.projects p
      where p.workspace_id = any (v_workspaces)
      order by p.created_at desc, p.id desc
      limit p_limit offset p_offset
    ) page;
  else
    select coalesce(json_agg(row_to_json(page) order by page.created_at desc, page.id desc), '[]')
    into v_items
    from (
      select p.id, p.workspace_id, p.name, p.description, p.created_by, p.created_at, p.updated_at
      from unnest(v_workspaces) as w (id)
      cross join lateral (
        select * from public.projects x
        where x.workspace_id = w.id
        order by x.created_at desc, x.id desc
        limit p_offset + p_limit
      ) p
      order by p.created_at desc, p.id desc
      limit p_limit offset p_offset
    ) page;
  end if;

  return json_build_object('items', v_items, 'total', v_total);
end;
$$;

-- POST /projects (with the request's Idempotency-Key, 11_idempotency.sql).
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

-- The workspace of a project the caller can see, else PT404.
create or replace function private.project_workspace(p_id uuid)
returns uuid
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_workspace_id uuid;
begin
  select p.workspace_id into v_workspace_id from public.projects p where p.id = p_id;
  if v_workspace_id is null then
    raise exception 'project not found' using errcode = 'PT404', hint = 'Project';
  end if;
  return v_workspace_id;
end;
$$;

revoke all on function private.project_workspace(uuid) from public;
grant execute on function private.project_workspace(uuid) to authenticated, service_role;

-- PATCH /projects/{id}: the keys present in p_changes (name, description; a null
-- description clears it).
create or replace function public.update_project(p_id uuid, p_changes jsonb)
returns json
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_project public.projects;
begin
  if p_changes is null or jsonb_typeof(p_changes) <> 'object' or p_changes = '{}'::jsonb
     or exists (select 1 from jsonb_object_keys(p_changes) k where k not in ('name', 'description')) then
    raise exception 'bad changes' using errcode = '22023';
  end if;
  perform private.require_workspace_role(private.project_workspace(p_id), '{admin,editor}');
  update public.projects p
  set name = case when p_changes ? 'name' then p_changes ->> 'name' else p.name end,
      description = case when p_changes ? 'description' then p_changes ->> 'description' else p.description end
  where p.id = p_id
  returning * into v_project;
  if v_project.id is null then
    raise exception 'project not found' using errcode = 'PT404', hint = 'Project';
  end if;
  return row_to_json(v_project);
end;
$$;

-- DELETE /projects/{id}: workspace admins only.
create or replace function public.delete_project(p_id uuid)
returns void
language plpgsql
security invoker
set search_path = ''
as $$
begin
  perform private.require_workspace_role(private.project_workspace(p_id), '{admin}');
  delete from public.projects p where p.id = p_id;
  if not found then
    raise exception 'project not found' using errcode = 'PT404', hint = 'Project';
  end if;
end;
$$;

-- POST /workspaces/{id}/members. An unknown user is 23503, a member already in 23505
-- (the API's 422 on userId and 409).
create or replace function public.add_workspace_member(
  p_workspace_id uuid,
  p_user_id uuid,
  p_role public.workspace_role
)
returns json
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_member public.workspace_members;
begin
  perform private.require_workspace_role(p_workspace_id, '{admin}');
  insert into public.workspace_members (workspace_id, user_id, role)
  values (p_workspace_id, p_user_id, p_role)
  returning * into v_member;
  return json_build_object('workspace_id', v_member.workspace_id, 'user_id', v_member.user_id,
                           'role', v_member.role, 'created_at', v_member.created_at);
end;
$$;

-- DELETE /workspaces/{id}/members/{userId}. The last admin stays (PT409).
create or replace function public.remove_workspace_member(p_workspace_id uuid, p_user_id uuid)
returns void
language plpgsql
security invoker
set search_path = ''
as $$
begin
  perform private.require_workspace_role(p_workspace_id, '{admin}');
  delete from public.workspace_members m
  where m.workspace_id = p_workspace_id and m.user_id = p_user_id;
  if not found then
    raise exception 'member not found' using errcode = 'PT404', hint = 'Member';
  end if;
end;
$$;

revoke all on function public.add_workspace_member(uuid, uuid, public.workspace_role) from public, anon;
revoke all on function public.remove_workspace_member(uuid, uuid) from public, anon;
grant execute on function public.add_workspace_member(uuid, uuid, public.workspace_role) to authenticated;
grant execute on function public.remove_workspace_member(uuid, uuid) to authenticated;

revoke all on function public.list_projects(uuid, integer, integer) from public, anon;
revoke all on function public.create_project(uuid, text, text) from public, anon;
revoke all on function public.update_project(uuid, jsonb) from public, anon;
revoke all on function public.delete_project(uuid) from public, anon;
grant execute on function public.list_projects(uuid, integer, integer) to authenticated;
grant execute on function public.create_project(uuid, text, text) to authenticated;
grant execute on function public.update_project(uuid, jsonb) to authenticated;
grant execute on function public.delete_project(uuid) to authenticated;
