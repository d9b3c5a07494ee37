#!/usr/bin/env bash
# Schemathesis against a running local API: every operation of openapi.json (but the
# stream, whose events take seconds each; tests/tests/api/stream.rs covers it), as the
# seeded admin alice@example.com with a token from the Supabase Auth stand-in, with
# the examples, coverage, fuzzing and stateful phases (links from each create to what
# takes its id). Fails on any 5xx, any answer the document does not describe (status,
# content type, headers, body), any accepted input the document forbids, and any answer
# without the security headers (tests/contract/hooks.py).
#
# A token is refused once its session ends, and sign-out ends it: every operation but
# sign-out and delete-my-account runs first with one token; then delete-my-account,
# alone, as a user made for it through Supabase Auth's admin API (SUPABASE_SERVICE_ROLE_KEY,
# which make test and make contract export; without it, it is skipped); sign-out last,
# alone, with a token of its own.
#
# `make test` runs it on its own stack after the Rust tests (the database then holds
# supabase/seed.sql); `make contract` runs a longer one (more examples, other seeds) on
# a stack of its own (scripts/contract-long.sh). By hand, against `make dev`:
#   scripts/contract.sh                               # the bounded run of make test
#   CONTRACT_EXAMPLES=200 CONTRACT_SEED=$RANDOM scripts/contract.sh   # a longer one
# API_URL (default http://127.0.0.1:9000) and SUPABASE_URL (default the dev stand-in,
# http://127.0.0.1:54321) say where.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
API_URL=${API_URL:-${LOCAL_API_URL:-http://127.0.0.1:9000}}
EXAMPLES=${CONTRACT_EXAMPLES:-10}
SEED=${CONTRACT_SEED:-1}
SCHEMATHESIS=$ROOT/.local/venv/bin/schemathesis
[ -x "$SCHEMATHESIS" ] || { echo "run scripts/setup.sh venv first (it installs schemathesis)" >&2; exit 1; }

token=$(bash "$ROOT/scripts/seed-token.sh")

report=$(mktemp -d "${TMPDIR:-/tmp}/contract.XXXXXX")
# `cargo lambda watch` starts a function on its first request: start each one now (a
# request without credentials), so no test case waits for a start-up.
curl -sf "$API_URL/openapi.json" | python3 -c '
import json, sys
for path, item in json.load(sys.stdin)["paths"].items():
    for method in item:
        print(method.upper(), path.replace("{id}", "00000000-0000-4000-8000-00000000dead").replace("{userId}", "00000000-0000-4000-8000-00000000dead"))
' | while read -r method path; do
  [ "$path" = /stream ] && continue
  curl -s -o /dev/null -m 120 -X "$method" "$API_URL$path" || true
done

trap 'rm -rf "$report"' EXIT
cd "$ROOT/tests/contract"
# The document the checks read is the one the API serves.
curl -sf "$API_URL/openapi.json" -o "$report/openapi.json"
export CONTRACT_DOCUMENT=$report/openapi.json SCHEMATHESIS_HOOKS=hooks
export PYTHONPATH=$ROOT/tests/contract${PYTHONPATH:+:$PYTHONPATH}
# unsupported_method is left out: a method a path does not serve is 404 NOT_FOUND here
# (API Gateway sends it to the $default route), not 405. ignored_auth and
# positive_data_acceptance are left out: the document cannot say everything the
# validators check (a name's letters, a website's host), so valid-looking data is
# sometimes refused, correctly.
run() { # TOKEN, then filters
  local token=$1; shift
  "$SCHEMATHESIS" --config-file schemathesis.toml run "$API_URL/openapi.json" \
    --url "$API_URL" \
    -H "Authorization: Bearer $token" \
    --checks all,security_headers \
    --exclude-checks ignored_auth,positive_data_acceptance,unsupported_method \
    "$@" \
    --max-examples "$EXAMPLES" \
    --seed "$SEED" \
    --workers 2 \
    --request-timeout 60 \
    --output-truncate true \
    --report-dir "$report" \
    --warnings off
}
run "$token" --exclude-operation-id stream --exclude-operation-id sign-out \
  --exclude-operation-id delete-my-account
# A fresh, confirmed account with a password, signed in: what DELETE /me may delete.
throwaway_token() {
  local auth=${SUPABASE_URL:-http://127.0.0.1:54321}/auth/v1 key=$SUPABASE_SERVICE_ROLE_KEY
  local email="leaver-$RANDOM$RANDOM@example.com" password="throwaway-$RANDOM-$RANDOM"
  curl -sf -X POST "$auth/admin/users" -H "apikey: $key" -H "Authorization: Bearer $key" \
    -H 'Content-Type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"$password\",\"email_confirm\":true}" >/dev/null
  curl -sf -X POST "$auth/token?grant_type=password" \
    -H "apikey: ${SUPABASE_ANON_KEY:-local-anon-key-not-a-secret}" -H 'Content-Type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"$password\"}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}
# Each token is taken in an assignment of its own, so a failed sign-in stops the run
# (inside a command's arguments it would pass an empty token silently).
if [ -n "${SUPABASE_SERVICE_ROLE_KEY:-}" ]; then
  leaver=$(throwaway_token)
  run "$leaver" --include-operation-id delete-my-account \
    --phases examples,coverage,fuzzing
  # An account of its own too: the first run may have changed alice's password
  # (POST /auth/password) or ended her sessions.
  signer=$(throwaway_token)
else
  echo "contract: delete-my-account skipped (no SUPABASE_SERVICE_ROLE_KEY to make a user to delete)" >&2
  signer=$(bash "$ROOT/scripts/seed-token.sh")
fi
# Alone, it has no links to follow: no stateful phase.
run "$signer" --include-operation-id sign-out \
  --phases examples,coverage,fuzzing
