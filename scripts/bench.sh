#!/usr/bin/env bash
# `make bench`: builds the release functions and the bench tool, starts a stack of its own
# (a new database with bootstrap + migrations, dropped afterwards; its own PostgREST and
# JWT secret), then runs tools/bench, which seeds its data, measures every case through a
# Lambda Runtime API emulator next to the same request sent straight to PostgREST, and
# prints the tables (also written to .local/bench.md). Ctrl-C stops it all.
#
# BENCH_LAMBDA=1 (make bench-lambda) is the Lambda-shaped mode (tools/bench/src/lambda.rs):
# the same stack plus Secrets Manager (moto) and a TLS front (nginx, a CA of the run's
# own) before PostgREST, the Auth stand-in and Secrets Manager; each function at the CPU
# share of 128, 512 and 1,769 MB, ES256 tokens from the JWKS (HS256 as a second case),
# tables in .local/bench-lambda.md.
#
# BENCH_CHAOS=1 (make chaos) runs a mixed workload of signed-in users on pools of function
# instances while PostgREST, Postgres, S3 and the Auth stand-in fail under them, then checks
# every acknowledged write (tools/bench/src/chaos/; report in .local/chaos.md). It adds S3
# (s3s-fs) to the stack.
#
# BENCH_PROFILE=debug measures the debug binaries of `cargo build -p functions --bins`
# instead, with a debug build of the tool (quick to build; for working on the tool and
# for make test's short run of the Lambda-shaped mode, not for numbers). The bench tool's
# own settings (BENCH_ITERATIONS, BENCH_LONG, BENCH_SCALES, BENCH_CASES, ...) are listed
# by `target/release/bench --help`.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
bash scripts/setup.sh postgrest
LAMBDA=${BENCH_LAMBDA:-}
if [ -n "${BENCH_CHAOS:-}" ]; then
  mode=(chaos)
  default_output=$ROOT/.local/chaos.md
elif [ -n "$LAMBDA" ]; then
  bash scripts/setup.sh venv
  bash scripts/setup.sh nginx
  mode=(lambda)
  default_output=$ROOT/.local/bench-lambda.md
else
  mode=()
  default_output=$ROOT/.local/bench.md
fi
export PATH="$ROOT/.local/bin:$PATH"
mkdir -p "$ROOT/.local/logs"
STACK_LOGS=$(mktemp -d "$ROOT/.local/logs/bench.XXXXXX")
# shellcheck source=scripts/stack.sh
source scripts/stack.sh
stack_init
ensure_postgres

# The commit the binaries are built from, for the report's header.
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ]; then commit="$commit (with uncommitted changes)"; fi

# The tool itself is optimized for numbers: its emulator sits inside every measured interval.
profile=${BENCH_PROFILE:-release}
log "building the bench tool"
if [ "$profile" = debug ]; then
  cargo build -p bench --quiet
  tool=$ROOT/target/debug/bench
else
  cargo build --release -p bench --quiet
  tool=$ROOT/target/release/bench
fi
# The Supabase Auth stand-in (the sign-in answers' measurements) and mint-token, as the
# test stack builds them.
cargo build -p devstack --bins --quiet
# Only the binaries the cases run (each fat-LTO link takes about a minute here).
read -r -a functions <<< "$("$tool" "${mode[@]}" --functions)"
bins=()
for f in "${functions[@]}"; do bins+=(--bin "$f"); done

case "$profile" in
  release)
    log "building ${functions[*]} (release: fat LTO, a few minutes the first time)"
    build_started=$(date +%s)
    cargo build --release -p functions "${bins[@]}" --quiet
    log "functions built in $(( $(date +%s) - build_started )) s"
    ;;
  debug)
    log "BENCH_PROFILE=debug: measuring debug binaries (not representative)"
    cargo build -p functions "${bins[@]}" --quiet
    ;;
  *) die "BENCH_PROFILE must be release or debug" ;;
esac

# Throwaway credentials for this run only.
export SUPABASE_ANON_KEY=local-anon-key-not-a-secret
SUPABASE_JWT_SECRET=$(openssl rand -hex 32)
export SUPABASE_JWT_SECRET

create_database "supa_lambda_bench_$(date +%s)_$$" drop-on-exit
migrate

# The functions verify the bench's HS256 tokens with the secret; PostgREST reads its keys
# from SUPABASE_URL's JWKS plus the secret (start_postgrest). SUPABASE_URL is the Supabase
# Auth stand-in, as in make test: the sign-in answers are measured against it (bcrypt
# cost 10, as GoTrue), with GoTrue's 60 s wait between two emails to one address.
SUPABASE_SERVICE_ROLE_KEY=$(mint_service_role_key)
export SUPABASE_SERVICE_ROLE_KEY
generate_keys "$STACK_LOGS/keys"
start_auth
start_postgrest
lambda_env=()
if [ -n "$LAMBDA" ]; then
  start_secrets_manager
  start_tls_front "$STACK_LOGS/tls"
  lambda_env=(
    "BENCH_TLS_SUPABASE_URL=$TLS_SUPABASE_URL"
    "BENCH_TLS_SECRETS_URL=$TLS_SECRETS_MANAGER_URL"
    "BENCH_CA_FILE=$CA_FILE"
    "BENCH_SIGNING_KEY=$KEYS_DIR/key-a.pem"
    "BENCH_SIGNING_KID=key-a"
  )
fi

if [ -n "${BENCH_CHAOS:-}" ]; then
  S3_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/supa-lambda-chaos-s3.XXXXXX")
  export S3_ROOT
  STACK_RM_DIRS+=("$S3_ROOT")
  export UPLOADS_BUCKET=supa-lambda-uploads
  mkdir -p "$S3_ROOT/$UPLOADS_BUCKET"
  start_s3
  # The run kills and starts PostgREST, S3 and the Auth stand-in itself: the shell need
  # not report their ends (the cleanup still stops them by process group).
  disown -a
  lambda_env=(
    "CHAOS_POSTGREST_PID=$POSTGREST_PID"
    "CHAOS_AUTH_PID=$AUTH_PID"
    "CHAOS_S3_PID=$S3_PID"
  )
fi

env "${lambda_env[@]}" \
BENCH_DATABASE_URL=$DB_URL \
BENCH_FUNCTIONS_DIR="${BENCH_FUNCTIONS_DIR:-$ROOT/target/$profile}" \
BENCH_LOG_DIR="$STACK_LOGS" \
BENCH_OUTPUT="${BENCH_OUTPUT:-$default_output}" \
BENCH_GIT_COMMIT="$commit" \
BENCH_POSTGREST_VERSION="$("$LOCAL/bin/postgrest" --version 2>/dev/null | head -n1)" \
  "$tool" "${mode[@]}" || { log "the bench failed; logs in $STACK_LOGS"; exit 1; }
# Logs are kept only when something failed.
rm -rf "$STACK_LOGS"
