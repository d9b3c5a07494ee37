-- Supabase's platform objects, recreated on plain PostgreSQL for LOCAL development and
-- tests only. A real Supabase project already has all of this: never apply this file
-- to one. Mirrors what Supabase defines today for the parts the migrations rely on:
-- the API roles, the auth schema with auth.users, auth.uid()/role()/email()/jwt(),
-- and the default privileges of schema public.
--
-- Roles are cluster-wide and several test databases may bootstrap at once, so each
-- role is created only when missing and a concurrent duplicate is ignored.

do $$
declare
  r record;
begin
  for r in
    select * from (values
      ('anon', 'nologin noinherit'),
      ('authenticated', 'nologin noinherit'),
      ('service_role', 'nologin noinherit bypassrls'),
      ('authenticator', 'login noinherit'),
      ('supabase_auth_admin', 'nologin noinherit createrole')
    ) as t(name, options)
  loop
    if not exists (select 1 from pg_roles where rolname = r.name) then
      begin
        execute format('create role %I %s', r.name, r.options);
      exception when duplicate_object or unique_violation then
        null;
      end;
    end if;
  end loop;
end
$$;

grant anon, authenticated, service_role to authenticator;

-- Schemas for extensions (kept out of the exposed API schema, as Supabase does).
create schema if not exists extensions;
grant usage on schema extensions to anon, authenticated, service_role;
-- pgcrypto, as every Supabase project has it in schema extensions (crypt(): bcrypt, the
-- hash Supabase Auth stores passwords as).
create extension if not exists pgcrypto with schema extensions;

create schema if not exists auth authorization supabase_auth_admin;
grant usage on schema auth to anon, authenticated, service_role, postgres;

create table if not exists auth.users (
  instance_id uuid,
  id uuid primary key,
  aud varchar(255),
  role varchar(255),
  email varchar(255),
  encrypted_password varchar(255),
  email_confirmed_at timestamptz,
  invited_at timestamptz,
  confirmation_token varchar(255),
  recovery_token varchar(255),
  last_sign_in_at timestamptz,
  raw_app_meta_data jsonb,
  raw_user_meta_data jsonb,
  is_super_admin boolean,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),
  phone text unique,
  phone_confirmed_at timestamptz,
  banned_until timestamptz,
  deleted_at timestamptz,
  is_sso_user boolean not null default false,
  is_anonymous boolean not null default false
);
-- The rest of Supabase's token columns, which GoTrue reads as strings (seed.sql writes
-- them as '' for the real service).
alter table auth.users add column if not exists phone_change text default '';
alter table auth.users add column if not exists phone_change_token varchar(255) default '';
alter table auth.users add column if not exists reauthentication_token varchar(255) default '';
create unique index if not exists users_email_partial_key on auth.users (email) where (is_sso_user = false);
alter table auth.users owner to supabase_auth_admin;

-- Sessions as Supabase Auth keeps them (GoTrue's migrations): one row per sign-in, named
-- by the access token's session_id; sign-out deletes it (refresh tokens go with it).
-- The migrations' request gate reads it (private.session_is_live). refreshed_at is
-- `timestamp without time zone` (UTC) in GoTrue's schema, not a typo.
do $$ begin
  create type auth.aal_level as enum ('aal1', 'aal2', 'aal3');
exception when duplicate_object then null;
end $$;
alter type auth.aal_level owner to supabase_auth_admin;
create table if not exists auth.sessions (
  id uuid primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),
  factor_id uuid,
  aal auth.aal_level,
  not_after timestamptz,
  refreshed_at timestamp without time zone,
  user_agent text,
  ip inet,
  tag text
);
-- A database bootstrapped before these columns were here (make dev keeps its database).
set client_min_messages = warning;
alter table auth.sessions add column if not exists factor_id uuid;
alter table auth.sessions add column if not exists not_after timestamptz;
alter table auth.sessions add column if not exists refreshed_at timestamp without time zone;
alter table auth.sessions add column if not exists user_agent text;
alter table auth.sessions add column if not exists ip inet;
alter table auth.sessions add column if not exists tag text;
reset client_min_messages;
create index if not exists sessions_user_id_idx on auth.sessions (user_id);
create index if not exists sessions_not_after_idx on auth.sessions (not_after desc);
alter table auth.sessions owner to supabase_auth_admin;

-- As Supabase defines them (auth schema migrations): claims come from PostgREST's
-- request.jwt.claims, with the pre-v10 request.jwt.claim.* settings as fallback.
create or replace function auth.uid() returns uuid
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

create or replace function auth.role() returns text
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;

create or replace function auth.email() returns text
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
  )::text
$$;

create or replace function auth.jwt() returns jsonb
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

alter function auth.uid() owner to supabase_auth_admin;
alter function auth.role() owner to supabase_auth_admin;
alter function auth.email() owner to supabase_auth_admin;
alter function auth.jwt() owner to supabase_auth_admin;
grant execute on function auth.uid(), auth.role(), auth.email(), auth.jwt()
  to anon, authenticated, service_role;

-- Schema public as Supabase sets it up: the API roles may use it, and objects the
-- migrations create are granted to them by default (RLS then decides row by row).
grant usage on schema public to anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
