//! The bench's own data, written with set-based SQL (one `INSERT ... SELECT
//! generate_series` per table and step, never a round trip per row) as the database
//! superuser, into the bench's own database.
//!
//! Users are `auth.users` rows, as Supabase Auth writes them: at the small scale the
//! migrations' triggers create their profiles, emails and default roles; the large
//! scale's filler users are written in bulk with those same rows directly (see
//! [`Database::users_in_bulk`]). Names are `User 0000123` (seven digits), so the search
//! `User 000012` matches exactly users 120..129 at both scales.
//!
//! | | small | large |
//! |---|---|---|
//! | users (profiles) | 1,000 | 1,000,000 |
//! | caller A | member of workspace 1: 200 projects | the same 200 |
//! | caller B | member of workspaces 2..101: 8 projects each | 1,000 each (100,000) |
//! | writer | editor of workspace 102 (the writes go there) | unchanged |
//! | other workspaces | none | 103..1000, the rest of the 1,000,000 projects |
//!
//! Caller B also holds the application role `admin` (users.read, for `GET /users`).
//! Ids are fixed (`<kind>-0000-4000-8000-<n in hex>`), so a case names its rows without
//! asking the database.

use std::time::Instant;

use tokio_postgres::{Client, NoTls};

use crate::error::{bail, Context, Result};

pub const USERS_SMALL: i64 = 1_000;
pub const USERS_LARGE: i64 = 1_000_000;
pub const PROJECTS_LARGE: i64 = 1_000_000;

pub const CALLER_A: i64 = 1;
pub const CALLER_B: i64 = 2;
pub const WRITER: i64 = 3;

pub const WORKSPACE_A: i64 = 1;
const WORKSPACES_B: (i64, i64) = (2, 101);
pub const WORKSPACE_WRITER: i64 = 102;
const WORKSPACES_OTHER: (i64, i64) = (103, 1000);

const PROJECTS_IN_A: i64 = 200;
const PROJECTS_PER_B_SMALL: i64 = 8;
const PROJECTS_PER_B_LARGE: i64 = 1_000;

/// The rate-limit ceiling set in the bench database. `rate_limit_rules.max_hits` has a
/// CHECK of at most 1,000,000 (per window), far above the few thousand writes of a run.
pub const RATE_LIMIT_CEILING: i64 = 1_000_000;

const USER: &str = "aaaaaaaa";
const WORKSPACE: &str = "bbbbbbbb";
const PROJECT: &str = "cccccccc";

fn id(kind: &str, n: i64) -> String {
    format!("{kind}-0000-4000-8000-{n:012x}")
}

pub fn user_id(n: i64) -> String {
    id(USER, n)
}

pub fn user_email(n: i64) -> String {
    format!("user{n:07}@bench.example")
}

pub fn workspace_id(n: i64) -> String {
    id(WORKSPACE, n)
}

/// The `position`-th project of workspace `workspace`.
pub fn project_id(workspace: i64, position: i64) -> String {
    id(PROJECT, workspace * 1_000_000 + position)
}

/// The same ids, names and emails in SQL (session-local functions, gone with the
/// connection).
const SQL_FUNCTIONS: &str = "
create function pg_temp.bench_id(kind text, n bigint) returns uuid
language sql immutable
as $$ select (kind || '-0000-4000-8000-' || lpad(to_hex(n), 12, '0'))::uuid $$;
create function pg_temp.bench_name(n bigint) returns text
language sql immutable
as $$ select 'User ' || lpad(n::text, 7, '0') $$;
create function pg_temp.bench_email(n bigint) returns text
language sql immutable
as $$ select 'user' || lpad(n::text, 7, '0') || '@bench.example' $$;";

/// `auth.users` rows for users `first..=last`, as Supabase Auth writes them at sign-up.
fn insert_auth_users(first: i64, last: i64) -> String {
    format!(
        "insert into auth.users (id, aud, role, email, raw_user_meta_data, raw_app_meta_data,
                                 email_confirmed_at, created_at, updated_at)
         select pg_temp.bench_id('{USER}', n), 'authenticated', 'authenticated', pg_temp.bench_email(n),
                jsonb_build_object('full_name', pg_temp.bench_name(n)),
                '{{\"provider\": \"email\", \"providers\": [\"email\"]}}'::jsonb,
                now(), now() - make_interval(secs => n), now() - make_interval(secs => n)
         from generate_series({first}::bigint, {last}::bigint) n"
    )
}

pub struct Database {
    client: Client,
}

