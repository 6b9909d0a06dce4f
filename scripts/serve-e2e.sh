#!/usr/bin/env bash
# Starts the built shop for the end-to-end tests: port 3100, a fresh SQLite database.
set -euo pipefail
cd "$(dirname "$0")/.."
data=target/e2e
rm -rf "$data" && mkdir -p "$data"
export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-target/site}"
export LEPTOS_SITE_ADDR="${E2E_ADDR:-127.0.0.1:3100}"
export DATABASE_URL="sqlite://$data/shop.db"
export RUST_LOG="${RUST_LOG:-warn}"
# Every browser of the suite signs in from 127.0.0.1: one client, as far as the per-client
# limit on sign-in attempts knows. The per-account limit stays at its default.
export AUTH_RATE_PER_CLIENT="${AUTH_RATE_PER_CLIENT:-100000}"
exec "${SHOP_BIN:-target/debug/shop}"
