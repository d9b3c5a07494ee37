#!/usr/bin/env bash
# The example web app (examples/web) in a real browser: builds it against the running
# API, then Debian's Chromium, headless and driven by playwright-core, signs in with the
# cookie, pages and edits projects, uploads to S3, watches the stream, signs out, and
# shows what a browser refuses (examples/web/test/browser.test.mjs).
#
# Needs the stack of `make test` (or of `make dev`) with supabase/seed.sql loaded:
#   BROWSER_API_URL  the API as the app calls it, on the app's site (http://localhost:<port>)
#   APP_PORT         where the test serves the built app (http://localhost:$APP_PORT, which
#                    must be one of the API's ALLOWED_ORIGINS)
#   S3_ROOT, UPLOADS_BUCKET, TEST_DATABASE_URL   to check what is stored afterwards
#   APP_URL          instead of APP_PORT: test an app already served, such as make dev's
#                    (APP_URL=http://localhost:5173 BROWSER_API_URL=http://localhost:9000)
# Screenshots of failed steps go to BROWSER_SCREENSHOTS (default .local/browser/).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
bash "$ROOT/scripts/setup.sh" browser
: "${BROWSER_API_URL:?the API URL on the site of the app, e.g. http://localhost:9000}"
cd "$ROOT/examples/web"
npm run --silent typecheck
if [ -z "${APP_URL:-}" ]; then
  : "${APP_PORT:?the port to serve the app on}"
  VITE_API_URL=$BROWSER_API_URL npx --no-install vite build --logLevel warn
fi
export BROWSER_SCREENSHOTS=${BROWSER_SCREENSHOTS:-$ROOT/.local/browser}
rm -rf "$BROWSER_SCREENSHOTS"
node --test --test-concurrency=1 --test-reporter=spec test/browser.test.mjs
