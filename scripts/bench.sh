#!/usr/bin/env bash
# `make bench`: builds the release shop (scripts/release.sh) and measures it (scripts/bench.py):
# BENCH_SECONDS per scenario (default 10). Installs wrk from Debian when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/release.sh
if ! command -v wrk >/dev/null; then
    echo "==> installing wrk (Debian)"
    if [ "$(id -u)" = 0 ]; then sudo=(); else sudo=(sudo); fi
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
fi
exec python3 scripts/bench.py
