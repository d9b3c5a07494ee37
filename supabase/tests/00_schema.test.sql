-- The security surface of the exposed schema, read from the catalogs: RLS on every
-- table, every policy naming its role, what anon and authenticated may touch at all,
-- security definer hygiene, the RBAC grants (authorize, the access token hook), and
-- indexes under the columns policies filter on.
-- Behaviour (who sees and changes which rows) is tested in the files that follow.
begin;
set search_path = extensions, public;
select plan(38);

-- Row-level security -----------------------------------------------------------------

select tables_are(
  'public',
  array['profiles', 'profile_emails', 'workspaces', 'workspace_members', 'projects', 'audit_log',
        'user_roles', 'role_permissions', 'posts', 'app_settings', 'uploads', 'rate_limit_rules'],
  'public holds exactly the tables these tests know about'
);

select is_empty(
  $$
    select c.relname
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relrowsecurity
  $$,
  'every table in public has row-level security enabled'
);

select results_eq(
  $$
    select c.relname::text collate "default", c.relrowsecurity
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind in ('r', 'p')
    order by c.relname
  $$,
  $$
    values ('app_settings', true), ('audit_log', true), ('posts', true), ('profile_emails', true), ('profiles', true),
           ('projects', true), ('rate_limit_rules', true), ('role_permissions', true), ('uploads', true),
           ('user_roles', true), ('workspace_members', true), ('workspaces', true)
  $$,
  'RLS is on for every table: app_settings, audit_log, posts, profile_emails, profiles, projects, rate_limit_rules, role_permissions, uploads, user_roles, workspace_members, workspaces'
);

select is_empty(
  $$
    select c.relname
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind = 'v'
      and not coalesce(c.reloptions @> array['security_invoker=true'], false)
  $$,
  'no view in public runs as its owner (which would bypass RLS)'
);

select is_empty(
  $$ select tablename, policyname from pg_policies where schemaname = 'public' and 'public' = any (roles) $$,
  'every policy names its role (none applies to PUBLIC)'
);

select results_eq(
  $$
    select tablename::text collate "default", policyname::text collate "default", cmd, roles::text collate "default"
    from pg_policies
    where schemaname = 'public'
    order by tablename, cmd, policyname
  $$,
  $$
    values
      ('app_settings', 'app_settings: settings.write inserts', 'INSERT', '{authenticated}'),
      ('app_settings', 'app_settings: settings.read', 'SELECT', '{authenticated}'),
      ('app_settings', 'app_settings: settings.write updates', 'UPDATE', '{authenticated}'),
      ('audit_log', 'audit_log: admins read', 'SELECT', '{authenticated}'),
      ('posts', 'posts: author or posts.delete deletes', 'DELETE', '{authenticated}'),
      ('posts', 'posts: posts.write creates own', 'INSERT', '{authenticated}'),
      ('posts', 'posts: published, own, or posts.publish', 'SELECT', '{authenticated}'),
      ('posts', 'posts: author or posts.publish updates', 'UPDATE', '{authenticated}'),
      ('profile_emails', 'profile_emails: own, or users.read', 'SELECT', '{authenticated}'),
      ('profiles', 'profiles: read own, public ones, or users.read', 'SELECT', '{authenticated}'),
      ('profiles', 'profiles: update own, or users.write', 'UPDATE', '{authenticated}'),
      ('projects', 'projects: admins delete', 'DELETE', '{authenticated}'),
      ('projects', 'projects: admins and editors create', 'INSERT', '{authenticated}'),
      ('projects', 'projects: members read', 'SELECT', '{authenticated}'),
      ('projects', 'projects: admins and editors update', 'UPDATE', '{authenticated}'),
      ('role_permissions', 'role_permissions: signed-in users read', 'SELECT', '{authenticated}'),
      ('uploads', 'uploads: owners delete', 'DELETE', '{authenticated}'),
      ('uploads', 'uploads: owners create pending', 'INSERT', '{authenticated}'),
      ('uploads', 'uploads: owners read', 'SELECT', '{authenticated}'),
      ('user_roles', 'user_roles: auth admin reads', 'SELECT', '{supabase_auth_admin}'),
      ('user_roles', 'user_roles: read own, or users.read', 'SELECT', '{authenticated}'),
      ('user_roles', 'user_roles: users.write changes others'' roles', 'UPDATE', '{authenticated}'),
      ('workspace_members', 'workspace_members: admins remove', 'DELETE', '{authenticated}'),
      ('workspace_members', 'workspace_members: admins add', 'INSERT', '{authenticated}'),
      ('workspace_members', 'workspace_members: members read', 'SELECT', '{authenticated}'),
      ('workspace_members', 'workspace_members: admins change roles', 'UPDATE', '{authenticated}'),
      ('workspaces', 'workspaces: admins delete', 'DELETE', '{authenticated}'),
      ('workspaces', 'workspaces: members read', 'SELECT', '{authenticated}'),
      ('workspaces', 'workspaces: admins update', 'UPDATE', '{authenticated}')
  $$,
  'the policies are exactly these, one command and role each (no INSERT policy on workspaces, user_roles or role_permissions; only admins'' SELECT on audit_log; no DELETE on app_settings; no UPDATE on uploads; none on rate_limit_rules)'
);

