#!/usr/bin/env bash
# Rebuilds the example functions: functions/src/NAME.rs -> functions/NAME.wasm (wasm32-wasi, release).
# Needs: apt-get install rustc libstd-rust-dev-wasm32 (Rust 1.63 at /usr/bin/rustc); the built .wasm files
# are committed so that running them needs no Rust toolchain.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
for src in "$here"/src/*.rs; do
  name=$(basename "$src" .rs)
  /usr/bin/rustc --target wasm32-wasi -C opt-level=2 -C strip=debuginfo -o "$here/$name.wasm" "$src"
done
ls -l "$here"/*.wasm
