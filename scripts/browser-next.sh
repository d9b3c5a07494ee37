#!/usr/bin/env bash
# The Next.js app (examples/nextjs) in a real browser: builds it (`next build`) for the
# running API, serves it with `next start`, then Debian's Chromium, headless and driven by
# playwright-core, is sent to sign-in, signs in with the API's cookie, creates and edits
# through server actions (the API's 422 next to its field), uploads to S3, watches the
# stream through a route handler, has its expired session renewed by the proxy, is sent
# back to sign-in once its session ends elsewhere, signs out, and signs in with GitHub and
# email links (examples/nextjs/test/browser.test.mjs).
#
# Needs the stack of `make test` with supabase/seed.sql loaded:
#   BROWSER_API_URL  the API on the app's site (http://localhost:<port>)
#   NEXT_PORT        where to serve the app (http://localhost:$NEXT_PORT must be one of the
#                    API's ALLOWED_ORIGINS)
#   SUPABASE_URL and SUPABASE_ANON_KEY, or TEST_GATEWAY_URL and TEST_PUBLISHABLE_KEY (the
#                    gateway for today's keys, preferred): where the proxy refreshes sessions
#   S3_ENDPOINT      the bucket's origin, which the app's Content-Security-Policy allows
#   S3_ROOT, UPLOADS_BUCKET, TEST_DATABASE_URL, SUPABASE_SERVICE_ROLE_KEY   for the checks
# Screenshots of failed steps go to BROWSER_SCREENSHOTS (default .local/browser-next/).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
bash "$ROOT/scripts/setup.sh" browser-next
: "${BROWSER_API_URL:?the API URL on the site of the app, e.g. http://localhost:9000}"
: "${NEXT_PORT:?the port to serve the app on}"
cd "$ROOT/examples/nextjs"
export NEXT_TELEMETRY_DISABLED=1
build_log=$(mktemp "${TMPDIR:-/tmp}/next-build.XXXXXX")
server_log=$(mktemp "${TMPDIR:-/tmp}/next-start.XXXXXX")
trap 'rm -f "$build_log" "$server_log"' EXIT
NEXT_PUBLIC_API_URL=$BROWSER_API_URL timeout 600 npx --no-install next build >"$build_log" 2>&1 \
  || { cat "$build_log" >&2; exit 1; }
npm run --silent typecheck

API_URL=$BROWSER_API_URL \
SUPABASE_URL=${TEST_GATEWAY_URL:-$SUPABASE_URL} \
SUPABASE_PUBLISHABLE_KEY=${TEST_PUBLISHABLE_KEY:-$SUPABASE_ANON_KEY} \
STORAGE_ORIGIN=$S3_ENDPOINT \
COOKIE_SECURE=false \
  setsid npx --no-install next start --hostname localhost --port "$NEXT_PORT" >"$server_log" 2>&1 &
server=$!
trap 'kill -TERM -- "-$server" 2>/dev/null || true; rm -f "$build_log" "$server_log"' EXIT
for _ in $(seq 1 120); do
  curl -s -o /dev/null "http://localhost:$NEXT_PORT/sign-in" && break
  kill -0 "$server" 2>/dev/null || { cat "$server_log" >&2; exit 1; }
  sleep 0.25
done

export NEXT_APP_URL="http://localhost:$NEXT_PORT"
export BROWSER_SCREENSHOTS=${BROWSER_SCREENSHOTS:-$ROOT/.local/browser-next}
rm -rf "$BROWSER_SCREENSHOTS"
status=0
# Bounded: a step that hangs fails after 60 s, the whole run after 5 minutes.
timeout 300 node --test --test-concurrency=1 --test-timeout=60000 --test-reporter=spec test/browser.test.mjs \
  || status=$?
# No page may have failed on the server while the steps passed (Next logs each with ⨯).
if [ "$status" = 0 ] && grep -q "⨯" "$server_log"; then
  echo "next start logged errors during the run:" >&2
  status=1
fi
if [ "$status" != 0 ]; then echo "--- next start's log:" >&2; tail -n 50 "$server_log" >&2; fi
exit "$status"
