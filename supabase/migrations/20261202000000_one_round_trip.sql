-- One PostgREST request per API call, and lists whose cost follows the caller's own
-- rows (issue 10).
--
-- Each project route is one SQL function, called as the user (security invoker: RLS
-- still decides every row). The function checks the caller's workspace role and makes
-- the write in the same transaction, so the API needs no membership query before it:
--   not a member of the workspace   -> PT404 (the API's 404; hint names what is missing)
--   a member whose role is too low  -> PT403 (the API's 403)
-- The database's request gate (private.check_request) counts the call as the caller's
-- `write`, in the same request; a refused call rolls its count back with it.
--
-- Lists read through an index on what the caller may see: the caller's workspaces,
-- then each workspace's newest rows (index projects (workspace_id, created_at desc,
-- id desc)), so no policy is evaluated over the whole table. `total` is exact up to
-- private.exact_count_limit() rows and Postgres's planner estimate beyond (PostgREST's
-- `count=estimated`), so counting does not grow with the caller's rows either.

-- ---------------------------------------------------------------------------------------
-- 1. Shared pieces
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

-- A page the lists serve: 1 to 100 items from offset 0 on, else 22023 (the API's 422).
create or replace function private.check_page(p_limit integer, p_offset integer)
returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  if p_limit is null or p_limit < 1 or p_limit > 100 or p_offset is null or p_offset < 0 then
    raise exception 'bad page' using errcode = '22023';
  end if;
end;
$$;

revoke all on function private.check_page(integer, integer) from public;
grant execute on function private.check_page(integer, integer) to authenticated, service_role;

-- Counts stop here; beyond it `total` is the planner's estimate.
create or replace function private.exact_count_limit()
returns integer
language sql
immutable
as $$ select 1000 $$;

revoke all on function private.exact_count_limit() from public;
grant execute on function private.exact_count_limit() to authenticated, service_role;

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

-- Newest first, ties by id: the order of every project list, served by these indexes
-- (inside a workspace, and across the table).
drop index if exists public.projects_workspace_id_created_at_idx;
create index projects_workspace_id_created_at_id_idx
  on public.projects (workspace_id, created_at desc, id desc);
create index projects_created_at_id_idx on public.projects (created_at desc, id desc);

-- ---------------------------------------------------------------------------------------
-- 2. Projects
-- ---------------------------------------------------------------------------------------

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

-- POST /projects
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
begin
  perform private.require_workspace_role(p_workspace_id, '{admin,editor}');
  insert into public.projects (workspace_id, name, description)
  values (p_workspace_id, p_name, p_description)
  returning * into v_project;
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

-- ---------------------------------------------------------------------------------------
-- 3. Posts (the author with posts.write, or posts.publish / posts.delete holders)
-- ---------------------------------------------------------------------------------------

-- The author of a post the caller can see (RLS: published, own, or posts.publish), else
-- PT404.
create or replace function private.post_author(p_id uuid)
returns uuid
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_author uuid;
begin
  select p.author_id into v_author from public.posts p where p.id = p_id;
  if v_author is null then
    raise exception 'post not found' using errcode = 'PT404', hint = 'Post';
  end if;
  return v_author;
end;
$$;

revoke all on function private.post_author(uuid) from public;
grant execute on function private.post_author(uuid) to authenticated, service_role;

-- PATCH /posts/{id}: the keys present in p_changes (title, body).
create or replace function public.update_post(p_id uuid, p_changes jsonb)
returns json
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_author uuid;
  v_post public.posts;
begin
  if p_changes is null or jsonb_typeof(p_changes) <> 'object' or p_changes = '{}'::jsonb
     or exists (select 1 from jsonb_object_keys(p_changes) k where k not in ('title', 'body')) then
    raise exception 'bad changes' using errcode = '22023';
  end if;
  v_author := private.post_author(p_id);
  if not ((v_author = (select auth.uid()) and public.authorize('posts.write'))
          or public.authorize('posts.publish')) then
    raise exception 'not the author' using errcode = 'PT403',
      hint = 'Only the author or an editor may change this post';
  end if;
  update public.posts p
  set title = case when p_changes ? 'title' then p_changes ->> 'title' else p.title end,
      body = case when p_changes ? 'body' then p_changes ->> 'body' else p.body end
  where p.id = p_id
  returning * into v_post;
  if v_post.id is null then
    raise exception 'post not found' using errcode = 'PT404', hint = 'Post';
  end if;
  return row_to_json(v_post);
end;
$$;

-- DELETE /posts/{id}
create or replace function public.delete_post(p_id uuid)
returns void
language plpgsql
security invoker
set search_path = ''
as $$
begin
  if private.post_author(p_id) <> (select auth.uid()) and not public.authorize('posts.delete') then
    raise exception 'not the author' using errcode = 'PT403',
      hint = 'Only the author or an admin may delete this post';
  end if;
  delete from public.posts p where p.id = p_id;
  if not found then
    raise exception 'post not found' using errcode = 'PT404', hint = 'Post';
  end if;
end;
$$;

revoke all on function public.update_post(uuid, jsonb) from public, anon;
revoke all on function public.delete_post(uuid) from public, anon;
grant execute on function public.update_post(uuid, jsonb) to authenticated;
grant execute on function public.delete_post(uuid) to authenticated;

-- ---------------------------------------------------------------------------------------
-- 4. Workspace members (admins add and remove; a workspace keeps one admin)
-- ---------------------------------------------------------------------------------------

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

-- ---------------------------------------------------------------------------------------
-- 5. Users: GET /users?search= at a million profiles
-- ---------------------------------------------------------------------------------------

-- Trigram indexes answer `ilike '%term%'` on names and emails without reading every
-- profile (terms of three characters or more; shorter ones scan).
create extension if not exists pg_trgm with schema extensions;
create index profiles_full_name_trgm_idx on public.profiles
  using gin (full_name extensions.gin_trgm_ops);
create index profile_emails_email_trgm_idx on public.profile_emails
  using gin (email extensions.gin_trgm_ops);
drop index if exists public.profiles_created_at_idx;
create index profiles_created_at_id_idx on public.profiles (created_at desc, id desc);

-- The planner's estimate of the profiles a search matches (no RLS: users.read holders
-- see every profile, and an estimate reveals no row). Volatile for EXPLAIN's sake only.
create or replace function private.estimate_users(p_pattern text)
returns bigint
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_plan json;
begin
  if p_pattern is null then
    execute 'explain (format json) select 1 from public.profiles' into v_plan;
  else
    execute 'explain (format json) select 1 from public.profiles p where p.full_name ilike $1
             union select 1 from public.profile_emails e where e.email ilike $1'
      into v_plan using p_pattern;
  end if;
  return (v_plan -> 0 -> 'Plan' ->> 'Plan Rows')::bigint;
