#!/usr/bin/env bash
# Prints a real access token of the seeded admin alice@example.com (supabase/seed.sql,
# dev-only password), from the Supabase Auth stand-in at SUPABASE_URL (default the
# `make dev` one), which runs the access token hook (the token carries user_role).
set -euo pipefail
SUPABASE_URL=${SUPABASE_URL:-http://127.0.0.1:54321}
ANON_KEY=${SUPABASE_ANON_KEY:-local-anon-key-not-a-secret}
curl -sf -X POST "$SUPABASE_URL/auth/v1/token?grant_type=password" \
  -H 'Content-Type: application/json' -H "apikey: $ANON_KEY" \
  -d '{"email":"alice@example.com","password":"password123"}' |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])' || {
  echo "could not sign in alice@example.com at $SUPABASE_URL (is supabase/seed.sql loaded?)" >&2
  exit 1
}
