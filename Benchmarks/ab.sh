#!/usr/bin/env bash
# A/B timing of two wasmrun builds on the benchmark programs of ../shared/bench, in one run, interleaved.
#   Benchmarks/ab.sh A/wasmrun B/wasmrun [program...]      RUNS=5 (default) runs of each per program
# Give both binaries paths of the same length: the path is in argv, and argv's length moves the initial
# stack, which the interpreter's spilled state shares cache lines with (see Sources/WasmVM/DESIGN.md). Each
# run also pads the environment by a different amount, so placement luck averages out over the runs.
# Prints a markdown table: median seconds of A and B and B/A (below 1.00: B is faster), and the geomean.
set -uo pipefail
[ $# -ge 2 ] || { sed -n '2,7p' "$0"; exit 2; }
a=$1 b=$2; shift 2
[ ${#a} -eq ${#b} ] || echo "warning: the two paths differ in length (${#a} vs ${#b}); results may mix in stack placement" >&2
bench=${NEBULA_BENCH:-$(cd "$(dirname "$0")/../.." && pwd)/shared/bench}
runs=${RUNS:-5}
progs=("$@")
[ ${#progs[@]} -eq 0 ] && progs=($(cd "$bench/wasm" && ls *.wasm | sed 's/\.wasm$//' | grep -v -E '^(hello|io_copy)$'))
median() { sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo "| program | A s | B s | B / A |"
echo "|---|---|---|---|"
logsum=0 n=0
for p in "${progs[@]}"; do
  wasm="$bench/wasm/$p.wasm"
  [ "$("$a" "$wasm" 2>/dev/null)" == "$("$b" "$wasm" 2>/dev/null)" ] || { echo "| $p | outputs differ | | |"; continue; }
  : > "$tmp/a"; : > "$tmp/b"
  for i in $(seq "$runs"); do
    pad=$(head -c $((i * 97)) /dev/zero | tr '\0' x)
    for side in a b; do
      bin=$a; [ $side = b ] && bin=$b
      env NEBULA_AB_PAD="$pad" /usr/bin/time -f '%e' -o "$tmp/t" "$bin" "$wasm" >/dev/null 2>&1
      cat "$tmp/t" >> "$tmp/$side"
    done
  done
  ma=$(median < "$tmp/a") mb=$(median < "$tmp/b")
  r=$(awk -v a="$ma" -v b="$mb" 'BEGIN {printf "%.3f", b / a}')
  echo "| $p | $ma | $mb | $r |"
  logsum=$(awk -v s="$logsum" -v r="$r" 'BEGIN {print s + log(r)}'); n=$((n + 1))
done
[ $n -gt 0 ] && echo "| geomean | | | $(awk -v s="$logsum" -v n="$n" 'BEGIN {printf "%.3f", exp(s / n)}') |"