end;
$$;

revoke all on function private.estimate_users(text) from public;
grant execute on function private.estimate_users(text) to authenticated, service_role;

-- The ids of the profiles whose name or email matches a LIKE pattern, through the
-- trigram indexes. Definer, because under RLS Postgres may not use an index for a
-- non-leakproof operator such as ILIKE (it would scan every profile); it answers
-- users.read holders only, and list_users reads the matching profiles as the caller,
-- RLS applying.
create or replace function private.search_profile_ids(p_pattern text)
returns setof uuid
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  if not public.authorize('users.read') then
    raise exception 'searching users needs users.read' using errcode = '42501';
  end if;
  return query
    select x.id from public.profiles x where x.full_name ilike p_pattern
    union
    select e.id from public.profile_emails e where e.email ilike p_pattern;
end;
$$;

revoke all on function private.search_profile_ids(text) from public;
grant execute on function private.search_profile_ids(text) to authenticated, service_role;

-- A profile as GET /users lists it (the email as the caller may read it).
create or replace function private.user_item(p public.profiles)
returns json
language sql
stable
security invoker
set search_path = ''
as $$
  select json_build_object(
    'id', p.id, 'full_name', p.full_name, 'bio', p.bio, 'website', p.website,
    'public_profile', p.public_profile, 'created_at', p.created_at,
    'profile_emails', (select json_build_object('email', e.email)
                       from public.profile_emails e where e.id = p.id));
$$;

revoke all on function private.user_item(public.profiles) from public;
grant execute on function private.user_item(public.profiles) to authenticated, service_role;

-- GET /users?page=&pageSize=&search=: users.read holders; a page of profiles (with
-- their email) newest first, and the total. The search text is data: LIKE wildcards
-- in it are escaped.
create or replace function public.list_users(
  p_search text default null,
  p_limit integer default 20,
  p_offset integer default 0
)
returns json
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_pattern text;
  v_ids uuid[];
  v_items json;
  v_total bigint;
