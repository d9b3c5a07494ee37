#!/usr/bin/env bash
# The local stack, as functions for scripts/dev.sh and scripts/test.sh to source:
# PostgreSQL (a database of its own) + Supabase bootstrap + migrations, PostgREST
# configured as Supabase runs it, and an S3 server that verifies signatures.
# Every process started here runs in its own process group and is stopped by
# stack_cleanup (installed on EXIT, INT and TERM), Ctrl-C included.

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
LOCAL=$ROOT/.local
STACK_PGIDS=()
STACK_LOGS=${STACK_LOGS:-$LOCAL/logs}
STACK_DROP_DBS=()
STACK_RM_DIRS=()

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# url_with URL key=value...: the URL with user, password or database replaced.
url_with() {
  python3 - "$@" <<'PY'
import sys
from urllib.parse import urlsplit, urlunsplit, quote
u = urlsplit(sys.argv[1])
parts = dict(a.split("=", 1) for a in sys.argv[2:])
user = parts.get("user", u.username or "")
password = parts.get("password", u.password or "") if "user" not in parts else parts.get("password", "")
host = u.hostname or "127.0.0.1"
if ":" in host: host = "[" + host + "]"
netloc = quote(user, safe="") + ((":" + quote(password, safe="")) if password else "") + ("@" if user else "") + host + ((":" + str(u.port)) if u.port else "")
path = "/" + parts["db"] if "db" in parts else u.path
print(urlunsplit((u.scheme, netloc, path, u.query, "")))
PY
}

# Start a command in its own process group, output to a log file; remembers it for cleanup.
spawn() {
  local name=$1; shift
  setsid "$@" >"$STACK_LOGS/$name.log" 2>&1 < /dev/null &
  STACK_PGIDS+=($!)
}

stack_cleanup() {
  local status=$?
  trap - EXIT INT TERM
  local pgid
  for pgid in "${STACK_PGIDS[@]}"; do kill -TERM -- "-$pgid" 2>/dev/null || true; done
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    local alive=0
    for pgid in "${STACK_PGIDS[@]}"; do kill -0 -- "-$pgid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.5
  done
  for pgid in "${STACK_PGIDS[@]}"; do kill -KILL -- "-$pgid" 2>/dev/null || true; done
  local db
  for db in "${STACK_DROP_DBS[@]}"; do
    psql "$PG_ADMIN_URL" -q -v ON_ERROR_STOP=1 -c "drop database if exists \"$db\" with (force)" >/dev/null 2>&1 \
      || log "could not drop database $db"
  done
  local dir
  for dir in "${STACK_RM_DIRS[@]}"; do rm -rf "$dir"; done
  exit "$status"
}

