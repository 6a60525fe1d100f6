#!/usr/bin/env bash
# Rebuilds simd_kernels.wasm (committed beside its source) with the Swift toolchain's clang, -msimd128 -O2,
# like ../shared/bench/build.sh. Needs: apt-get install wasi-libc libclang-rt-14-dev-wasm32
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rt=$(dirname "$(ls /usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a | head -1)")
resource=${rt%/lib/wasi}
# wasm_simd128.h must match the compiler (clang's own headers), not the runtime library's older clang.
headers=$(ls -d "$(dirname "$(command -v clang)")"/../lib/clang/*/include | head -1)
clang --target=wasm32-wasi --sysroot=/usr -isystem "$headers" -isystem /usr/include/wasm32-wasi -L/usr/lib/wasm32-wasi \
  -resource-dir "$resource" -O2 -msimd128 -Wl,--strip-debug "$here/simd_kernels.c" -o "$here/simd_kernels.wasm"
