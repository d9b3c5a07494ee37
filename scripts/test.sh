#!/usr/bin/env bash
# `make test`: installs what is missing, starts a fresh stack on a new database (dropped
# afterwards, so two runs never collide), then runs every test: pgTAP (RLS), the
# template linters, and the Rust unit and integration tests (in parallel, against the
# real PostgREST, and over HTTP through `cargo lambda watch`).
# FAST=1 skips pgTAP, the template linters, the TypeScript client, the browser tests,
# schemathesis and fuzzing; CONTRACT_ONLY=1 (`make contract`) runs a long schemathesis
# run alone; BROWSER_ONLY=1 (`make browser`) only the two example apps in Chromium;
# arguments go to `cargo test -p
# integration-tests` (for example `--test api projects::`).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
bash scripts/setup.sh all
export PATH="$ROOT/.local/venv/bin:$ROOT/.local/bin:$PATH"
# shellcheck source=scripts/stack.sh
# Logs of this run only (two runs never share files); removed when the run passes.
mkdir -p "$ROOT/.local/logs"
STACK_LOGS=$(mktemp -d "$ROOT/.local/logs/test.XXXXXX")
source scripts/stack.sh
stack_init
ensure_postgres

log "building the workspace"
cargo build --workspace --bins --quiet
# The exact build `cargo lambda watch` runs (`cargo run --bin <fn>` resolves features for
# the functions package alone), so the first request does not wait for a compile.
cargo build -p functions --bins --quiet

# Throwaway credentials for this run only.
export SUPABASE_ANON_KEY=local-anon-key-not-a-secret
SUPABASE_JWT_SECRET=$(openssl rand -hex 32)
export SUPABASE_JWT_SECRET
SUPABASE_SERVICE_ROLE_KEY=$(mint_service_role_key)
export SUPABASE_SERVICE_ROLE_KEY
# The example web app is served on localhost (the API's site) by the browser tests.
APP_PORT=$(free_port)
export APP_PORT
# And the Next.js app (examples/nextjs, `next start`).
NEXT_PORT=$(free_port)
export NEXT_PORT
# cargo lambda watch's port, chosen now: Supabase Auth redirects back to it.
watch_port=$(free_port)
export ALLOWED_ORIGINS="http://localhost:3000,https://app.example.test,http://localhost:$APP_PORT,http://localhost:$NEXT_PORT"
export COOKIE_SECURE=false
# Answers that must not tell accounts apart wait for this floor (1000 ms by default):
# shorter here, to keep the many failed sign-ins of the tests quick. The tests check the
# floor holds; `make bench` measures the default.
export AUTH_ANSWER_FLOOR_MS=300
# The auth stand-in: refuse any reuse of a rotated refresh token at once (GoTrue allows 10 s).
export AUTH_REFRESH_TOKEN_REUSE_INTERVAL=0
export RUST_LOG=${RUST_LOG:-warn}

