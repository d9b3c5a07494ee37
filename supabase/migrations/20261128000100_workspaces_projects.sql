-- Workspaces, their members (admin, editor, member) and their projects.
-- Row-level security is the second line of defence behind the functions: even a client
-- talking to PostgREST directly sees and changes only what its workspace role allows.

create type public.workspace_role as enum ('admin', 'editor', 'member');

create table public.workspaces (
  id uuid primary key default gen_random_uuid(),
  name text not null check (char_length(name) between 1 and 100),
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
  name text not null check (char_length(name) between 1 and 100),
  description text check (description is null or char_length(description) <= 1000),
  created_by uuid default auth.uid() references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- Every column a policy filters on. (workspace_members' primary key already leads with
-- workspace_id; policies look members up by (workspace_id, user_id) and by user_id.)
create index workspace_members_user_id_idx on public.workspace_members (user_id);
create index projects_workspace_id_created_at_idx on public.projects (workspace_id, created_at desc);
create index workspaces_created_by_idx on public.workspaces (created_by);
create index projects_created_by_idx on public.projects (created_by);

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

-- Creating a workspace and making its creator the admin is one transaction.
create or replace function public.create_workspace(name text)
returns public.workspaces
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_user uuid := (select auth.uid());
  v_workspace public.workspaces;
begin
  if v_user is null or (select auth.role()) is distinct from 'authenticated' then
    raise exception 'not authenticated' using errcode = '42501';
  end if;
  insert into public.workspaces (name, created_by)
  values (create_workspace.name, v_user)
  returning * into v_workspace;
  insert into public.workspace_members (workspace_id, user_id, role)
  values (v_workspace.id, v_user, 'admin');
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
