#!/usr/bin/env bash
# Rebuilds the example functions: functions/NAME/main.rs or main.c -> functions/NAME.wasm (fibonacci -> fib.wasm).
# Needs Debian's toolchains: apt-get install rustc libstd-rust-dev-wasm32 wasi-libc libclang-rt-14-dev-wasm32
# (Rust 1.63 at /usr/bin/rustc; C with the Swift toolchain's clang). The built .wasm files are committed, so
# running, serving and testing them needs neither toolchain. Functions written in the text format (json-check.wat)
# need no build: wasmrun and nebula-serve read NAME.wat as they read NAME.wasm.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rt=$(dirname "$(ls /usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a | head -1)")
resource=${rt%/lib/wasi}
for dir in "$here"/*/; do
  name=$(basename "$dir")
  out="$here/$name.wasm"
  [ "$name" = fibonacci ] && out="$here/fib.wasm"
  if [ -f "$dir/main.rs" ]; then
    /usr/bin/rustc --target wasm32-wasi -O -C strip=debuginfo -o "$out" "$dir/main.rs"
  elif [ -f "$dir/main.c" ]; then
    clang --target=wasm32-wasi --sysroot=/usr -isystem /usr/include/wasm32-wasi -L/usr/lib/wasm32-wasi \
      -resource-dir "$resource" -O2 -Wl,--strip-debug "$dir/main.c" -o "$out" -lm
  fi
done
ls -l "$here"/*.wasm