begin
  perform private.check_page(p_limit, p_offset);
  if not public.authorize('users.read') then
    raise exception 'listing users needs users.read' using errcode = 'PT403',
      hint = 'This needs the users.read permission';
  end if;
  if coalesce(btrim(p_search), '') <> '' then
    v_pattern := '%' || replace(replace(replace(btrim(p_search), '\', '\\'), '%', '\%'), '_', '\_') || '%';
  end if;

  -- Two statements rather than one with `v_pattern is null or ...`: PL/pgSQL reuses a
  -- generic plan, which could not drop the branch that does not apply.
  if v_pattern is null then
    select coalesce(json_agg(private.user_item(page) order by page.created_at desc, page.id desc), '[]')
    into v_items
    from (select * from public.profiles p order by p.created_at desc, p.id desc
          limit p_limit offset p_offset) page;
    select count(*) into v_total
    from (select 1 from public.profiles p limit private.exact_count_limit() + 1) counted;
  else
    -- The matching ids first (trigram indexes), then their profiles as the caller.
    v_ids := array(select private.search_profile_ids(v_pattern));
    select coalesce(json_agg(private.user_item(page) order by page.created_at desc, page.id desc), '[]')
    into v_items
    from (select * from public.profiles p where p.id = any (v_ids)
          order by p.created_at desc, p.id desc limit p_limit offset p_offset) page;
    select count(*) into v_total
    from (select 1 from public.profiles p where p.id = any (v_ids)
          limit private.exact_count_limit() + 1) counted;
  end if;
  if v_total > private.exact_count_limit() then
    v_total := greatest(v_total, private.estimate_users(v_pattern));
  end if;
  return json_build_object('items', v_items, 'total', v_total);
end;
$$;

revoke all on function public.list_users(text, integer, integer) from public, anon;
grant execute on function public.list_users(text, integer, integer) to authenticated;

-- ---------------------------------------------------------------------------------------
-- 6. One call for what took two: /me, /users/{id}, /settings
-- ---------------------------------------------------------------------------------------

-- GET /me: the caller's profile, email and stored role (the truth; the token's claim
-- may be older).
create or replace function public.me()
returns json
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_me json;
begin
  select json_build_object(
           'id', p.id, 'full_name', p.full_name, 'bio', p.bio, 'website', p.website,
           'public_profile', p.public_profile, 'created_at', p.created_at,
           'profile_emails', (select json_build_object('email', e.email)
                              from public.profile_emails e where e.id = p.id),
           'role', coalesce((select ur.role::text from public.user_roles ur where ur.user_id = p.id), 'user'))
  into v_me
  from public.profiles p
  where p.id = (select auth.uid());
  if v_me is null then
    raise exception 'profile not found' using errcode = 'PT404', hint = 'Profile';
  end if;
  return v_me;
end;
$$;

-- GET /users/{id}: the profile the caller may see (own, public, or users.read), its
-- five newest published posts, and whether the caller gets the full view (own, or
-- users.read in user_roles now).
create or replace function public.get_user(p_id uuid)
returns json
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_user json;
begin
  select json_build_object(
           'id', p.id, 'full_name', p.full_name, 'bio', p.bio, 'website', p.website,
           'public_profile', p.public_profile, 'created_at', p.created_at,
           'profile_emails', (select json_build_object('email', e.email)
                              from public.profile_emails e where e.id = p.id),
           'posts', coalesce((
             select json_agg(json_build_object('id', x.id, 'title', x.title, 'published_at', x.published_at)
                             order by x.published_at desc)
             from (select po.id, po.title, po.published_at from public.posts po
                   where po.author_id = p.id and po.published
                   order by po.published_at desc limit 5) x), '[]'),
           'full_view', p.id = (select auth.uid()) or public.authorize('users.read'))
  into v_user
  from public.profiles p
  where p.id = p_id;
  if v_user is null then
    raise exception 'user not found' using errcode = 'PT404', hint = 'User';
  end if;
  return v_user;
end;
$$;

-- GET /settings: settings.read holders (in user_roles now, not only in the token).
create or replace function public.get_settings()
returns json
language plpgsql
stable
security invoker
set search_path = ''
as $$
begin
  if not public.authorize('settings.read') then
    raise exception 'reading settings needs settings.read' using errcode = 'PT403',
      hint = 'This needs the settings.read permission';
  end if;
  return coalesce((select json_agg(json_build_object('key', s.key, 'value', s.value))
                   from public.app_settings s), '[]');
end;
$$;

-- ---------------------------------------------------------------------------------------
-- 7. Posts and the audit log, paged with a bounded count
-- ---------------------------------------------------------------------------------------

create index posts_published_created_at_idx on public.posts (created_at desc, id desc) where published;
drop index if exists public.posts_author_id_idx;
create index posts_author_id_created_at_idx on public.posts (author_id, created_at desc, id desc);
create index posts_created_at_idx on public.posts (created_at desc, id desc);

-- GET /posts: published posts and the caller's own drafts, newest first; everything
-- for posts.publish holders. Each part reads its own index.
create or replace function public.list_posts(p_limit integer default 20, p_offset integer default 0)
returns json
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_all boolean := public.authorize('posts.publish');
  v_uid uuid := (select auth.uid());
  v_items json;
  v_total bigint;
  v_cap integer := private.exact_count_limit();
begin
  perform private.check_page(p_limit, p_offset);
  if v_all then
    select coalesce(json_agg(row_to_json(x) order by x.created_at desc, x.id desc), '[]') into v_items
    from (select * from public.posts p order by p.created_at desc, p.id desc
          limit p_limit offset p_offset) x;
    select count(*) into v_total from (select 1 from public.posts limit v_cap + 1) c;
    if v_total > v_cap then
      select greatest(v_total, c.reltuples::bigint) into v_total
      from pg_catalog.pg_class c where c.oid = 'public.posts'::regclass;
    end if;
  else
    select coalesce(json_agg(row_to_json(x) order by x.created_at desc, x.id desc), '[]') into v_items
    from (
      select * from (
        (select * from public.posts p where p.published
         order by p.created_at desc, p.id desc limit p_offset + p_limit)
        union all
        (select * from public.posts p where p.author_id = v_uid and not p.published
         order by p.created_at desc, p.id desc limit p_offset + p_limit)
      ) visible
      order by visible.created_at desc, visible.id desc
      limit p_limit offset p_offset
    ) x;
    select count(*) into v_total from (
      (select 1 from public.posts p where p.published limit v_cap + 1)
      union all
      (select 1 from public.posts p where p.author_id = v_uid and not p.published limit v_cap + 1)
    ) c;
    if v_total > v_cap then
      v_total := greatest(v_total, private.estimate_posts(v_uid));
    end if;
  end if;
  return json_build_object('items', v_items, 'total', v_total);
end;
$$;

-- The planner's estimate of the posts a caller sees (published, or their own drafts).
create or replace function private.estimate_posts(p_author uuid)
returns bigint
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_plan json;
begin
  execute 'explain (format json) select 1 from public.posts p where p.published or p.author_id = $1'
    into v_plan using p_author;
  return (v_plan -> 0 -> 'Plan' ->> 'Plan Rows')::bigint;
end;
$$;

revoke all on function private.estimate_posts(uuid) from public;
grant execute on function private.estimate_posts(uuid) to authenticated, service_role;

-- GET /audit-log: admins (RLS: "audit_log: admins read"), newest first.
create or replace function public.list_audit_log(p_limit integer default 20, p_offset integer default 0)
returns json
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_items json;
  v_total bigint;
  v_cap integer := private.exact_count_limit();
begin
  perform private.check_page(p_limit, p_offset);
  if public.current_app_role() is distinct from 'admin' then
    raise exception 'the audit log is for admins' using errcode = 'PT403',
      hint = 'Only admins may read the audit log';
  end if;
  select coalesce(json_agg(json_build_object(
           'id', x.id, 'actor_id', x.actor_id, 'action', x.action, 'target', x.target,
           'metadata', x.metadata, 'ip', x.ip, 'user_agent', x.user_agent,
           'occurrences', x.occurrences, 'created_at', x.created_at, 'last_seen_at', x.last_seen_at)
         order by x.created_at desc, x.id desc), '[]')
  into v_items
  from (select * from public.audit_log a order by a.created_at desc, a.id desc
        limit p_limit offset p_offset) x;
  select count(*) into v_total from (select 1 from public.audit_log limit v_cap + 1) c;
  if v_total > v_cap then
    select greatest(v_total, c.reltuples::bigint) into v_total
    from pg_catalog.pg_class c where c.oid = 'public.audit_log'::regclass;
  end if;
  return json_build_object('items', v_items, 'total', v_total);
end;
$$;

drop index if exists public.audit_log_created_at_idx;
create index audit_log_created_at_id_idx on public.audit_log (created_at desc, id desc);

revoke all on function public.me() from public, anon;
revoke all on function public.get_user(uuid) from public, anon;
revoke all on function public.get_settings() from public, anon;
revoke all on function public.list_posts(integer, integer) from public, anon;
revoke all on function public.list_audit_log(integer, integer) from public, anon;
grant execute on function public.me() to authenticated;
grant execute on function public.get_user(uuid) to authenticated;
grant execute on function public.get_settings() to authenticated;
grant execute on function public.list_posts(integer, integer) to authenticated;
grant execute on function public.list_audit_log(integer, integer) to authenticated;

revoke all on function public.list_projects(uuid, integer, integer) from public, anon;
revoke all on function public.create_project(uuid, text, text) from public, anon;
revoke all on function public.update_project(uuid, jsonb) from public, anon;
revoke all on function public.delete_project(uuid) from public, anon;
grant execute on function public.list_projects(uuid, integer, integer) to authenticated;
grant execute on function public.create_project(uuid, text, text) to authenticated;
grant execute on function public.update_project(uuid, jsonb) to authenticated;
grant execute on function public.delete_project(uuid) to authenticated;

notify pgrst, 'reload schema';
