#!/usr/bin/env bash
# make audit: the supply chain against known advisories and the project's rules.
#
# 1. Rust: cargo-deny (pinned; scripts/setup.sh deny) with deny.toml: advisories from the
#    RustSec database, licenses, duplicate versions, sources. The database is cloned from
#    GitHub where the network reaches it, else from the snapshot bundle beside the
#    checkout (../shared/advisory-db.bundle, or AUDIT_ADVISORY_DB_BUNDLE); the run says
#    which, and of what date. Findings are fixed or explained in deny.toml.
# 2. npm: every folder with a package-lock.json: each package pinned with its integrity
#    hash, and `npm audit` against the registry's advisory service; an advisory not
#    explained in tests/npm-audit.json fails the run. (A registry mirror without that
#    service cannot answer: said, and not a failure unless AUDIT_NPM_REQUIRED=1.)
# 3. Python: every requirement of tools/python/*.txt is pinned with its hashes (what
#    scripts/setup.sh installs with --require-hashes), and the locks match their .in pins.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
log() { printf '[audit] %s\n' "$*" >&2; }
die() { printf '[audit] error: %s\n' "$*" >&2; exit 1; }

# --- Rust ------------------------------------------------------------------------------
bash scripts/setup.sh deny
# cargo-deny keeps the default database at <db-path>/advisory-db-<hash of its URL>.
DB_ROOT=$ROOT/target/advisory-dbs
DB=$DB_ROOT/advisory-db-3157b0e258782691
BUNDLE=${AUDIT_ADVISORY_DB_BUNDLE:-$ROOT/../shared/advisory-db.bundle}
rm -rf "$DB"
mkdir -p "$DB_ROOT"
if GIT_TERMINAL_PROMPT=0 timeout 30 git clone --quiet --depth 1 https://github.com/RustSec/advisory-db "$DB" 2>/dev/null; then
  source="GitHub (RustSec/advisory-db)"
elif [ -f "$BUNDLE" ]; then
  rm -rf "$DB"
  # The bundle's one branch is `snapshot` (it has no HEAD).
  branch=$(git bundle list-heads "$BUNDLE" | awk '{print $2}' | sed -n 's|^refs/heads/||p' | head -n1)
  git clone --quiet -b "$branch" "$BUNDLE" "$DB"
  source="the snapshot bundle ${BUNDLE#"$ROOT"/}"
else
  die "no RustSec database: GitHub is out of reach and there is no bundle at $BUNDLE (set AUDIT_ADVISORY_DB_BUNDLE)"
fi
log "RustSec database from $source: $(git -C "$DB" log -1 --format='%h, %s (%cs)')"
# Offline from here: the crates' sources come from crates.io first (cargo metadata needs
# every one), the database is the clone above.
cargo fetch --locked --quiet
log "cargo deny check: advisories, licenses, bans, sources (deny.toml)"
"$ROOT/.local/bin/cargo-deny" --offline check --hide-inclusion-graph

# --- npm -------------------------------------------------------------------------------
# Every package of each lock file pinned with its integrity hash (npm ci checks it), then
# npm audit against the registry's advisory service. A registry without that service (a
# mirror answers 404 or 405) cannot say: the run says so and goes on, unless
# AUDIT_NPM_REQUIRED=1.
command -v npm >/dev/null || die "npm is needed for npm audit"
unchecked=()
while IFS= read -r lock; do
  dir=$(dirname "$lock")
  python3 - "$lock" <<'PY'
import json, sys
path = sys.argv[1]
packages = json.load(open(path)).get("packages", {})
loose = [name for name, p in packages.items()
         if name and not p.get("link") and not (p.get("version") and p.get("integrity"))]
if loose:
    sys.exit(f"[audit] {path}: not pinned with an integrity hash: {', '.join(loose[:10])}")
print(f"[audit] {path}: {len(packages) - 1} packages, each pinned with its integrity hash", file=sys.stderr)
PY
  log "npm audit: $dir"
  report=$(cd "$dir" && npm audit --json 2>/dev/null || true)
  status=0
  python3 - "$dir" "$report" "${AUDIT_NPM_REQUIRED:-0}" <<'PY' || status=$?
import json, sys
folder, raw, required = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
try:
    report = json.loads(raw)
except ValueError:
    sys.exit(f"[audit] npm audit in {folder} gave no report")
if "error" in report or "statusCode" in report:
    status = report.get("statusCode")
    text = (report.get("error") or {}).get("summary") or report.get("message") or f"HTTP {status}"
    if status in (404, 405) and not required:
        print(f"[audit]   NOT CHECKED: the registry has no advisory service here ({text}); "
              "run make audit where registry.npmjs.org answers, or set AUDIT_NPM_REQUIRED=1 to fail",
              file=sys.stderr)
        sys.exit(3)
    sys.exit(f"[audit] npm audit in {folder}: {text}")
explained = json.load(open("tests/npm-audit.json")).get(folder, {})
found = {}
for name, v in report.get("vulnerabilities", {}).items():
    for via in v.get("via", []):
        if isinstance(via, dict):
            found[via.get("url", "").rsplit("/", 1)[-1] or name] = (name, via.get("severity"), via.get("title"))
for k, (name, severity, title) in sorted(found.items()):
    mark = "explained" if k in explained else "NOT EXPLAINED"
    print(f"[audit]   {k} {name} ({severity}): {title} -- {mark}", file=sys.stderr)
stale = sorted(set(explained) - set(found))
if stale:
    sys.exit(f"[audit] tests/npm-audit.json explains advisories {folder} no longer has: {', '.join(stale)}")
unexplained = [k for k in found if k not in explained]
if unexplained:
    sys.exit(f"[audit] {len(unexplained)} advisory(ies) in {folder} neither fixed nor explained in tests/npm-audit.json")
print(f"[audit]   {folder}: {len(found)} advisories, all explained" if found else f"[audit]   {folder}: no advisories", file=sys.stderr)
PY
  case $status in
    0) ;;
    3) unchecked+=("npm advisories of $dir") ;;
    *) exit "$status" ;;
  esac
done < <(git ls-files '*package-lock.json' | grep -v node_modules)

# --- Python ----------------------------------------------------------------------------
for lock in tools/python/*.txt; do
  python3 - "$lock" <<'PY'
import re, sys
path = sys.argv[1]
text = open(path).read().replace("\\\n", " ")
lines = [l for l in text.splitlines() if l.strip() and not l.lstrip().startswith("#")]
bad = [l.split()[0] for l in lines if "==" not in l.split()[0] or "--hash=sha256:" not in l]
if bad:
    sys.exit(f"[audit] {path}: not pinned with hashes: {', '.join(bad)}")
pins = {l.split()[0].split("==")[0].split("[")[0].lower() for l in lines}
source = path[:-4] + ".in"
for l in open(source):
    l = l.split("#")[0].strip()
    if l:
        name = re.split(r"[\[=<>~ ]", l, 1)[0].lower()
        if name not in pins or l.split("==")[-1] not in text:
            sys.exit(f"[audit] {path} does not hold {l} of {source}: run tools/python/lock.sh")
print(f"[audit] {path}: {len(lines)} requirements, each pinned with its hashes", file=sys.stderr)
PY
done
if [ ${#unchecked[@]} -gt 0 ]; then
  log "done: no finding unexplained; not checked here: ${unchecked[*]}"
else
  log "done: no finding unexplained"
fi