-- Privileges -------------------------------------------------------------------------

select is_empty(
  $$
    select c.relname
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm', 'f')
      and (has_table_privilege('anon', c.oid, 'select, insert, update, delete, truncate, references, trigger')
           or has_any_column_privilege('anon', c.oid, 'select, insert, update, references'))
  $$,
  'anon has no privilege on any table in public'
);

select results_eq(
  $$
    select p.oid::regprocedure::text collate "default"
    from pg_proc p
    join pg_namespace n on n.oid = p.pronamespace
    where n.nspname in ('public', 'private') and has_function_privilege('anon', p.oid, 'execute')
      and p.prorettype <> 'trigger'::regtype
  $$,
  $$ values ('private.check_request()') $$,
  'anon may execute no function in public or private but the request gate (PostgREST runs it for every request)'
);

select ok(
  has_schema_privilege('anon', 'private', 'usage') and not has_schema_privilege('anon', 'private', 'create'),
  'anon uses schema private (for the request gate alone) and cannot create in it'
);

-- authenticated has usage on private (the policy helpers live there), so its tables
-- must refuse it themselves.
select is_empty(
  $$
    select r.rolname, c.relname
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    cross join (values ('anon'), ('authenticated')) as r(rolname)
    where n.nspname = 'private' and c.relkind in ('r', 'p', 'v', 'm', 'f')
      and (has_table_privilege(r.rolname, c.oid, 'select, insert, update, delete, truncate, references, trigger')
           or has_any_column_privilege(r.rolname, c.oid, 'select, insert, update, references'))
  $$,
  'neither anon nor authenticated has any privilege on a table in private (rate_limit_counters)'
);

