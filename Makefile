.PHONY: dev test lint audit fmt token bench bench-lambda chaos routes fuzz contract browser

# Run the API locally on a real stack (PostgreSQL, PostgREST, S3) with cargo lambda watch.
# RESET=1 make dev drops and re-seeds the dev database.
dev:
	bash scripts/dev.sh

# Every test: pgTAP, template linters, Rust unit and integration tests.
test:
	bash scripts/test.sh

# Measure the release functions through a Lambda Runtime API emulator, next to the same
# requests sent straight to PostgREST, at 1k and 1M projects (tables in .local/bench.md).
bench:
	bash scripts/bench.sh

# The Lambda-shaped bench: each function at the CPU share of 128, 512 and 1,769 MB (a
# cgroup quota), PostgREST, the JWKS and Secrets Manager behind TLS (nginx), ES256 tokens
# (HS256 as a second case); cold start, warm p50/p99, CPU per warm invocation, peak RSS,
# next to the same request a frontend sends over the same TLS (.local/bench-lambda.md).
bench-lambda:
	BENCH_LAMBDA=1 bash scripts/bench.sh

# Write every file that lists the routes (binaries, [[bin]] entries, watch router,
# template.yaml functions, event fixtures, docs/routes.md's table, openapi.json and the
# TypeScript client's types) from functions/src/routes.rs and the handlers' types.
# CHECK=1 writes nothing and fails if a committed file differs.
routes:
	cargo xtask routes $(if $(CHECK),--check)
	@bash scripts/setup.sh client
	cd clients/typescript && npm run --silent $(if $(CHECK),check,generate)

# Load and faults: CHAOS_INSTANCES (8) signed-in users on pools of Lambda instances for
# CHAOS_SECONDS (60), a mixed workload retried as clients retry, while PostgREST, S3, the Auth
# stand-in and PostgreSQL fail under them at seeded random times (CHAOS_SEED); then a checker
# proves nothing acknowledged was lost or written twice (.local/chaos.md; non-zero exit on a
# violation).
chaos:
	BENCH_CHAOS=1 bash scripts/bench.sh

# The long contract run: schemathesis alone on a stack of its own, 100 examples per
# operation (make test runs 10), once for each of three random seeds (printed).
# CONTRACT_EXAMPLES=N, CONTRACT_SEEDS="1 2 3".
contract:
	CONTRACT_ONLY=1 FAST=1 bash scripts/test.sh

# The two example apps in Chromium on a stack of their own (make test runs them too):
# examples/web (Vite) and examples/nextjs (next build, next start).
browser:
	BROWSER_ONLY=1 FAST=1 bash scripts/test.sh

# The long fuzz run: 300 s for each target (make test runs 15 s each). FUZZ_SECONDS=N.
fuzz:
	FUZZ_SECONDS=$${FUZZ_SECONDS:-300} bash scripts/fuzz.sh

# Formatting, clippy, and no module of shared/, functions/ or tools/devstack importing one that imports
# it back (cargo xtask modules; make test keeps the same through xtask's tests).
lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo xtask modules

# The supply chain (scripts/audit.sh): cargo-deny (advisories from the RustSec database,
# cloned from GitHub or the snapshot bundle beside the checkout; licenses; duplicate
# versions; sources) with every finding fixed or explained in deny.toml; npm audit of every
# package folder (explained in tests/npm-audit.json); the Python tools pinned with hashes.
audit:
	bash scripts/audit.sh

fmt:
	cargo fmt --all

# sam build (every function has `BuildMethod: makefile`; docs/deploying.md):
# SAM runs `make build-<LogicalId>` once per function with ARTIFACTS_DIR set. Each run
# asks for the same release build of every function's binary (LAMBDA_BUILD; arm64 with
# cargo lambda's zig), so the first compiles them and the others find them up to date;
# then it copies its own (HealthFunction -> target/lambda/health/bootstrap). Cargo runs in
# this directory, never in a copy: `sam build --build-in-source` keeps SAM from copying
# the tree (target/ included) once per function, and a copy is refused.
ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
LAMBDA_BUILD ?= cargo lambda build --release --arm64 --package functions --bins
# GetProject -> get-project: the inverse of the generator's logical ids (tools/xtask).
binary = $(shell printf '%s' '$(1)' | sed -E 's/([a-z0-9])([A-Z])/\1-\2/g' | tr '[:upper:]' '[:lower:]')

build-%Function:
	@test "$(realpath $(CURDIR))" = "$(realpath $(ROOT))" || { echo "sam build copied the tree to $(CURDIR): run sam build --build-in-source" >&2; exit 1; }
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set (sam build sets it)" >&2; exit 1; }
	cd $(ROOT) && $(LAMBDA_BUILD)
	cp $(ROOT)/target/lambda/$(call binary,$*)/bootstrap $(ARTIFACTS_DIR)/bootstrap

# Print a dev access token for a user id (needs the dev secret that `make dev` generates):
# of the session SESSION=<uuid>, else of a new session made in the dev database (a token
# counts only while its session lives).
DEV_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/$(or $(DEV_DATABASE),supa_lambda_dev)
token:
	@test -f .local/dev.env || { echo "run make dev first (it generates .local/dev.env)" >&2; exit 1; }
	@set -a; . ./.local/dev.env; set +a; SUPABASE_URL=http://127.0.0.1:$${AUTH_PORT:-54321} DATABASE_URL='$(DEV_DATABASE_URL)' ./target/debug/mint-token $(SUB) $(if $(SESSION),--session $(SESSION))
