# The two commands that matter:
#   make run    install what is missing, build, and serve the shop on http://127.0.0.1:3000 (SQLite)
#   make test   install what is missing, then run every test: Rust, Playwright in Chromium, the benchmark's own
SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)
# The name cargo-leptos gives the JS/WASM bundle; set for plain cargo builds too, so a server
# binary built outside cargo-leptos still points the browser at the right files.
export LEPTOS_OUTPUT_NAME := shop

.PHONY: run dev setup build release test test-rust test-e2e test-bench bench clean

run: setup
	cargo leptos serve

# Rebuilds and reloads the browser on every change.
dev: setup
	cargo leptos watch

setup:
	@bash scripts/setup.sh

build: setup
	cargo leptos build

# The release build, WASM shrunk by wasm-opt, the bundle precompressed (brotli, gzip).
release:
	@bash scripts/release.sh

test: setup test-rust test-e2e test-bench

# On SQLite, then on PostgreSQL when one answers at TEST_POSTGRES_URL (REQUIRE_POSTGRES=1: must).
test-rust:
	@bash scripts/test-rust.sh

test-e2e:
	cargo leptos build
	cd end2end && npx playwright test

# The benchmark's own test: a one-second run of each scenario against the debug build,
# its summary and its database checked (no timing is; the figures come from make bench).
test-bench:
	@bash scripts/setup.sh wrk brotli
	cargo leptos build
	python3 scripts/check_bench.py

# Release build, fresh database, load from wrk: prints a table, writes target/bench/summary.json.
bench:
	@bash scripts/bench.sh

clean:
	cargo clean
	rm -rf end2end/node_modules end2end/test-results end2end/playwright-report
