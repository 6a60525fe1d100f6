#!/usr/bin/env bash
# The SIMD benchmark (Benchmarks/simd/simd_kernels.wasm, built with -msimd128) under Nebula and the peers
# that run SIMD, in one run: WasmKit 0.4.2 (../shared/bench/peers/build-wasmkit.sh) and wasmtime
# (pip install wasmtime). Checks every output against wasmtime's; prints median seconds of 3 runs and ratios.
# Usage: Benchmarks/simd-bench.sh [ROUNDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bench=${NEBULA_BENCH:-$root/../shared/bench}
module=Benchmarks/simd/simd_kernels.wasm
swift build -c release --omit-frame-pointers --product wasmrun >/dev/null
declare -A engine
order=(nebula)
engine[nebula]="$(swift build -c release --show-bin-path)/wasmrun"
wk=${NEBULA_BENCH_CACHE:-$HOME/.cache/nebula-bench}/wasmkit-0.4.2/.build/release/wasmkit-cli
[ -x "$wk" ] && { engine[wasmkit-0.4.2]="$wk run"; order+=(wasmkit-0.4.2); }
python3 -c 'import wasmtime' 2>/dev/null && { engine[wasmtime]="python3 $bench/peers/wasmtime-run.py"; order+=(wasmtime); }
args=("$@")
reference=""
[ -n "${engine[wasmtime]:-}" ] && reference=$(${engine[wasmtime]} $module "${args[@]}")
printf '| engine | median s | / nebula | output |\n|---|---|---|---|\n'
base=""
for e in "${order[@]}"; do
  out=$(${engine[$e]} $module "${args[@]}" 2>&1 || true)
  check="same as wasmtime"; [ -n "$reference" ] && [ "$out" != "$reference" ] && check="WRONG: $out"
  times=()
  for r in 1 2 3; do
    s=$(date +%s.%N); ${engine[$e]} $module "${args[@]}" >/dev/null 2>&1 || true; t=$(date +%s.%N)
    times+=($(awk -v a=$s -v b=$t 'BEGIN {printf "%.3f", b - a}'))
  done
  med=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
  [ -z "$base" ] && base=$med
  printf '| %s | %s | %s | %s |\n' "$e" "$med" "$(awk -v a=$med -v b=$base 'BEGIN {printf "%.2f", a / b}')" "$check"
done