create_database "supa_lambda_test_$(date +%s)_$$" drop-on-exit
migrate
psql_db -c "create extension if not exists pgtap with schema extensions" >/dev/null
S3_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/supa-lambda-s3.XXXXXX")
export S3_ROOT
STACK_RM_DIRS+=("$S3_ROOT")
generate_keys "$STACK_LOGS/keys"
export TEST_KEYS_DIR=$KEYS_DIR
# The Auth stand-in as a project is configured for this API: the app is its site URL,
# the API's /auth/ routes and the app may be redirected to; no wait between emails.
export AUTH_SITE_URL=http://localhost:3000
export AUTH_URI_ALLOW_LIST="http://127.0.0.1:$watch_port/auth/,http://localhost:$watch_port/auth/,http://localhost:$APP_PORT,http://localhost:$NEXT_PORT"
export AUTH_SMTP_MAX_FREQUENCY=0
start_auth
# A second stand-in that confirms emails itself (GoTrue's MAILER_AUTOCONFIRM, like a
# project with confirmations off): the sign-up that signs in at once.
main_auth=$SUPABASE_URL
AUTH_MAILER_AUTOCONFIRM=true start_auth auth-standin-autoconfirm
export TEST_AUTH_AUTOCONFIRM_URL=$SUPABASE_URL
# A third with GoTrue's default wait between two emails to one address (60 s): a repeated
# sign-up of a pending address meets it, and must answer as any other.
AUTH_SMTP_MAX_FREQUENCY=60 start_auth auth-standin-email-limited
export TEST_AUTH_EMAIL_LIMITED_URL=$SUPABASE_URL SUPABASE_URL=$main_auth
start_postgrest
start_s3
start_secrets_manager
# Supabase's gateway for today's keys (sb_publishable_, sb_secret_) in front of PostgREST
# and the Auth stand-in: the functions configured with those keys alone go through it
# (tests/tests/api/todays_keys.rs), and so does the Next.js app's @supabase/ssr.
start_key_gateway "$STACK_LOGS/key-gateway"
# The uploads bucket (s3s-fs: a folder under its root).
export UPLOADS_BUCKET=supa-lambda-uploads
mkdir -p "$S3_ROOT/$UPLOADS_BUCKET"

if [ "${FAST:-0}" != 1 ]; then
  log "supabase/schemas/ equals what supabase/migrations/ builds (scripts/schema-check.sh)"
  bash scripts/schema-check.sh
  log "pgTAP: supabase/tests"
  pg_prove --dbname "$DB_URL" --ext .sql -r supabase/tests
  # Again as `supabase test db` runs them after `supabase db reset`: on a migrated and
  # seeded database, pgTAP in schema extensions, with the CLI's own pg_prove arguments.
  log "pgTAP as supabase test db runs it: a seeded database"
  test_db_url=$DB_URL test_db_name=$DB_NAME
  create_database "supa_lambda_seeded_$(date +%s)_$$" drop-on-exit
  migrate >/dev/null 2>&1
  psql_db -f supabase/seed.sql >/dev/null
  psql_db -c "create extension if not exists pgtap with schema extensions" >/dev/null
  pg_prove --dbname "$DB_URL" --ext .pg --ext .sql -r supabase/tests
  drop_database "$DB_NAME"
  DB_URL=$test_db_url DB_NAME=$test_db_name

  log "template.yaml: cfn-lint and sam validate --lint"
  cfn-lint template.yaml
  SAM_CLI_TELEMETRY=0 sam validate --lint --region us-east-1 >/dev/null
  log "template.yaml: checkov (every finding fixed or explained in tests/checkov.yaml)"
  "$ROOT/.local/checkov/bin/checkov" --config-file tests/checkov.yaml -f template.yaml
fi

log "cargo lambda watch (the local API Gateway)"
# The functions log at info (a test reads their request lines); cargo-lambda at warn.
RUST_LOG=info,cargo_lambda=warn,cargo_lambda_watch=warn,watchexec=warn,watchexec_supervisor=warn,tokio_graceful_shutdown=warn \
  spawn cargo-lambda-watch cargo lambda watch --disable-cors --invoke-address 127.0.0.1 --invoke-port "$watch_port" --ignore-changes
export LOCAL_API_URL="http://127.0.0.1:$watch_port" LOCAL_API_LOG="$STACK_LOGS/cargo-lambda-watch.log"
wait_http "$LOCAL_API_URL/" cargo-lambda-watch 120

# `make contract`: schemathesis alone, longer (CONTRACT_EXAMPLES, default 100 examples
# per operation), once per seed (CONTRACT_SEEDS, default three random ones), on this
# stack with the seed loaded; every finding fails the run.
if [ "${CONTRACT_ONLY:-0}" = 1 ]; then
  psql_db -f supabase/seed.sql >/dev/null
  for seed in ${CONTRACT_SEEDS:-$RANDOM $RANDOM $RANDOM}; do
    # A run may have changed alice's password (POST /auth/password is an operation too).
    psql_db -c "update auth.users set encrypted_password = extensions.crypt('password123', extensions.gen_salt('bf')) where email = 'alice@example.com'" >/dev/null
    log "schemathesis: seed $seed, ${CONTRACT_EXAMPLES:-100} examples per operation"
    CONTRACT_SEED=$seed CONTRACT_EXAMPLES=${CONTRACT_EXAMPLES:-100} bash scripts/contract.sh
  done
  rm -rf "$STACK_LOGS"
  exit 0
