#!/usr/bin/env bash
# supabase/schemas/ describes exactly what supabase/migrations/ builds.
#
# Two scratch databases on the local PostgreSQL (DATABASE_URL, else
# postgres@127.0.0.1:5432), both with supabase/local/bootstrap.sql and auth-standin.sql:
# one gets every migration in order (each in one transaction), the other every
# supabase/schemas/*.sql in lexicographic order. Then they are compared:
#   - pg_dump --schema-only of the whole database (public, private, the project's
#     triggers on auth tables, extensions, grants, policies, function bodies and their
#     settings, comments), the random \restrict key dropped and the lines of each ACL
#     block sorted (the order of an ACL's items follows the order of the grants, not
#     what they grant);
#   - what pg_dump leaves out: the role settings scoped to the database (PostgREST's
#     pgrst.db_pre_request), the rows of every table in public and private (the reference
#     rows: rate-limit rules, role permissions, settings; timestamps left out), and the
#     sequences' positions.
# On a difference it prints a unified diff (--- migrations, +++ schemas) and exits 1.
# The databases are dropped whatever happens. SCHEMA_CHECK_SCHEMAS=dir checks another
# folder of schema files (to see the check fail on purpose).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SCHEMAS=${SCHEMA_CHECK_SCHEMAS:-$ROOT/supabase/schemas}
ADMIN_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}

log() { printf '[schema-check] %s\n' "$*" >&2; }

# url_with_db URL NAME: the URL with its database replaced.
url_with_db() {
  python3 - "$1" "$2" <<'PY'
import sys
from urllib.parse import urlsplit, urlunsplit
u = urlsplit(sys.argv[1])
print(urlunsplit((u.scheme, u.netloc, "/" + sys.argv[2], u.query, "")))
PY
}

suffix="$(date +%s)_$$"
MIG_DB="schema_check_migrations_$suffix"
DECL_DB="schema_check_schemas_$suffix"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/schema-check.XXXXXX")

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  local db
  for db in "$MIG_DB" "$DECL_DB"; do
    psql "$ADMIN_URL" -q -c "drop database if exists \"$db\" with (force)" >/dev/null 2>&1 \
      || log "could not drop database $db"
  done
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ls "$SCHEMAS"/*.sql >/dev/null 2>&1 || { log "no schema files in $SCHEMAS"; exit 1; }

# run DB_URL FILE: one file in one transaction, stopping at its first error.
run() {
  PGOPTIONS="-c client_min_messages=warning" \
    psql "$1" -q -X -v ON_ERROR_STOP=1 -1 -f "$2" >/dev/null \
    || { log "$(basename "$2") failed"; exit 1; }
}

# build NAME FILES...: a database with the bootstrap, then the given files.
build() {
  local db=$1 url; shift
  url=$(url_with_db "$ADMIN_URL" "$db")
  psql "$ADMIN_URL" -q -v ON_ERROR_STOP=1 -c "create database \"$db\"" >/dev/null
  run "$url" "$ROOT/supabase/local/bootstrap.sql"
  run "$url" "$ROOT/supabase/local/auth-standin.sql"
  local f
  for f in "$@"; do run "$url" "$f"; done
}

# describe NAME OUT: the database's schema and the catalog facts pg_dump leaves out.
describe() {
  local url; url=$(url_with_db "$ADMIN_URL" "$1")
  pg_dump --schema-only --no-tablespaces "$url" | python3 -c '
import re, sys
# Blocks start at pg_dump headers ("--\n-- Name: ...; Type: ...").
text = "".join(l for l in sys.stdin if not re.match(r"\\(un)?restrict ", l))
blocks = re.split(r"(?m)^(?=--\n-- Name: )", text)
out = []
for b in blocks:
    head, _, body = b.partition("\n--\n\n")
    if "; Type: ACL;" in head:
        lines = sorted(l for l in body.splitlines() if l.strip())
        b = head + "\n--\n\n" + "\n".join(lines) + "\n\n\n"
    out.append(b)
sys.stdout.write("".join(out))'
  psql "$url" -X -q -v ON_ERROR_STOP=1 -tA <<'SQL'
\echo '-- role settings in this database'
select coalesce(r.rolname, '(every role)') || ': ' || array_to_string(s.setconfig, ', ')
from pg_catalog.pg_db_role_setting s
left join pg_catalog.pg_roles r on r.oid = s.setrole
where s.setdatabase = (select oid from pg_catalog.pg_database where datname = current_database())
order by 1;
\echo '-- sequences'
select schemaname || '.' || sequencename || ': ' || coalesce(last_value::text, 'unused')
from pg_catalog.pg_sequences
where schemaname in ('public', 'private')
order by 1;
\echo '-- rows, one a line (without timestamps)'
select format(
  'select %L || '' '' || r::text from (select to_jsonb(t)%s as r from %I.%I t) x order by r::text',
  n.nspname || '.' || c.relname,
  coalesce((select string_agg(format(' - %L', a.attname), '' order by a.attnum)
            from pg_catalog.pg_attribute a
            where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
              and a.atttypid in ('timestamptz'::regtype, 'timestamp'::regtype)), ''),
  n.nspname, c.relname)
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where n.nspname in ('public', 'private') and c.relkind in ('r', 'p')
order by n.nspname, c.relname
\gexec
SQL
}

start=$(date +%s.%N)
build "$MIG_DB" "$ROOT"/supabase/migrations/*.sql
build "$DECL_DB" "$SCHEMAS"/*.sql
describe "$MIG_DB" >"$WORK/migrations.sql"
describe "$DECL_DB" >"$WORK/schemas.sql"

if ! diff -u -F "^-- Name: " --label migrations --label schemas "$WORK/migrations.sql" "$WORK/schemas.sql"; then
  log "supabase/schemas/ differs from what supabase/migrations/ builds (diff above:"
  log "'-' is the migrations' database, '+' the schema files'). A change is a new migration"
  log "AND the same edit in supabase/schemas/."
  exit 1
fi
log "supabase/schemas/ matches the migrations ($(python3 -c "print(f'{$(date +%s.%N) - $start:.1f}')") s)"