/// Row counts, for the report.
pub struct Counts {
    pub users: i64,
    pub workspaces: i64,
    pub projects: i64,
}

impl Database {
    pub async fn connect(url: &str) -> Result<Self> {
        let (client, connection) = tokio_postgres::connect(url, NoTls)
            .await
            .context("connecting to the bench database")?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                eprintln!("[bench] database connection: {e}");
            }
        });
        client
            .batch_execute(&format!(
                "set client_min_messages = warning; {SQL_FUNCTIONS}"
            ))
            .await
            .context("preparing the seed session")?;
        Ok(Self { client })
    }

    /// Ends every connection PostgREST holds (its pool reconnects): a fault of `make
    /// chaos`. How many were ended.
    pub async fn terminate_postgrest_backends(&self) -> Result<u64> {
        let row = self
            .client
            .query_one(
                "select count(pg_terminate_backend(pid)) from pg_stat_activity
                 where usename = 'authenticator' and datname = current_database()",
                &[],
            )
            .await
            .context("ending PostgREST's connections")?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    /// The connection, for the queries of `make chaos`'s checker.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// `make chaos`'s signed-in users: seeded users `first..first + count`, each given the
    /// application role editor (posts.publish), made an editor of the writer's
    /// workspace, and signed in (a session whose id is the user's, as the callers').
    pub async fn chaos_actors(&self, first: i64, count: i64) -> Result<()> {
        let last = first + count - 1;
        let sql = format!(
            "update public.user_roles set role = 'editor'
               where user_id in (select pg_temp.bench_id('{USER}', n) from generate_series({first}, {last}) n);
             insert into public.workspace_members (workspace_id, user_id, role)
             select pg_temp.bench_id('{WORKSPACE}', {WORKSPACE_WRITER}), pg_temp.bench_id('{USER}', n), 'editor'
             from generate_series({first}, {last}) n
             on conflict do nothing;
             insert into auth.sessions (id, user_id, aal, user_agent)
             select pg_temp.bench_id('{USER}', n), pg_temp.bench_id('{USER}', n), 'aal1', 'make chaos'
             from generate_series({first}, {last}) n
             on conflict do nothing;"
        );
        self.client
            .batch_execute(&sql)
            .await
            .context("seeding make chaos's users")
    }

    /// Every rate limit raised to [`RATE_LIMIT_CEILING`], so hundreds of writes by one
    /// user within a minute are counted but never refused. Returns the rules changed.
    pub async fn raise_rate_limits(&self) -> Result<u64> {
        self.client
            .execute(
                "update public.rate_limit_rules set max_hits = $1",
                &[&(RATE_LIMIT_CEILING as i32)],
            )
            .await
            .context("raising the rate limits")
    }

    /// Turns the request gate's session check off (`private.session_is_live` answers
    /// true) or back on (its definition as the migration left it, kept from the first
    /// call), in the bench's own database.
    pub async fn session_check(&self, on: bool, saved: &mut Option<String>) -> Result<()> {
        if saved.is_none() {
            let row = self
                .client
                .query_one(
                    "select pg_get_functiondef('private.session_is_live(jsonb)'::regprocedure)",
                    &[],
                )
                .await
                .context("reading private.session_is_live")?;
            *saved = Some(row.get(0));
        }
        let sql = if on {
            saved.clone().unwrap_or_default()
        } else {
            "create or replace function private.session_is_live(p_claims jsonb)
             returns boolean language sql stable security definer set search_path = ''
             as $$ select true $$"
                .to_owned()
        };
        self.client
            .batch_execute(&sql)
            .await
            .context("replacing private.session_is_live")
    }

    /// A confirmed account with a password as Supabase Auth stores one (bcrypt, cost 10,
    /// GoTrue's default), for the answers that must not tell accounts apart. Returns its
    /// email.
    pub async fn account_with_password(&self, password: &str) -> Result<String> {
        let email = format!("known-{}@bench.example", uuid::Uuid::new_v4().simple());
        self.client
            .execute(
                "insert into auth.users (id, aud, role, email, encrypted_password, email_confirmed_at,
                                         raw_app_meta_data, raw_user_meta_data)
                 values (gen_random_uuid(), 'authenticated', 'authenticated', $1,
                         extensions.crypt($2, extensions.gen_salt('bf', 10)), now(),
                         '{\"provider\": \"email\", \"providers\": [\"email\"]}', '{}')",
                &[&email, &password],
            )
            .await
            .context("creating the account with a password")?;
        Ok(email)
    }

    /// The small scale: 1,000 users, 102 workspaces, 1,001 projects.
    pub async fn seed_small(&self) -> Result<()> {
        self.users(1, USERS_SMALL).await?;
        self.check_users().await?;
        self.workspaces(1, WORKSPACE_WRITER).await?;
        let sql = format!(
            "insert into public.workspace_members (workspace_id, user_id, role) values
               (pg_temp.bench_id('{WORKSPACE}', {WORKSPACE_A}), pg_temp.bench_id('{USER}', {CALLER_A}), 'member'),
               (pg_temp.bench_id('{WORKSPACE}', {WORKSPACE_WRITER}), pg_temp.bench_id('{USER}', {WRITER}), 'editor');
             insert into public.workspace_members (workspace_id, user_id, role)
             select pg_temp.bench_id('{WORKSPACE}', w), pg_temp.bench_id('{USER}', {CALLER_B}), 'member'
             from generate_series({}, {}) w;
             update public.user_roles set role = 'admin' where user_id = pg_temp.bench_id('{USER}', {CALLER_B});
             -- The callers are signed in: one session each, whose id is the user's (the
             -- tokens of crate::token name it; the request gate checks it is live).
             insert into auth.sessions (id, user_id, aal, user_agent)
             select pg_temp.bench_id('{USER}', n), pg_temp.bench_id('{USER}', n), 'aal1', 'make bench'
             from unnest(array[{CALLER_A}, {CALLER_B}, {WRITER}]::bigint[]) n;",
            WORKSPACES_B.0, WORKSPACES_B.1
        );
        self.client
            .batch_execute(&sql)
            .await
            .context("seeding the memberships")?;
        self.projects((WORKSPACE_A, WORKSPACE_A), (1, PROJECTS_IN_A))
            .await?;
        self.projects(WORKSPACES_B, (1, PROJECTS_PER_B_SMALL))
            .await?;
        self.projects((WORKSPACE_WRITER, WORKSPACE_WRITER), (1, 1))
            .await?;
        self.vacuum().await
    }

    /// From the small scale to the large one: 1,000,000 users and projects, B's
    /// workspaces at 1,000 projects each, the rest in workspaces A and B are not in.
    pub async fn grow_to_large(&self, progress: impl Fn(&str)) -> Result<()> {
        let step = Instant::now();
        self.users_in_bulk(USERS_SMALL + 1, USERS_LARGE).await?;
        self.check_users().await?;
        progress(&format!("  users in {:.0} s", step.elapsed().as_secs_f64()));
        let step = Instant::now();
        self.workspaces(WORKSPACES_OTHER.0, WORKSPACES_OTHER.1)
            .await?;
        self.projects(
            WORKSPACES_B,
            (PROJECTS_PER_B_SMALL + 1, PROJECTS_PER_B_LARGE),
        )
        .await?;
        // The rest, spread evenly over the other workspaces, up to exactly 1,000,000
        // (the writes of the small run included).
        let current = self.counts().await?.projects;
        let others = WORKSPACES_OTHER.1 - WORKSPACES_OTHER.0 + 1;
        let sql = format!(
            "insert into public.projects (id, workspace_id, name, description, created_by, created_at, updated_at)
             select pg_temp.bench_id('{PROJECT}', w * 1000000 + p), pg_temp.bench_id('{WORKSPACE}', w),
                    'Project ' || w || '-' || p, 'Seeded by make bench', null, t, t
             from (select {first} + k % {others} as w, k / {others} + 1 as p from generate_series(0, $1::bigint - 1) k) s,
                  lateral (select now() - make_interval(secs => (p * 60 + w)::double precision) as t) ts",
            first = WORKSPACES_OTHER.0,
        );
        self.client
            .execute(&sql, &[&(PROJECTS_LARGE - current).max(0)])
            .await
            .context("seeding the other workspaces' projects")?;
        progress(&format!(
            "  projects in {:.0} s",
            step.elapsed().as_secs_f64()
        ));
        let step = Instant::now();
        self.vacuum().await?;
        progress(&format!(
            "  vacuum analyze in {:.0} s",
            step.elapsed().as_secs_f64()
        ));
        Ok(())
    }

    /// `server_version`, for the report.
    pub async fn server_version(&self) -> Result<String> {
        let row = self
            .client
            .query_one("show server_version", &[])
            .await
            .context("reading the server version")?;
        Ok(row.get(0))
    }

    pub async fn counts(&self) -> Result<Counts> {
        let row = self
            .client
            .query_one(
                "select (select count(*) from auth.users), (select count(*) from public.workspaces),
                        (select count(*) from public.projects)",
                &[],
            )
            .await
            .context("counting the seeded rows")?;
        Ok(Counts {
            users: row.get(0),
            workspaces: row.get(1),
            projects: row.get(2),
        })
    }

    /// Users `first..=last` as Supabase Auth signs them up: `auth.users` rows, whose
    /// triggers add each one's profile, email and default role.
    async fn users(&self, first: i64, last: i64) -> Result<()> {
        self.client
            .batch_execute(&insert_auth_users(first, last))
            .await
            .context("seeding auth.users")
    }

    /// The same users and the same rows their triggers would write (profile, email,
    /// default role), each table in one statement with the triggers off
    /// (`session_replication_role = replica`, which also skips the foreign-key checks
    /// the ids satisfy by construction). Two million plpgsql trigger calls take minutes
    /// on a small machine; this takes under a minute. [`Database::check_users`] then
    /// confirms every user has what the triggers give one.
    async fn users_in_bulk(&self, first: i64, last: i64) -> Result<()> {
        let users = insert_auth_users(first, last);
        let sql = format!(
            "begin;
             set local session_replication_role = replica;
             {users};
             insert into public.profiles (id, full_name)
             select pg_temp.bench_id('{USER}', n), pg_temp.bench_name(n) from generate_series({first}::bigint, {last}::bigint) n;
             insert into public.profile_emails (id, email)
             select pg_temp.bench_id('{USER}', n), pg_temp.bench_email(n) from generate_series({first}::bigint, {last}::bigint) n;
             insert into public.user_roles (user_id, role)
             select pg_temp.bench_id('{USER}', n), 'user' from generate_series({first}::bigint, {last}::bigint) n;
             commit;"
        );
        self.client
            .batch_execute(&sql)
            .await
            .context("seeding the users in bulk")
    }

    /// Every auth user has a profile, an email row and a role, as after sign-up.
    async fn check_users(&self) -> Result<()> {
        let row = self
            .client
            .query_one(
                "select (select count(*) from auth.users), (select count(*) from public.profiles),
                        (select count(*) from public.profile_emails), (select count(*) from public.user_roles)",
                &[],
            )
            .await
            .context("counting the users' rows")?;
        let (users, profiles, emails, roles): (i64, i64, i64, i64) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        if profiles != users || emails != users || roles != users {
            bail!(
                "{users} auth users but {profiles} profiles, {emails} emails and {roles} roles: \
                 the sign-up triggers changed, update users_in_bulk (tools/bench/src/seed.rs)"
            );
        }
        Ok(())
    }

    async fn workspaces(&self, first: i64, last: i64) -> Result<()> {
        let sql = format!(
            "insert into public.workspaces (id, name, created_at, updated_at)
             select pg_temp.bench_id('{WORKSPACE}', n), 'Workspace ' || n,
                    now() - make_interval(mins => n::integer), now() - make_interval(mins => n::integer)
             from generate_series($1::bigint, $2::bigint) n"
        );
        self.client
            .execute(&sql, &[&first, &last])
            .await
            .context("seeding the workspaces")?;
        Ok(())
    }

    /// Projects `positions` of every workspace in `workspaces` (inclusive ranges).
    /// Newest first interleaves the workspaces, as real activity would.
    async fn projects(&self, workspaces: (i64, i64), positions: (i64, i64)) -> Result<()> {
        let sql = format!(
            "insert into public.projects (id, workspace_id, name, description, created_by, created_at, updated_at)
             select pg_temp.bench_id('{PROJECT}', w * 1000000 + p), pg_temp.bench_id('{WORKSPACE}', w),
                    'Project ' || w || '-' || p, 'Seeded by make bench', null, t, t
             from generate_series($1::bigint, $2::bigint) w, generate_series($3::bigint, $4::bigint) p,
                  lateral (select now() - make_interval(secs => (p * 60 + w)::double precision) as t) ts"
        );
        self.client
            .execute(
                &sql,
                &[&workspaces.0, &workspaces.1, &positions.0, &positions.1],
            )
            .await
            .context("seeding the projects")?;
        Ok(())
    }

    async fn vacuum(&self) -> Result<()> {
        self.client
            .batch_execute("vacuum analyze")
            .await
            .context("vacuum analyze")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuids_that_sql_computes_alike() {
        assert_eq!(user_id(1), "aaaaaaaa-0000-4000-8000-000000000001");
        assert_eq!(
            project_id(102, 1),
            format!("cccccccc-0000-4000-8000-{:012x}", 102_000_001)
        );
        assert_eq!(user_email(120), "user0000120@bench.example");
    }
}