stack_init() {
  mkdir -p "$STACK_LOGS"
  trap stack_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# PostgreSQL: DATABASE_URL when set, else postgres@127.0.0.1:5432. When nothing listens
# there but a Debian cluster exists, start it; otherwise say what to install.
ensure_postgres() {
  PG_ADMIN_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
  command -v psql >/dev/null || die "psql not found: install PostgreSQL 15 (Debian: apt-get install postgresql postgresql-client)"
  if pg_isready -q -d "$PG_ADMIN_URL" 2>/dev/null; then return; fi
  if command -v pg_lsclusters >/dev/null && [ -n "$(pg_lsclusters -h 2>/dev/null)" ]; then
    local ver name
    read -r ver name _ < <(pg_lsclusters -h | head -n1)
    log "PostgreSQL is not answering; starting cluster $ver/$name"
    local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start || die "could not start PostgreSQL cluster $ver/$name"
    for _ in $(seq 1 30); do pg_isready -q -d "$PG_ADMIN_URL" && return; sleep 1; done
  fi
  die "no PostgreSQL at ${PG_ADMIN_URL%%\?*}. Install PostgreSQL 15 (Debian: apt-get install postgresql) or set DATABASE_URL to a superuser URL"
}

psql_db() { PGOPTIONS="-c client_min_messages=warning" psql "$DB_URL" -q -v ON_ERROR_STOP=1 "$@"; }

# create_database NAME [drop-on-exit]
create_database() {
  DB_NAME=$1
  DB_URL=$(url_with "$PG_ADMIN_URL" "db=$DB_NAME")
  if [ "${2:-}" = drop-on-exit ]; then STACK_DROP_DBS+=("$DB_NAME"); fi
  if ! psql "$PG_ADMIN_URL" -tAc "select 1 from pg_database where datname = '$DB_NAME'" | grep -q 1; then
    psql "$PG_ADMIN_URL" -q -v ON_ERROR_STOP=1 -c "create database \"$DB_NAME\"" >/dev/null
    DB_CREATED=1
  else
    DB_CREATED=0
  fi
}

drop_database() {
  psql "$PG_ADMIN_URL" -q -v ON_ERROR_STOP=1 -c "drop database if exists \"$1\" with (force)" >/dev/null
}

# The Supabase bootstrap (local only), then every migration not applied yet, in order,
# each in its own transaction, recorded as the Supabase CLI records them.
migrate() {
  psql_db -f "$ROOT/supabase/local/bootstrap.sql" >/dev/null
  psql_db -f "$ROOT/supabase/local/auth-standin.sql" >/dev/null
  psql_db -c "create schema if not exists supabase_migrations; create table if not exists supabase_migrations.schema_migrations (version text primary key, name text, applied_at timestamptz default now())" >/dev/null
  local f base version
  for f in "$ROOT"/supabase/migrations/*.sql; do
    base=$(basename "$f" .sql); version=${base%%_*}
    if [ -z "$(psql_db -tAc "select 1 from supabase_migrations.schema_migrations where version = '$version'")" ]; then
      log "migration $base"
      psql_db -1 -f "$f" -c "insert into supabase_migrations.schema_migrations (version, name) values ('$version', '${base#*_}')" >/dev/null
    fi
  done
}

wait_http() { # URL NAME [seconds]
  local url=$1 name=$2 limit=${3:-30}
  for _ in $(seq 1 $((limit * 4))); do
    if curl -s -o /dev/null "$url"; then return 0; fi
    sleep 0.25
  done
  log "$name did not start; its log:"; tail -n 30 "$STACK_LOGS/$name.log" >&2 || true
  exit 1
}

# Signing keys for the Supabase Auth stand-in, like a project with asymmetric keys:
# key-a (ES256) signs, key-b (ES256, a rotation standby) and key-c (RS256) are published.
generate_keys() {
  KEYS_DIR=$1
  mkdir -p "$KEYS_DIR"; chmod 700 "$KEYS_DIR"
  [ -f "$KEYS_DIR/key-a.pem" ] || openssl ecparam -genkey -noout -name prime256v1 2>/dev/null | openssl pkcs8 -topk8 -nocrypt -out "$KEYS_DIR/key-a.pem"
  [ -f "$KEYS_DIR/key-b.pem" ] || openssl ecparam -genkey -noout -name prime256v1 2>/dev/null | openssl pkcs8 -topk8 -nocrypt -out "$KEYS_DIR/key-b.pem"
  [ -f "$KEYS_DIR/key-c.pem" ] || openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$KEYS_DIR/key-c.pem" 2>/dev/null
  chmod 600 "$KEYS_DIR"/*.pem
}

# A service-role key (HS256, like Supabase's legacy API keys) for the project secret.
mint_service_role_key() {
  "$ROOT/target/debug/mint-token" --role service_role
}

# The Supabase Auth stand-in (tools/devstack/src/auth/): GoTrue's token,
# logout, user, admin and JWKS endpoints over the app database. SUPABASE_URL points at it.
# As supabase/config.toml configures a project: the before-user-created hook (sign-ups
# obey signupsEnabled), email confirmations on. `start_auth <name>` starts another one
# (its own log) with the environment of the call, e.g. AUTH_MAILER_AUTOCONFIRM=true.
start_auth() {
  local name=${1:-auth-standin}
  local port=${AUTH_PORT:-$(free_port)}
  export SUPABASE_URL="http://127.0.0.1:$port"
  DATABASE_URL="$DB_URL" \
  AUTH_ISSUER="$SUPABASE_URL/auth/v1" \
  AUTH_SIGNING_KEY="$KEYS_DIR/key-a.pem" \
  AUTH_SIGNING_KID=key-a \
  AUTH_EXTRA_PUBLIC_KEYS="key-b=$KEYS_DIR/key-b.pem,key-c=$KEYS_DIR/key-c.pem" \
  AUTH_HOOK_BEFORE_USER_CREATED_URI=${AUTH_HOOK_BEFORE_USER_CREATED_URI:-pg-functions://postgres/public/before_user_created_hook} \
  AUTH_MAILER_AUTOCONFIRM=${AUTH_MAILER_AUTOCONFIRM:-false} \
    spawn "$name" "$ROOT/target/debug/auth-standin" --port "$port"
  # Its process (setsid execs it): make chaos kills and starts it again.
  export AUTH_PID=${STACK_PGIDS[-1]}
  wait_http "$SUPABASE_URL/auth/v1/.well-known/jwks.json" "$name" 30
  log "Supabase Auth stand-in ($name) on $SUPABASE_URL (JWKS: key-a ES256 signing, key-b, key-c)"
}

start_postgrest() {
  local port; port=$(free_port)
  local db_uri; db_uri=$(url_with "$DB_URL" user=authenticator)
  # PostgREST gets the same keys the functions trust: the published JWKS plus the
  # project's HS256 secret as an `oct` key (so legacy tokens and API keys work).
  local jwks
  jwks=$(curl -sf "$SUPABASE_URL/auth/v1/.well-known/jwks.json" | python3 -c '
import base64, json, os, sys
keys = json.load(sys.stdin)["keys"]
secret = os.environ["SUPABASE_JWT_SECRET"].encode()
keys.append({"kty": "oct", "k": base64.urlsafe_b64encode(secret).rstrip(b"=").decode(), "alg": "HS256"})
print(json.dumps({"keys": keys}))') || die "could not read the JWKS of the auth stand-in"
  PGRST_DB_URI="$db_uri" \
  PGRST_DB_SCHEMAS=public \
  PGRST_DB_EXTRA_SEARCH_PATH="public, extensions" \
  PGRST_DB_ANON_ROLE=anon \
  PGRST_JWT_SECRET="$jwks" \
  PGRST_JWT_AUD=authenticated \
  PGRST_DB_MAX_ROWS=1000 \
  PGRST_DB_POOL=20 \
  PGRST_SERVER_HOST=127.0.0.1 \
  PGRST_SERVER_PORT="$port" \
  PGRST_LOG_LEVEL=warn \
    spawn postgrest "$LOCAL/bin/postgrest"
  # Its process (setsid execs it): make chaos pauses, kills and starts it again.
  export POSTGREST_PID=${STACK_PGIDS[-1]}
  export SUPABASE_REST_URL="http://127.0.0.1:$port"
  wait_http "$SUPABASE_REST_URL/" postgrest 30
  log "PostgREST on $SUPABASE_REST_URL (database $DB_NAME)"
}

start_s3() {
  local port; port=$(free_port)
  export LOCAL_S3_ACCESS_KEY LOCAL_S3_SECRET_KEY
  LOCAL_S3_ACCESS_KEY=${LOCAL_S3_ACCESS_KEY:-local-$(openssl rand -hex 6)}
  LOCAL_S3_SECRET_KEY=${LOCAL_S3_SECRET_KEY:-$(openssl rand -hex 24)}
  mkdir -p "$S3_ROOT"
  # The bucket's CORS rule (template.yaml: the API's allowed origins), for browser uploads.
  export LOCAL_S3_CORS_ORIGINS=${LOCAL_S3_CORS_ORIGINS:-${ALLOWED_ORIGINS:-}}
  spawn local-s3 "$ROOT/target/debug/local-s3" --port "$port" --root "$S3_ROOT"
  export S3_PID=${STACK_PGIDS[-1]}
  export S3_ENDPOINT="http://127.0.0.1:$port"
  export AWS_ACCESS_KEY_ID=$LOCAL_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$LOCAL_S3_SECRET_KEY AWS_REGION=us-east-1
  wait_http "$S3_ENDPOINT/" local-s3 30
  log "S3 (s3s-fs, SigV4 checked) on $S3_ENDPOINT"
}

# A local Secrets Manager (moto's server, in .local/venv) for the cold-start secret
# tests; the functions themselves read plain variables locally.
start_secrets_manager() {
  local port; port=$(free_port)
  spawn secrets-manager "$LOCAL/venv/bin/moto_server" -H 127.0.0.1 -p "$port"
  export TEST_SECRETS_MANAGER_URL="http://127.0.0.1:$port"
  wait_http "$TEST_SECRETS_MANAGER_URL/" secrets-manager 60
  log "Secrets Manager (moto) on $TEST_SECRETS_MANAGER_URL"
}

# nginx for this run (Debian's, scripts/setup.sh nginx): the start of a config of its own
# in DIR (one process in the foreground, its pid, log and temporary files in DIR), up to
# the open `http {` block.
need_nginx() {
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || die "nginx not found: bash scripts/setup.sh nginx"
}
nginx_conf_head() {
  local dir=$1
  mkdir -p "$dir/tmp"
  cat <<CONF
daemon off;
master_process off;
worker_processes 1;
error_log $dir/error.log warn;
pid $dir/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  client_max_body_size 8m;
CONF
}
# host:port of a URL (an nginx upstream's server).
host_port() { python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(f"{p.hostname}:{p.port}")' "$1"; }

# The TLS front of the Lambda-shaped bench (Debian's nginx, scripts/setup.sh nginx), as
# Supabase and AWS serve their APIs: one HTTPS origin for the project, as Supabase's
# gateway routes it (/rest/v1/ to PostgREST, /auth/v1/ to the Auth stand-in), and one
# for Secrets Manager (moto). Certificates from a CA made for this run (ECDSA P-256, as
# the certificates in front of Supabase are); CA_FILE is its certificate, which the
# functions are told to trust with EXTRA_CA_CERTS and nothing else. Keep-alive to the
# upstreams, TLS 1.2 and 1.3, HTTP/1.1 (what the functions' client speaks).
# Needs SUPABASE_URL (the Auth stand-in), SUPABASE_REST_URL and TEST_SECRETS_MANAGER_URL;
# sets TLS_SUPABASE_URL, TLS_SECRETS_MANAGER_URL and CA_FILE.
start_tls_front() {
  local dir=$1
  mkdir -p "$dir"; chmod 700 "$dir"
  need_nginx
  openssl ecparam -genkey -noout -name prime256v1 -out "$dir/ca.key" 2>/dev/null
  openssl req -x509 -new -key "$dir/ca.key" -sha256 -days 2 -subj "/CN=supa-lambda bench CA (this run only)" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$dir/ca.pem" 2>/dev/null
  openssl ecparam -genkey -noout -name prime256v1 -out "$dir/server.key" 2>/dev/null
  openssl req -new -key "$dir/server.key" -subj "/CN=127.0.0.1" -out "$dir/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' > "$dir/server.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 2 -sha256 -extfile "$dir/server.ext" -out "$dir/server.pem" 2>/dev/null
  chmod 600 "$dir"/*.key
  CA_FILE=$dir/ca.pem
  local project_port secrets_port
  project_port=$(free_port); secrets_port=$(free_port)
  { nginx_conf_head "$dir"; cat <<CONF
  keepalive_requests 100000;
  keepalive_timeout 120s;
  ssl_certificate $dir/server.pem;
  ssl_certificate_key $dir/server.key;
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_session_cache shared:SSL:1m;
  upstream postgrest { server $(host_port "$SUPABASE_REST_URL"); keepalive 32; }
  upstream auth { server $(host_port "$SUPABASE_URL"); keepalive 8; }
  upstream secrets { server $(host_port "$TEST_SECRETS_MANAGER_URL"); keepalive 8; }
  server {
    listen 127.0.0.1:$project_port ssl;
    location /rest/v1/ {
      proxy_pass http://postgrest/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_buffering off;
    }
    location /auth/v1/ {
      proxy_pass http://auth;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
    }
  }
  server {
    listen 127.0.0.1:$secrets_port ssl;
    location / {
      proxy_pass http://secrets;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
    }
  }
}
CONF
  } > "$dir/nginx.conf"
  spawn nginx /usr/sbin/nginx -p "$dir" -c "$dir/nginx.conf"
  export TLS_SUPABASE_URL="https://127.0.0.1:$project_port"
  export TLS_SECRETS_MANAGER_URL="https://127.0.0.1:$secrets_port"
  export CA_FILE
  for _ in $(seq 1 40); do
    curl -s -o /dev/null --cacert "$CA_FILE" "$TLS_SUPABASE_URL/rest/v1/" && break
    sleep 0.25
  done
  curl -sf -o /dev/null --cacert "$CA_FILE" "$TLS_SUPABASE_URL/auth/v1/.well-known/jwks.json" \
    || { tail -n 20 "$dir/error.log" "$STACK_LOGS/nginx.log" >&2 2>/dev/null; die "the TLS front (nginx) did not start"; }
  log "TLS front (nginx): $TLS_SUPABASE_URL (/rest/v1/, /auth/v1/), Secrets Manager $TLS_SECRETS_MANAGER_URL"
}

# Supabase's API gateway for today's keys (Debian's nginx, scripts/setup.sh nginx), in
# front of PostgREST (/rest/v1/) and the Auth stand-in (/auth/v1/) on one origin, as a
# project with its legacy keys turned off: keys made for this run,
# `sb_publishable_...` and `sb_secret_...`, and nothing else.
# - The apikey header must be one of them (401 "Invalid API key"); a request without one
#   goes on untouched (the stand-in's own Kong check decides, as for the JWKS).
# - The secret key from a browser (a User-Agent starting Mozilla/) is 401, as Supabase's
#   gateway refuses it.
# - Authorization: absent, or the apikey itself, becomes `Bearer <the role's JWT>` (anon
#   for the publishable key, service_role for the secret key); another `Bearer sb_...` is
#   401; a user's JWT goes on as it is.
# - The apikey goes on as the matching legacy key, which the stand-in's Kong check knows
#   (without one, none goes on).
# Needs SUPABASE_URL (the Auth stand-in), SUPABASE_REST_URL, SUPABASE_ANON_KEY,
# SUPABASE_SERVICE_ROLE_KEY (a JWT); sets TEST_GATEWAY_URL, TEST_PUBLISHABLE_KEY and
# TEST_SECRET_KEY.
start_key_gateway() {
  local dir=$1
  mkdir -p "$dir"; chmod 700 "$dir"
  need_nginx
  local port pk sk anon_jwt
  port=$(free_port)
  pk="sb_publishable_$(openssl rand -hex 16)"
  sk="sb_secret_$(openssl rand -hex 16)"
  anon_jwt=$("$ROOT/target/debug/mint-token" --role anon)
  { nginx_conf_head "$dir"; cat <<CONF
  default_type application/json;
  # The maps' keys hold the keys themselves (the longest, "<key>|Bearer <key>").
  map_hash_bucket_size 256;
  map \$http_apikey \$gw_kind { "" none; "$pk" publishable; "$sk" secret; default invalid; }
  map \$http_apikey \$gw_apikey { "$pk" "$SUPABASE_ANON_KEY"; "$sk" "$SUPABASE_SERVICE_ROLE_KEY"; default ""; }
  map "\$gw_kind:\$http_user_agent" \$gw_secret_in_browser { "~^secret:Mozilla/" 1; default 0; }
  map "\$http_apikey|\$http_authorization" \$gw_authorization {
    "$pk|" "Bearer $anon_jwt";
    "$pk|Bearer $pk" "Bearer $anon_jwt";
    "$sk|" "Bearer $SUPABASE_SERVICE_ROLE_KEY";
    "$sk|Bearer $sk" "Bearer $SUPABASE_SERVICE_ROLE_KEY";
    "~\\|Bearer sb_" "refused";
    default \$http_authorization;
  }
  upstream postgrest { server $(host_port "$SUPABASE_REST_URL"); keepalive 16; }
  upstream auth { server $(host_port "$SUPABASE_URL"); keepalive 8; }
  server {
    listen 127.0.0.1:$port;
    if (\$gw_kind = invalid) { return 401 '{"message":"Invalid API key"}'; }
    if (\$gw_secret_in_browser) { return 401 '{"message":"Forbidden use of secret API key in browser"}'; }
    if (\$gw_authorization = refused) { return 401 '{"message":"Invalid API key in Authorization"}'; }
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host \$host;
    proxy_set_header Authorization \$gw_authorization;
    proxy_set_header apikey \$gw_apikey;
    proxy_buffering off;
    location /rest/v1/ { proxy_pass http://postgrest/; }
    location /auth/v1/ { proxy_pass http://auth; }
    location / { return 404 '{"message":"no Route matched with those values"}'; }
  }
}
CONF
  } > "$dir/nginx.conf"
  chmod 600 "$dir/nginx.conf"
  spawn key-gateway /usr/sbin/nginx -p "$dir" -c "$dir/nginx.conf"
  export TEST_GATEWAY_URL="http://127.0.0.1:$port" TEST_PUBLISHABLE_KEY=$pk TEST_SECRET_KEY=$sk
  wait_http "$TEST_GATEWAY_URL/auth/v1/.well-known/jwks.json" key-gateway 20
  log "Supabase's gateway for today's keys (nginx): $TEST_GATEWAY_URL (/rest/v1/, /auth/v1/)"
}
