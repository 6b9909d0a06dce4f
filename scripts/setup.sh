#!/usr/bin/env bash
# Installs what building, serving and testing the shop needs, skipping whatever is already
# there. Safe to run again and again; quick when everything is installed.
#   scripts/setup.sh [TOOL...]   also Debian's packages of these commands (brotli, wrk), if missing
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.10   # 0.3.11 and unlocked installs need a newer Rust than ours
WASM_BINDGEN_VERSION=0.2.130  # must equal the wasm-bindgen crate pinned in Cargo.toml

say() { printf '\033[1;32m==>\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=
apt_install() {
    if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

export PATH="$HOME/.cargo/bin:$PATH"
command -v cargo >/dev/null || { echo "Rust is missing: install it with rustup first." >&2; exit 1; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
fi

if ! cargo leptos --version 2>/dev/null | grep -qF "$CARGO_LEPTOS_VERSION"; then
    say "installing cargo-leptos $CARGO_LEPTOS_VERSION (compiles from source: ~25 minutes, once per machine)"
    cargo install "cargo-leptos@$CARGO_LEPTOS_VERSION" --locked
fi

if ! wasm-bindgen --version 2>/dev/null | grep -qF "$WASM_BINDGEN_VERSION"; then
    say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (~5 minutes, once per machine)"
    # Not --locked: its lockfile names a crate version that is no longer available.
    cargo install "wasm-bindgen-cli@$WASM_BINDGEN_VERSION" --force
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    say "installing Node.js and npm (Debian)"
    apt_install nodejs npm
fi

if [ ! -x /usr/bin/chromium ]; then
    say "installing Chromium (Debian) for the end-to-end tests"
    apt_install chromium
fi

# Node packages for the end-to-end tests; browsers come from Debian, never downloaded.
if [ ! -f end2end/node_modules/.package-lock.json ] ||
    [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
    say "installing the end-to-end test packages"
    (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi

# Extra commands some targets need (make release: brotli; make bench: wrk), from Debian.
for tool in "$@"; do
    if ! command -v "$tool" >/dev/null; then
        say "installing $tool (Debian)"
        apt_install "$tool"
    fi
done
