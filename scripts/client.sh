#!/usr/bin/env bash
# The TypeScript client (clients/typescript): its generated types are what
# openapi-typescript writes from openapi.json, it and its type tests compile (tsc), and,
# given a running API (API_URL or LOCAL_API_URL, and the Auth stand-in at SUPABASE_URL),
# the built client works against it as the seeded admin (test/smoke.mjs).
# `make test` runs it; `scripts/client.sh` by hand checks against `make dev`.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT/clients/typescript"
bash "$ROOT/scripts/setup.sh" client
npm run --silent check
API_URL=${API_URL:-${LOCAL_API_URL:-}}
if [ -n "$API_URL" ]; then
  npm run --silent build
  API_URL=$API_URL ACCESS_TOKEN=$(bash "$ROOT/scripts/seed-token.sh") node test/smoke.mjs
fi
