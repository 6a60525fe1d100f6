#!/usr/bin/env bash
# Dynamic instruction and pair counts of a run: builds wasmrun with NEBULA_OP_PAIRS (a separate build folder; the
# normal build has none of the counting code) and runs it, the counts printed to stderr at exit. Superinstructions
# are chosen from these (see Sources/WasmVM/DESIGN.md). Usage: Benchmarks/op-pairs.sh FILE.wasm [ARGS...] < input
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
scratch=${NEBULA_OP_PAIRS_BUILD:-$root/.build/op-pairs}
(cd "$root" && swift build -c release --omit-frame-pointers --product wasmrun --scratch-path "$scratch" -Xswiftc -DNEBULA_OP_PAIRS >&2)
"$scratch/release/wasmrun" "$@"