select results_eq(
  $$
    select (n.nspname || '.' || p.proname) collate "default"
    from pg_proc p
    join pg_namespace n on n.oid = p.pronamespace
    where n.nspname in ('public', 'private') and has_function_privilege('authenticated', p.oid, 'execute')
      and p.prorettype <> 'trigger'::regtype
    order by 1
  $$,
  $$
    values ('private.check_page'), ('private.check_request'), ('private.estimate_posts'),
           ('private.estimate_projects'), ('private.estimate_users'),
           ('private.exact_count_limit'), ('private.idempotent_replay'),
           ('private.idempotent_store'), ('private.is_file_name'),
           ('private.is_free_text'), ('private.is_https_url'), ('private.is_person_name'),
           ('private.is_plain_text'), ('private.is_safe_html'),
           ('private.member_workspace_ids'), ('private.post_author'),
           ('private.project_workspace'), ('private.request_idempotency_key'),
           ('private.require_workspace_role'), ('private.search_profile_ids'),
           ('private.user_item'), ('private.workspace_ids_with_role'),
           ('public.add_workspace_member'), ('public.authorize'),
           ('public.claim_idempotency_key'), ('public.create_post'),
           ('public.create_project'), ('public.create_upload'),
           ('public.create_workspace'), ('public.current_app_role'),
           ('public.delete_post'), ('public.delete_project'),
           ('public.export_my_data'), ('public.finish_user_creation'), ('public.get_settings'), ('public.get_user'),
           ('public.hit_route_limit'), ('public.list_audit_log'),
           ('public.list_my_sessions'), ('public.list_posts'),
           ('public.list_projects'), ('public.list_users'), ('public.me'),
           ('public.publish_post'), ('public.release_idempotency_key'),
           ('public.remove_workspace_member'), ('public.revoke_my_session'),
           ('public.search_users'),
           ('public.update_post'), ('public.update_project')
  $$,
  'authenticated may execute exactly these functions in public and private (hit_route_limit keys by auth.uid() itself; the text rules run in CHECK constraints as the writer; the route functions of migrations 20261202000000 and 20261203000000 run as the caller; the session functions of 20261207000000 read auth.sessions for the caller alone; export_my_data of 20261208000400 reads the caller''s own rows)'
);

-- The rate-limit rules are read only by the definer functions (and the service role):
-- no policy (checked above) and no privilege for the API roles, not even SELECT.
select is_empty(
  $$
    select r.rolname
    from (values ('anon'), ('authenticated')) as r(rolname)
    where has_table_privilege(r.rolname, 'public.rate_limit_rules', 'select, insert, update, delete, truncate, references, trigger')
       or has_any_column_privilege(r.rolname, 'public.rate_limit_rules', 'select, insert, update, references')
  $$,
  'neither anon nor authenticated has any privilege on rate_limit_rules'
);

-- PUBLIC is read from the ACL (a missing ACL means the default: PUBLIC may execute).
select results_eq(
  $$
    select p.proname::text collate "default",
           has_function_privilege('anon', p.oid, 'execute'),
           has_function_privilege('authenticated', p.oid, 'execute'),
           has_function_privilege('service_role', p.oid, 'execute'),
           exists (
             select 1 from aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
             where a.grantee = 0 and a.privilege_type = 'EXECUTE'
           )
    from pg_proc p
    join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'public' and p.proname in ('record_audit_event', 'hit_rate_limit', 'hit_subject_limit', 'peek_subject_limit', 'set_upload_status')
    order by 1
  $$,
  $$
    values ('hit_rate_limit', false, false, true, false),
           ('hit_subject_limit', false, false, true, false),
           ('peek_subject_limit', false, false, true, false),
           ('record_audit_event', false, false, true, false),
           ('set_upload_status', false, false, true, false)
  $$,
  'record_audit_event, hit_rate_limit, hit_subject_limit, peek_subject_limit and set_upload_status: one overload each, executable by service_role only (not anon, authenticated or PUBLIC)'
);

