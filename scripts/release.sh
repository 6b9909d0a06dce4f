#!/usr/bin/env bash
# The release build: `cargo leptos build --release` (WASM tuned for size, wasm-opt from the
# npm package binaryen), then brotli and gzip copies of the bundle for the server to send as
# they are. Leaves target/release/shop and target/site.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh brotli
export PATH="$PWD/end2end/node_modules/.bin:$PATH"
cargo leptos build --release
for file in target/site/pkg/*.wasm target/site/pkg/*.js target/site/pkg/*.css; do
    [ -f "$file" ] || continue
    brotli -f -q 11 -o "$file.br" "$file"
    gzip -f -9 -k "$file"
done
ls -l target/site/pkg
