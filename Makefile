.PHONY: dev test lint fmt

# Run the API locally on a real stack (PostgreSQL, PostgREST, S3) with cargo lambda watch.
# RESET=1 make dev drops and re-seeds the dev database.
dev:
	bash scripts/dev.sh

# Every test: pgTAP, template linters, Rust unit and integration tests.
test:
	bash scripts/test.sh

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all
