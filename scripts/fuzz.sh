#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo fuzz, libFuzzer) of what reads untrusted input first:
# fuzz/fuzz_targets/credentials.rs (Authorization header, token verifier),
# session_cookie.rs (the @supabase/ssr cookie reader) and json_body.rs (the JSON body
# reader with every body type of the handlers). Each target starts from its seed corpus
# in fuzz/corpus/<target> (read only: new inputs go to a scratch folder) and runs
# FUZZ_SECONDS (default 15, as in `make test`); `make fuzz` runs 300 s each. A panic,
# an input slower than 5 s (a hang) or an out-of-memory fails the run; libFuzzer saves
# the input in fuzz/artifacts/<target>/ and prints how to replay it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_EACH=${FUZZ_SECONDS:-15}
bash "$ROOT/scripts/setup.sh" fuzz
export PATH="$ROOT/.local/bin:$PATH"
# libFuzzer's instrumentation needs nightly flags: the nightly toolchain when the machine
# has one, else the stable one with its unstable features allowed.
if rustup run nightly rustc --version >/dev/null 2>&1; then
  fuzz() { cargo +nightly fuzz "$@"; }
else
  fuzz() { RUSTC_BOOTSTRAP=1 cargo fuzz "$@"; }
fi
cd "$ROOT/fuzz"
# No sanitizer: the targets are safe Rust; what is looked for is panics and hangs.
fuzz build -s none
scratch=$(mktemp -d "${TMPDIR:-/tmp}/fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
for target in credentials session_cookie json_body; do
  mkdir -p "$scratch/$target"
  echo "[fuzz] $target for ${SECONDS_EACH}s" >&2
  fuzz run -s none "$target" "$scratch/$target" "corpus/$target" -- \
    -max_total_time="$SECONDS_EACH" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 \
    2> "$scratch/$target.log" || {
    tail -n 40 "$scratch/$target.log" >&2
    echo "[fuzz] $target failed: the input is in fuzz/artifacts/$target/" >&2
    exit 1
  }
  grep -E '^stat::number_of_executed_units|^stat::new_units_added' "$scratch/$target.log" |
    sed "s/^/[fuzz] $target /" >&2 || true
done
