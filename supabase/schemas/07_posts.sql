-- Posts: written by posts.write holders, published by posts.publish holders, deleted by
-- their author or posts.delete holders; the routes' functions.

create table public.posts (
  id uuid primary key default gen_random_uuid(),
  author_id uuid not null default auth.uid() references public.profiles (id) on delete cascade,
  title public.title not null,
  body public.post_body not null default '',
  published boolean not null default false,
  published_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- Newest first, ties by id: every post, the published ones, an author's own (GET /posts
-- reads each part through its own index); the newest published of a user (/users/{id}).
create index posts_created_at_idx on public.posts (created_at desc, id desc);
create index posts_published_created_at_idx on public.posts (created_at desc, id desc) where published;
create index posts_author_id_created_at_idx on public.posts (author_id, created_at desc, id desc);
create index posts_published_idx on public.posts (published_at desc) where published;

create trigger posts_set_updated_at
  before update on public.posts
  for each row execute function private.set_updated_at();

-- Publishing is posts.publish's alone, whatever the column privileges allow.
create or replace function private.guard_post_publishing()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  -- Outside a user's request (migrations, seed, service role) there is no one to check.
  v_checked boolean := (select auth.uid()) is not null;
begin
  if not v_checked then
    null;
  elsif tg_op = 'INSERT' then
    if new.published and not public.authorize('posts.publish') then
      raise exception 'publishing needs posts.publish' using errcode = '42501';
    end if;
  elsif new.published is distinct from old.published then
    if not public.authorize('posts.publish') then
      raise exception 'publishing needs posts.publish' using errcode = '42501';
    end if;
  end if;
  if new.published and new.published_at is null then
    new.published_at := now();
  elsif not new.published then
    new.published_at := null;
  end if;
  return new;
end;
$$;

create trigger posts_guard_publishing
  before insert or update on public.posts
  for each row execute function private.guard_post_publishing();

alter table public.posts enable row level security;
revoke all on table public.posts from anon;
revoke insert, update, truncate on table public.posts from authenticated;
grant insert (title, body) on table public.posts to authenticated;
grant update (title, body, published) on table public.posts to authenticated;

create policy "posts: published, own, or posts.publish" on public.posts
  for select to authenticated
  using (
    published
    or author_id = (select auth.uid())
    or (select public.authorize('posts.publish'))
  );

create policy "posts: posts.write creates own" on public.posts
  for insert to authenticated
  with check ((select public.authorize('posts.write')) and author_id = (select auth.uid()));

create policy "posts: author or posts.publish updates" on public.posts
  for update to authenticated
  using (
    (author_id = (select auth.uid()) and (select public.authorize('posts.write')))
    or (select public.authorize('posts.publish'))
  )
  with check (
    (author_id = (select auth.uid()) and (select public.authorize('posts.write')))
    or (select public.authorize('posts.publish'))
  );

create policy "posts: author or posts.delete deletes" on public.posts
  for delete to authenticated
  using (author_id = (select auth.uid()) or (select public.authorize('posts.delete')));

-- ---------------------------------------------------------------------------------------
-- The routes' functions
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

-- POST /posts: the insert as the caller (RLS and the publishing guard decide), so a
-- key can come with it.
create or replace function public.create_post(p_title text, p_body text default '')
returns json
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_post public.posts;
  v_replay jsonb;
begin
  v_replay := private.idempotent_replay('create_post',
    jsonb_build_object('title', p_title, 'body', p_body));
  if v_replay is not null then
    return v_replay::json;
  end if;
  insert into public.posts (title, body)
  values (p_title, coalesce(p_body, ''))
  returning * into v_post;
  perform private.idempotent_store(to_jsonb(v_post));
  return row_to_json(v_post);
end;
$$;

-- POST /posts/{id}/publish: as the caller (RLS, and the guard lets posts.publish
-- holders alone publish); PT404 when the caller cannot see or change the post.
create or replace function public.publish_post(p_id uuid)
returns json
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_post public.posts;
  v_replay jsonb;
begin
  v_replay := private.idempotent_replay('publish_post', jsonb_build_object('id', p_id));
  if v_replay is not null then
    return v_replay::json;
  end if;
  update public.posts set published = true
  where id = p_id
  returning * into v_post;
  if v_post.id is null then
    raise exception 'no such post' using errcode = 'PT404', hint = 'Post';
  end if;
  perform private.idempotent_store(to_jsonb(v_post));
  return row_to_json(v_post);
end;
$$;

revoke all on function public.list_posts(integer, integer) from public, anon;
revoke all on function public.create_post(text, text), public.publish_post(uuid) from public, anon;
grant execute on function public.list_posts(integer, integer) to authenticated;
grant execute on function public.create_post(text, text), public.publish_post(uuid) to authenticated;
