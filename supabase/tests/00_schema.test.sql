-- The security surface of the exposed schema, read from the catalogs: RLS on every
-- table, every policy naming its role, what anon and authenticated may touch at all,
-- security definer hygiene, and indexes under the columns policies filter on.
-- Behaviour (who sees and changes which rows) is tested in the files that follow.
begin;
set search_path = extensions, public;
select plan(25);

-- Row-level security -----------------------------------------------------------------

select tables_are(
  'public',
  array['profiles', 'workspaces', 'workspace_members', 'projects', 'audit_log'],
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
    values ('audit_log', true), ('profiles', true), ('projects', true),
           ('workspace_members', true), ('workspaces', true)
  $$,
  'RLS is on for audit_log, profiles, projects, workspace_members and workspaces'
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
      ('profiles', 'profiles: read own', 'SELECT', '{authenticated}'),
      ('profiles', 'profiles: update own', 'UPDATE', '{authenticated}'),
      ('projects', 'projects: admins delete', 'DELETE', '{authenticated}'),
      ('projects', 'projects: admins and editors create', 'INSERT', '{authenticated}'),
      ('projects', 'projects: members read', 'SELECT', '{authenticated}'),
      ('projects', 'projects: admins and editors update', 'UPDATE', '{authenticated}'),
      ('workspace_members', 'workspace_members: admins remove', 'DELETE', '{authenticated}'),
      ('workspace_members', 'workspace_members: admins add', 'INSERT', '{authenticated}'),
      ('workspace_members', 'workspace_members: members read', 'SELECT', '{authenticated}'),
      ('workspace_members', 'workspace_members: admins change roles', 'UPDATE', '{authenticated}'),
      ('workspaces', 'workspaces: admins delete', 'DELETE', '{authenticated}'),
      ('workspaces', 'workspaces: members read', 'SELECT', '{authenticated}'),
      ('workspaces', 'workspaces: admins update', 'UPDATE', '{authenticated}')
  $$,
  'the policies are exactly these, one command and role each (no INSERT policy on workspaces, none at all on audit_log)'
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

select is_empty(
  $$
    select p.oid::regprocedure
    from pg_proc p
    join pg_namespace n on n.oid = p.pronamespace
    where n.nspname in ('public', 'private') and has_function_privilege('anon', p.oid, 'execute')
      and p.prorettype <> 'trigger'::regtype
  $$,
  'anon may execute no function in public or private'
);

select ok(
  not has_schema_privilege('anon', 'private', 'usage'),
  'anon has no usage on schema private'
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
    values ('private.member_workspace_ids'), ('private.workspace_ids_with_role'),
           ('public.create_workspace')
  $$,
  'authenticated may execute exactly these functions in public and private'
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
    where n.nspname = 'public' and p.proname in ('record_audit_event', 'hit_rate_limit')
    order by 1
  $$,
  $$
    values ('hit_rate_limit', false, false, true, false),
           ('record_audit_event', false, false, true, false)
  $$,
  'record_audit_event and hit_rate_limit: one overload each, executable by service_role only (not anon, authenticated or PUBLIC)'
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
  $$ values ('projects', 'DELETE'), ('workspace_members', 'DELETE'), ('workspaces', 'DELETE') $$,
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
      ('profiles', 'full_name', 'UPDATE'),
      ('projects', 'description', 'INSERT'),
      ('projects', 'name', 'INSERT'),
      ('projects', 'workspace_id', 'INSERT'),
      ('projects', 'description', 'UPDATE'),
      ('projects', 'name', 'UPDATE'),
      ('workspace_members', 'role', 'INSERT'),
      ('workspace_members', 'user_id', 'INSERT'),
      ('workspace_members', 'workspace_id', 'INSERT'),
      ('workspace_members', 'role', 'UPDATE'),
      ('workspaces', 'name', 'UPDATE')
  $$,
  'authenticated may write exactly these columns (never ids, creators or timestamps)'
);

select ok(
  not has_table_privilege('authenticated', 'public.audit_log', 'select, insert, update, delete, truncate, references, trigger')
  and not has_any_column_privilege('authenticated', 'public.audit_log', 'select, insert, update, references'),
  'authenticated has no privilege on audit_log, not even select'
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

select * from finish();
rollback;