fi

# `make browser`: the two example apps in Chromium, on this stack with the seed loaded.
if [ "${BROWSER_ONLY:-0}" = 1 ]; then
  psql_db -f supabase/seed.sql >/dev/null
  export TEST_DATABASE_URL=$DB_URL
  log "browser: the example web app in headless Chromium (playwright-core)"
  BROWSER_API_URL="http://localhost:$watch_port" bash scripts/browser.sh
  log "browser: the Next.js app in headless Chromium (playwright-core)"
  BROWSER_API_URL="http://localhost:$watch_port" bash scripts/browser-next.sh
  rm -rf "$STACK_LOGS"
  exit 0
fi

log "cargo test"
export TEST_DATABASE_URL=$DB_URL
# Extra arguments select tests, e.g. `scripts/test.sh --test api projects::`.
if [ $# -gt 0 ]; then
  cargo test -p integration-tests "$@"
else
  cargo test --workspace -- --test-threads "${TEST_THREADS:-8}"
  if [ "${FAST:-0}" != 1 ]; then
    # Their own data, after the Rust tests: the demo users of the seed (alice is admin).
    psql_db -f supabase/seed.sql >/dev/null
    pg_prove --dbname "$DB_URL" --ext .sql tests/seed
    log "TypeScript client: generated types, typecheck, and a smoke run against the stack"
    bash scripts/client.sh
    log "browser: the example web app in headless Chromium (playwright-core)"
    BROWSER_API_URL="http://localhost:$watch_port" bash scripts/browser.sh
    log "browser: the Next.js app (next build, next start) in headless Chromium"
    BROWSER_API_URL="http://localhost:$watch_port" bash scripts/browser-next.sh
    log "schemathesis: every operation of openapi.json against the running stack"
    bash scripts/contract.sh
    log "cargo fuzz: the header, cookie and JSON body readers, ${FUZZ_SECONDS:-15}s each"
    bash scripts/fuzz.sh
    # The Lambda-shaped bench's whole path, briefly and with the debug binaries: secrets
    # from Secrets Manager and the JWKS over TLS (nginx, a CA trusted through
    # EXTRA_CA_CERTS), ES256 and HS256 tokens, each function in a cgroup CPU quota. It
    # fails on any non-2xx answer or failed cold start and asserts nothing timed (make
    # bench-lambda measures).
    log "the Lambda-shaped bench, short and untimed (make bench-lambda measures)"
    BENCH_LAMBDA=1 BENCH_PROFILE=debug BENCH_MEMORY_SIZES=1769 BENCH_CPU_INVOCATIONS=20 \
      BENCH_COLD_RUNS=2 BENCH_WARMUP=2 BENCH_ITERATIONS=10 BENCH_BACKGROUND_RPS=5 \
      BENCH_OUTPUT="$STACK_LOGS/bench-lambda.md" bash scripts/bench.sh >/dev/null
    # Load and faults, short: 4 users for 30 s with the debug binaries (every fault kind,
    # PostgreSQL restarted once), and the checker over the history and the final state;
    # any violation fails the run (make chaos runs 60 s with the release binaries).
    log "make chaos, short: 4 users for 30 s under faults, then the checker"
    BENCH_CHAOS=1 BENCH_PROFILE=debug CHAOS_SECONDS=30 CHAOS_BASELINE_SECONDS=2 CHAOS_INSTANCES=4 \
      BENCH_OUTPUT="$STACK_LOGS/chaos.md" bash scripts/bench.sh >/dev/null
  fi
fi
rm -rf "$STACK_LOGS"
