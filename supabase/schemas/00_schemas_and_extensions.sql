-- supabase/schemas/: the current definition of every database object of this project,
-- each in one place, grouped by topic (Supabase's declarative schemas: config.toml
-- [db.migrations] schema_paths; the files apply in lexicographic order, so their numbers
-- order what depends on what).
--
-- supabase/migrations/ stays the deploy path. A change is a new migration AND the same
-- edit here; scripts/schema-check.sh (run by `make test`) builds one database from each
-- and fails on any difference. Two things here are not schema objects, and `supabase db
-- diff` does not write them into a migration: the reference rows (inserts into
-- role_permissions, app_settings, rate_limit_rules) and the request gate's role setting
-- (pgrst.db_pre_request); the check compares them too.
--
-- Supabase's own objects are not here: the roles anon, authenticated, service_role,
-- authenticator and supabase_auth_admin, the schemas auth and extensions, auth.users,
-- auth.sessions and the rest of Supabase Auth's tables, auth.uid() and friends. Every
-- Supabase project has them (locally: supabase/local/bootstrap.sql and auth-standin.sql).

-- Private helpers live outside the exposed schema (PostgREST serves only public). The
-- API roles call what is granted to them; anon only the request gate
-- (14_request_gate.sql).
create schema if not exists private;
grant usage on schema private to authenticated, service_role;
grant usage on schema private to anon;

-- Supabase Auth runs the hooks (custom_access_token_hook, before_user_created_hook) as
-- supabase_auth_admin.
grant usage on schema public to supabase_auth_admin;

-- Trigram indexes for GET /users?search= (05_profiles.sql), in schema extensions as
-- Supabase keeps its extensions.
create extension if not exists pg_trgm with schema extensions;

-- updated_at follows every update of a row that has one (a before update trigger).
create or replace function private.set_updated_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end;
$$;