-- The rate limiter: every entry point is security definer (the counters are in private,
-- where no API role may touch them); the counting core count_hit is for no API role at
-- all (not even service_role: it goes through hit_rate_limit, a SQL wrapper);
-- hit_route_limit is the only one a signed-in user may call.
select results_eq(
  $$
    select (n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')') collate "default",
           p.prosecdef,
           l.lanname::text collate "default",
           has_function_privilege('anon', p.oid, 'execute'),
           has_function_privilege('authenticated', p.oid, 'execute'),
           has_function_privilege('service_role', p.oid, 'execute'),
           exists (
             select 1 from aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
             where a.grantee = 0 and a.privilege_type = 'EXECUTE'
           )
    from pg_proc p
    join pg_namespace n on n.oid = p.pronamespace
    join pg_language l on l.oid = p.prolang
    where n.nspname in ('public', 'private')
      and p.proname in ('count_hit', 'hit_rate_limit', 'hit_route_limit', 'hit_subject_limit')
    order by 1
  $$,
  $$
    values
      ('private.count_hit(p_key text, p_limit integer, p_window_seconds integer)', true, 'plpgsql', false, false, false, false),
      ('public.hit_rate_limit(p_key text, p_limit integer, p_window_seconds integer)', true, 'sql', false, false, true, false),
      ('public.hit_route_limit(p_rule text)', true, 'plpgsql', false, true, true, false),
      ('public.hit_subject_limit(p_rule text, p_subject text)', true, 'plpgsql', false, false, true, false)
  $$,
  'rate limiter: count_hit for no API role; hit_rate_limit (SQL wrapper) and hit_subject_limit for service_role; hit_route_limit for authenticated and service_role; all definer, none for anon or PUBLIC, one overload each'
);

-- Only the service role moves an upload out of pending (users have no UPDATE on uploads).
select results_eq(
  $$
    select p.oid::regprocedure::text collate "default", p.prosecdef, p.prorettype::regtype::text collate "default"
    from pg_proc p
    join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'public' and p.proname = 'set_upload_status'
  $$,
  $$ values ('set_upload_status(uuid,uuid,boolean,text)', true, 'uploads') $$,
  'set_upload_status(uuid, uuid, boolean, text) is security definer and returns the uploads row'
);

-- The RBAC functions: authorize() and current_app_role() read user_roles whatever its
-- RLS says (security definer); search_users() runs under the caller's RLS; the access
-- token hook is Supabase Auth's alone (supabase_auth_admin), never the API's.
select results_eq(
  $$
    select p.proname::text collate "default",
           p.prosecdef,
           has_function_privilege('anon', p.oid, 'execute'),
           has_function_privilege('authenticated', p.oid, 'execute'),
           has_function_privilege('service_role', p.oid, 'execute'),
           has_function_privilege('supabase_auth_admin', p.oid, 'execute'),
           exists (
             select 1 from aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
             where a.grantee = 0 and a.privilege_type = 'EXECUTE'
           )
    from pg_proc p
    join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'public'
      and p.proname in ('authorize', 'current_app_role', 'custom_access_token_hook', 'search_users')
    order by 1
  $$,
  $$
    values ('authorize', true, false, true, true, false, false),
           ('current_app_role', true, false, true, true, false, false),
           ('custom_access_token_hook', false, false, false, true, true, false),
           ('search_users', false, false, true, true, false, false)
  $$,
  'authorize/current_app_role (definer), search_users (invoker) for authenticated; the token hook for supabase_auth_admin only; none for anon or PUBLIC; one overload each'
);

select ok(
  has_schema_privilege('supabase_auth_admin', 'public', 'usage'),
  'supabase_auth_admin has usage on schema public (to call the token hook)'
);

