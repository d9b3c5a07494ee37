-- Profiles: one row per auth user, created by a trigger when the auth user is created,
-- and the user's email in a table of its own (profile_emails), readable by its owner and
-- users.read holders only. The functions of GET /users, /users/{id} and /me.

create table public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  full_name public.full_name,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- The sanitizer's output (validate::sanitize_bio), not the kind the API checks (BIO).
  bio text check (bio is null or char_length(bio) <= 4000),
  website public.website,
  public_profile boolean not null default false,
  -- When the user first signed in through the API (null: never; public.record_sign_in).
  -- Not writable by users (the update grant names its columns).
  first_signed_in_at timestamptz,
  -- The text rule (02_text_rules.sql) of the column no kind's domain (02_text_types.sql) covers.
  constraint profiles_bio_rule check (bio is null or private.is_safe_html(bio))
);

comment on table public.profiles is 'Public data of each auth user; created by on_auth_user_created.';

-- Newest first, ties by id (GET /users); public profiles; names matched by trigram
-- (`ilike '%term%'` without reading every profile, for terms of three characters or more).
create index profiles_created_at_id_idx on public.profiles (created_at desc, id desc);
create index profiles_public_profile_idx on public.profiles (public_profile) where public_profile;
create index profiles_full_name_trgm_idx on public.profiles
  using gin (full_name extensions.gin_trgm_ops);

create trigger profiles_set_updated_at
  before update on public.profiles
  for each row execute function private.set_updated_at();

-- Admins' changes to other people's profiles are audited (03_audit_log.sql).
create trigger profiles_audit
  after update on public.profiles
  for each row execute function private.audit_admin_change();

alter table public.profiles enable row level security;

-- Nothing for anonymous callers; signed-in users change their own public fields only.
revoke all on table public.profiles from anon;
revoke insert, update, delete, truncate on table public.profiles from authenticated;
grant update (full_name, bio, website, public_profile) on table public.profiles to authenticated;

create policy "profiles: read own, public ones, or users.read" on public.profiles
  for select to authenticated
  using (
    id = (select auth.uid())
    or public_profile
    or (select public.authorize('users.read'))
  );

create policy "profiles: update own, or users.write" on public.profiles
  for update to authenticated
  using (id = (select auth.uid()) or (select public.authorize('users.write')))
  with check (id = (select auth.uid()) or (select public.authorize('users.write')));

-- Each user's email, kept in step with auth.users (the triggers below); never written
-- through the API.
create table public.profile_emails (
  id uuid primary key references public.profiles (id) on delete cascade,
  email text
);
comment on table public.profile_emails is
  'Each user''s email, readable by the user and users.read holders; kept in step with auth.users.';

create index profile_emails_email_trgm_idx on public.profile_emails
  using gin (email extensions.gin_trgm_ops);

alter table public.profile_emails enable row level security;
revoke all on table public.profile_emails from anon, authenticated;
grant select on table public.profile_emails to authenticated;
-- No writes through the API: the address follows auth.users (the trigger below).

create policy "profile_emails: own, or users.read" on public.profile_emails
  for select to authenticated
  using (id = (select auth.uid()) or (select public.authorize('users.read')));

-- A new auth user gets a profile and its email row. Runs as the owner: the inserting role
-- (Supabase Auth) has no rights on them. A name from sign-up metadata is whatever the
-- client sent Supabase Auth: trimmed and cut to 100 characters, and kept only if it is a
-- full_name (else null): the domain decides, so a name it refuses never fails the sign-up.
create or replace function private.handle_new_user()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_space text := E' \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';
  v_name text := btrim(left(btrim(coalesce(new.raw_user_meta_data ->> 'full_name',
                                           new.raw_user_meta_data ->> 'name', ''), v_space), 100), v_space);
begin
  begin
    v_name := v_name::public.full_name;
  exception when check_violation then
    v_name := null;
  end;
  insert into public.profiles (id, full_name) values (new.id, v_name);
  insert into public.profile_emails (id, email) values (new.id, new.email);
  return new;
end;
$$;

create trigger on_auth_user_created
  after insert on auth.users
  for each row execute function private.handle_new_user();

-- An email change in Supabase Auth reaches the profile.
create or replace function private.sync_profile_email()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update public.profile_emails set email = new.email where id = new.id;
  return new;
end;
$$;

create trigger on_auth_user_email_changed
  after update of email on auth.users
  for each row when (old.email is distinct from new.email)
  execute function private.sync_profile_email();

-- ---------------------------------------------------------------------------------------
-- Users: GET /users?search= at a million profiles, GET /users/{id}, GET /me
-- ---------------------------------------------------------------------------------------

-- Searching by name or email is for users.read holders (the API's GET /users rule): the
-- text is data, never pattern syntax (% _ \ are escaped) and never PostgREST filter
-- syntax (it arrives as a JSON parameter). RLS on profiles applies (security invoker).
create or replace function public.search_users(p_search text default null)
returns setof public.profiles
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_pattern text := '%' || replace(replace(replace(coalesce(p_search, ''), '\', '\\'), '%', '\%'), '_', '\_') || '%';
begin
  if not public.authorize('users.read') then
    raise exception 'searching users needs users.read' using errcode = '42501';
  end if;
  return query
    select p.* from public.profiles p
    where coalesce(p_search, '') = ''
       or p.full_name ilike v_pattern escape '\'
       or exists (select 1 from public.profile_emails e
                  where e.id = p.id and e.email ilike v_pattern escape '\');
end;
$$;

revoke all on function public.search_users(text) from public, anon;
grant execute on function public.search_users(text) to authenticated;

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

revoke all on function public.me() from public, anon;
revoke all on function public.get_user(uuid) from public, anon;
grant execute on function public.me() to authenticated;
grant execute on function public.get_user(uuid) to authenticated;
