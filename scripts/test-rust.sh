#!/usr/bin/env bash
# The Rust suites: unit and integration tests on SQLite, then the integration tests again on
# PostgreSQL (each test in a fresh database it creates and drops).
#
#   TEST_POSTGRES_URL   the PostgreSQL server to use [default: postgres://postgres@127.0.0.1:5432/postgres]
#   REQUIRE_POSTGRES=1  fail when that server cannot be reached (CI sets it), instead of skipping
set -euo pipefail
cd "$(dirname "$0")/.."

# A target folder of its own: cargo-leptos builds with other flags, and sharing one folder
# would rebuild everything each time the two alternate.
cargo_test=(cargo test --features ssr --target-dir target/rust-tests)

echo "==> Rust tests on SQLite"
"${cargo_test[@]}"

export TEST_POSTGRES_URL="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
# host and port out of postgres://user[:password]@host[:port]/db
authority="${TEST_POSTGRES_URL#*://}"
authority="${authority%%/*}"
authority="${authority##*@}"
pg_host="${authority%%:*}"
pg_port=5432
[[ "$authority" == *:* ]] && pg_port="${authority##*:}"

if timeout 3 bash -c "exec 3<>/dev/tcp/$pg_host/$pg_port" 2>/dev/null; then
    echo "==> Rust integration tests on PostgreSQL ($pg_host:$pg_port)"
    SHOP_TEST_DATABASE=postgres "${cargo_test[@]}" --tests
elif [ "${REQUIRE_POSTGRES:-0}" = 1 ]; then
    echo "FAILED: PostgreSQL at $pg_host:$pg_port cannot be reached, and REQUIRE_POSTGRES=1." >&2
    exit 1
else
    echo
    echo "!! The PostgreSQL suite did NOT run: nothing answers at $pg_host:$pg_port."
    echo "!! Set TEST_POSTGRES_URL to a server that allows CREATE DATABASE to run it."
    echo
fi