select results_eq(
  $$
    select c.relname::text collate "default", t.priv
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    cross join (values ('SELECT'), ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE'), ('REFERENCES'), ('TRIGGER')) as t(priv)
    where n.nspname = 'public' and c.relkind in ('r', 'p')
      and has_table_privilege('supabase_auth_admin', c.oid, t.priv)
    order by 1, 2
  $$,
  $$ values ('user_roles', 'SELECT') $$,
  'supabase_auth_admin may only read user_roles in public (what the token hook needs)'
);

select results_eq(
  $$
    select c.relname::text collate "default", t.priv
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    cross join (values ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE')) as t(priv)
    where n.nspname = 'public' and c.relkind in ('r', 'p')
      and has_table_privilege('authenticated', c.oid, t.priv)
    order by 1, 2
  $$,
  $$ values ('posts', 'DELETE'), ('projects', 'DELETE'), ('uploads', 'DELETE'), ('workspace_members', 'DELETE'), ('workspaces', 'DELETE') $$,
  'authenticated holds no table-wide insert, update or truncate; delete only where a policy decides'
);

select results_eq(
  $$
    select c.relname::text collate "default", a.attname::text collate "default", t.priv
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
    cross join (values ('INSERT'), ('UPDATE')) as t(priv)
    where n.nspname = 'public' and c.relkind in ('r', 'p')
      and has_column_privilege('authenticated', c.oid, a.attnum, t.priv)
    order by 1, 3, 2
  $$,
  $$
    values
      ('app_settings', 'key', 'INSERT'),
      ('app_settings', 'value', 'INSERT'),
      ('app_settings', 'key', 'UPDATE'),
      ('app_settings', 'value', 'UPDATE'),
      ('posts', 'body', 'INSERT'),
      ('posts', 'title', 'INSERT'),
      ('posts', 'body', 'UPDATE'),
      ('posts', 'published', 'UPDATE'),
      ('posts', 'title', 'UPDATE'),
      ('profiles', 'bio', 'UPDATE'),
      ('profiles', 'full_name', 'UPDATE'),
      ('profiles', 'public_profile', 'UPDATE'),
      ('profiles', 'website', 'UPDATE'),
      ('projects', 'description', 'INSERT'),
      ('projects', 'name', 'INSERT'),
      ('projects', 'workspace_id', 'INSERT'),
      ('projects', 'description', 'UPDATE'),
      ('projects', 'name', 'UPDATE'),
      ('uploads', 'content_type', 'INSERT'),
      ('uploads', 'id', 'INSERT'),
      ('uploads', 'object_key', 'INSERT'),
      ('uploads', 'original_name', 'INSERT'),
      ('uploads', 'size_bytes', 'INSERT'),
      ('user_roles', 'role', 'UPDATE'),
      ('workspace_members', 'role', 'INSERT'),
      ('workspace_members', 'user_id', 'INSERT'),
      ('workspace_members', 'workspace_id', 'INSERT'),
      ('workspace_members', 'role', 'UPDATE'),
      ('workspaces', 'name', 'UPDATE')
  $$,
  'authenticated may write exactly these columns (never authors, creators, owners, user_ids of roles, statuses, published_at or timestamps; ids only of uploads, bound to object_key by a check; nothing of uploads after insert)'
);

-- authenticated reads audit_log through the admins-only policy; it writes nothing.
select results_eq(
  $$
    select t.priv
    from (values ('SELECT'), ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE'), ('REFERENCES'), ('TRIGGER')) as t(priv)
    where has_table_privilege('authenticated', 'public.audit_log', t.priv)
  $$,
  $$ values ('SELECT') $$,
  'authenticated holds select on audit_log (rows filtered by "audit_log: admins read") and nothing else'
);

select is_empty(
  $$
    select a.attname
    from pg_attribute a
    where a.attrelid = 'public.audit_log'::regclass and a.attnum > 0 and not a.attisdropped
      and has_column_privilege('authenticated', a.attrelid, a.attnum, 'insert, update, references')
  $$,
  'authenticated may insert or update no column of audit_log'
);

select results_eq(
  $$
    select t.priv
    from (values ('SELECT'), ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE'), ('REFERENCES'), ('TRIGGER')) as t(priv)
    where has_table_privilege('service_role', 'public.audit_log', t.priv)
  $$,
  $$ values ('SELECT') $$,
  'service_role holds select on audit_log and nothing else (insert-only through record_audit_event)'
);

select is_empty(
  $$
    select a.attname
    from pg_attribute a
    where a.attrelid = 'public.audit_log'::regclass and a.attnum > 0 and not a.attisdropped
      and has_column_privilege('service_role', a.attrelid, a.attnum, 'insert, update')
  $$,
  'service_role may insert or update no column of audit_log'
);

select is_empty(
  $$
    select p.oid::regprocedure
    from pg_proc p
    join pg_namespace n on n.oid = p.pronamespace
    where n.nspname in ('public', 'private') and p.prosecdef
      and not coalesce(p.proconfig @> array['search_path=""'], false)
  $$,
  'every security definer function sets search_path = '''''
);

-- Indexes under policy columns -------------------------------------------------------

select ok(
  exists (
    select 1 from pg_index i
    join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
    where i.indrelid = 'public.workspace_members'::regclass and a.attname = 'user_id'
  ),
  'an index leads with workspace_members.user_id (the policies look members up by user)'
);

select ok(
  exists (
    select 1 from pg_index i
    join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
    where i.indrelid = 'public.workspace_members'::regclass and a.attname = 'workspace_id'
  ),
  'an index leads with workspace_members.workspace_id'
);

select ok(
  exists (
    select 1 from pg_index i
    join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
    where i.indrelid = 'public.projects'::regclass and a.attname = 'workspace_id'
  ),
  'an index leads with projects.workspace_id (the project policies filter on it)'
);

select ok(
  exists (
    select 1 from pg_index i
    join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
    where i.indrelid = 'public.audit_log'::regclass and a.attname = 'actor_id'
  ),
  'an index leads with audit_log.actor_id (per-user history; user deletion sets it null)'
);

select ok(
  exists (
    select 1 from pg_index i
    join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
    where i.indrelid = 'public.audit_log'::regclass and a.attname = 'created_at'
  ),
  'an index leads with audit_log.created_at (reading the trail newest first)'
);

select ok(
  exists (
    select 1 from pg_index i
    join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
    where i.indrelid = 'public.posts'::regclass and a.attname = 'author_id'
  ),
  'an index leads with posts.author_id (the post policies filter on it)'
);

select ok(
  exists (
    select 1 from pg_index i
    join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
    where i.indrelid = 'public.uploads'::regclass and a.attname = 'owner_id'
  ),
  'an index leads with uploads.owner_id (the upload policies filter on it; the user cascade deletes by it)'
);

select ok(
  exists (
    select 1 from pg_index i
    join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
    where i.indrelid = 'public.user_roles'::regclass and a.attname = 'user_id' and i.indisunique
      and i.indnatts = 1
  ),
  'user_roles.user_id is unique on its own (one role per user; authorize() looks it up)'
);

-- KNOWN BUG (20261128000300_rbac.sql): app_settings.updated_by references auth.users
-- without an index. Fix: create index app_settings_updated_by_idx on public.app_settings (updated_by);
select is_empty(
  $$
    select con.conrelid::regclass, a.attname
    from pg_constraint con
    join pg_namespace n on n.oid = con.connamespace
    join pg_attribute a on a.attrelid = con.conrelid and a.attnum = con.conkey[1]
    where n.nspname = 'public' and con.contype = 'f'
      and not exists (
        select 1 from pg_index i
        where i.indrelid = con.conrelid and i.indkey[0] = con.conkey[1]
      )
  $$,
  'every foreign key in public has an index leading with its column (cascades stay cheap)'
);

select has_trigger('auth', 'users', 'on_auth_user_created', 'auth.users has the trigger that creates profiles');
select has_trigger('auth', 'users', 'on_auth_user_created_grant_role', 'auth.users has the trigger that gives new users the role user');
select has_trigger('public', 'posts', 'posts_guard_publishing', 'posts has the trigger that keeps publishing to posts.publish');
select results_eq(
  $$
    select c.relname::text collate "default", t.tgname::text collate "default"
    from pg_trigger t
    join pg_class c on c.oid = t.tgrelid
    where t.tgfoid = 'private.audit_admin_change()'::regprocedure and not t.tgisinternal
    order by 1
  $$,
  $$ values ('app_settings', 'app_settings_audit'), ('profiles', 'profiles_audit'), ('user_roles', 'user_roles_audit') $$,
  'role, settings and profile changes are audited by the database (audit_admin_change on user_roles, app_settings, profiles)'
);

select * from finish();
rollback;
