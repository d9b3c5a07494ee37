-- Tables for tools/devstack's auth-standin, the stand-in for Supabase Auth (GoTrue) used
-- by LOCAL development and tests only. Apply after bootstrap.sql. A real Supabase project
-- already has these tables (with more columns): never apply this file to one.
--
-- Shaped like Supabase's auth.sessions and auth.refresh_tokens, reduced to the columns
-- the stand-in uses. Idempotent: safe to run again on a database where it already ran.

-- Passwords are bcrypt hashes checked with pgcrypto's crypt(), kept out of schema public
-- as Supabase keeps its extensions.
create extension if not exists pgcrypto with schema extensions;

create table if not exists auth.sessions (
  id uuid primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),
  aal text
);
create index if not exists sessions_user_id_idx on auth.sessions (user_id);
alter table auth.sessions owner to supabase_auth_admin;

-- Supabase stores user_id as varchar(255); uuid here. Deleting a session (sign-out, user
-- deletion) deletes its refresh tokens.
create table if not exists auth.refresh_tokens (
  id bigserial primary key,
  token varchar(255) unique,
  user_id uuid,
  session_id uuid references auth.sessions (id) on delete cascade,
  revoked boolean default false,
  parent varchar(255),
  created_at timestamptz default now(),
  updated_at timestamptz default now()
);
create index if not exists refresh_tokens_session_id_revoked_idx on auth.refresh_tokens (session_id, revoked);
create index if not exists refresh_tokens_parent_idx on auth.refresh_tokens (parent);
alter table auth.refresh_tokens owner to supabase_auth_admin;
