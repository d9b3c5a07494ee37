-- Tables for tools/devstack's auth-standin, the stand-in for Supabase Auth (GoTrue) used
-- by LOCAL development and tests only. Apply after bootstrap.sql. A real Supabase project
-- already has these tables (with more columns): never apply this file to one.
--
-- Shaped like Supabase's auth.refresh_tokens, auth.identities,
-- auth.mfa_amr_claims, auth.flow_state and auth.one_time_tokens (and a few auth.users
-- columns), reduced to the columns the stand-in uses; plus the stand-in's own mailbox
-- (schema auth_standin, which Supabase does not have). Idempotent: safe to run again on a
-- database where it already ran.

-- Passwords are bcrypt hashes checked with pgcrypto's crypt(), kept out of schema public
-- as Supabase keeps its extensions.
create extension if not exists pgcrypto with schema extensions;

-- auth.sessions is in bootstrap.sql (the migrations read it).

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

-- ---------------------------------------------------------------------------------------
-- Email sign-up, email links, OAuth with PKCE (GoTrue's names; the columns the stand-in
-- uses, plus the few GoTrue has next to them).
-- ---------------------------------------------------------------------------------------

-- auth.users' columns for pending confirmations and email changes (bootstrap.sql has
-- confirmation_token, recovery_token and invited_at already).
alter table auth.users add column if not exists confirmation_sent_at timestamptz;
alter table auth.users add column if not exists recovery_sent_at timestamptz;
alter table auth.users add column if not exists email_change_token_new varchar(255);
alter table auth.users add column if not exists email_change varchar(255);
alter table auth.users add column if not exists email_change_sent_at timestamptz;
alter table auth.users add column if not exists email_change_token_current varchar(255) default '';
alter table auth.users add column if not exists email_change_confirm_status smallint default 0;

-- One row per way of signing in (email, github, google, ...). provider_id is the user's
-- id for email and the provider's subject otherwise; email follows identity_data.
create table if not exists auth.identities (
  provider_id text not null,
  user_id uuid not null references auth.users (id) on delete cascade,
  identity_data jsonb not null,
  provider text not null,
  last_sign_in_at timestamptz,
  created_at timestamptz,
  updated_at timestamptz,
  email text generated always as (lower(identity_data ->> 'email')) stored,
  id uuid primary key default gen_random_uuid(),
  constraint identities_provider_id_provider_unique unique (provider_id, provider)
);
create index if not exists identities_user_id_idx on auth.identities (user_id);
create index if not exists identities_email_idx on auth.identities (email text_pattern_ops);
alter table auth.identities owner to supabase_auth_admin;

-- The authentication methods of each session (the access token's amr claim).
create table if not exists auth.mfa_amr_claims (
  session_id uuid not null references auth.sessions (id) on delete cascade,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  authentication_method text not null,
  id uuid primary key default gen_random_uuid(),
  constraint mfa_amr_claims_session_id_authentication_method_pkey unique (session_id, authentication_method)
);
alter table auth.mfa_amr_claims owner to supabase_auth_admin;

-- OAuth flows: the state (id) between /authorize and the provider's answer, and the
-- PKCE auth code exchanged at /token?grant_type=pkce.
do $$ begin
  create type auth.code_challenge_method as enum ('s256', 'plain');
exception when duplicate_object then null;
end $$;
alter type auth.code_challenge_method owner to supabase_auth_admin;

create table if not exists auth.flow_state (
  id uuid primary key,
  user_id uuid,
  auth_code text,
  code_challenge_method auth.code_challenge_method,
  code_challenge text,
  provider_type text not null,
  provider_access_token text,
  provider_refresh_token text,
  created_at timestamptz,
  updated_at timestamptz,
  authentication_method text not null,
  auth_code_issued_at timestamptz,
  referrer text
);
create index if not exists idx_auth_code on auth.flow_state (auth_code);
create index if not exists idx_user_id_auth_method on auth.flow_state (user_id, authentication_method);
create index if not exists flow_state_created_at_idx on auth.flow_state (created_at desc);
alter table auth.flow_state owner to supabase_auth_admin;

-- The token hash of every pending email link, one per user and kind.
do $$ begin
  create type auth.one_time_token_type as enum (
    'confirmation_token',
    'reauthentication_token',
    'recovery_token',
    'email_change_token_new',
    'email_change_token_current',
    'phone_change_token'
  );
exception when duplicate_object then null;
end $$;
alter type auth.one_time_token_type owner to supabase_auth_admin;

create table if not exists auth.one_time_tokens (
  id uuid primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  token_type auth.one_time_token_type not null,
  token_hash text not null check (char_length(token_hash) > 0),
  relates_to text not null,
  created_at timestamp without time zone not null default now(),
  updated_at timestamp without time zone not null default now()
);
create index if not exists one_time_tokens_token_hash_hash_idx on auth.one_time_tokens using hash (token_hash);
create index if not exists one_time_tokens_relates_to_hash_idx on auth.one_time_tokens using hash (relates_to);
create unique index if not exists one_time_tokens_user_id_token_type_key on auth.one_time_tokens (user_id, token_type);
alter table auth.one_time_tokens owner to supabase_auth_admin;

-- STAND-IN ONLY (no Supabase equivalent in the database): the stand-in sends no mail; each
-- email it would send is a row here, as Supabase's local stack shows it in Inbucket/Mailpit.
-- Read and cleared through GET/DELETE /auth/v1/_dev/mailbox (service role).
create schema if not exists auth_standin authorization supabase_auth_admin;
create table if not exists auth_standin.mailbox (
  id bigserial primary key,
  recipient text not null,
  type text not null check (type in ('confirmation', 'magiclink', 'recovery', 'email_change', 'invite')),
  token_hash text not null,
  redirect_to text not null,
  user_id uuid,
  sent_at timestamptz not null default now()
);
create index if not exists mailbox_recipient_idx on auth_standin.mailbox (lower(recipient), sent_at desc);
alter table auth_standin.mailbox owner to supabase_auth_admin;
