#!/usr/bin/env bash
# The same sieve loop on a 32-bit and on a 64-bit memory (Benchmarks/memory64/sieve.wat.in), timed with
# wasmrun (release) in one run, alternating, medians of RUNS (default 5). Prints both and their ratio.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-5}
rounds=${ROUNDS:-4}
cd "$root"
swift build -c release --omit-frame-pointers --product wasmrun >/dev/null
wasmrun="$(swift build -c release --show-bin-path)/wasmrun"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed 's/ADDR/i32/g; s/MEMORY//' Benchmarks/memory64/sieve.wat.in > "$work/sieve32.wat"
sed 's/ADDR/i64/g; s/MEMORY/i64/' Benchmarks/memory64/sieve.wat.in > "$work/sieve64.wat"
python3 - "$wasmrun" "$work" "$runs" "$rounds" <<'PY'
import statistics, subprocess, sys, time
wasmrun, work, runs, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
times = {32: [], 64: []}
results = {}
for _ in range(runs):
    for bits in (32, 64):
        start = time.perf_counter()
        out = subprocess.run([wasmrun, "--invoke", "run", "%s/sieve%d.wat" % (work, bits), rounds], capture_output=True, text=True, check=True).stdout.strip()
        times[bits].append(time.perf_counter() - start)
        results[bits] = out
assert results[32] == results[64], results
m32, m64 = statistics.median(times[32]), statistics.median(times[64])
print("sieve over 16 MB x %s rounds (%s primes): 32-bit memory %.3f s, 64-bit memory %.3f s, ratio 64/32 = %.3f"
      % (rounds, results[32], m32, m64, m64 / m32))
PY
