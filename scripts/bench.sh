#!/usr/bin/env bash
# `make bench`: builds the release shop (scripts/release.sh) and measures it (scripts/bench.py):
# BENCH_SECONDS per scenario (default 10). Installs wrk from Debian when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/release.sh
bash scripts/setup.sh wrk
exec python3 scripts/bench.py
