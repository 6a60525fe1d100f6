#!/usr/bin/env bash
# The status pages in a real browser: starts nebula-serve, makes 20 calls, then loads in headless Chromium
#  - /?invoke=fib&input=10&calls=7 (what the invoke form submits): the per-call chart has 7 bars, the footprint
#    charts are there, the calls table has 7 rows with fib's output, and the functions table has sparklines;
#  - /functions/fib (Chromium asks for HTML): the function's own charts over the last ten minutes;
#  - /?compare=1&a=fib&ainput=10&b=fib&binput=25&calls=10: both distributions side by side;
# and takes screenshots at 1280 px and 375 px wide (light) and at 375 px in the dark scheme, checking their
# sizes. Needs: apt-get install chromium. Usage: Utilities/status-page-check.sh [SCREENSHOT-DIRECTORY]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
shots=${1:-/tmp/nebula-status}
mkdir -p "$shots"
port=18484
swift build -c release --omit-frame-pointers --product nebula-serve >/dev/null
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
trap 'kill $serve_pid 2>/dev/null || true; rm -rf "$work"' EXIT
"$bin/nebula-serve" --port $port --functions functions 2>"$work/serve.log" &
serve_pid=$!
for _ in $(seq 100); do curl -sf localhost:$port/healthz >/dev/null && break; sleep 0.1; done
for n in $(seq 20); do curl -s -d $((n % 12)) localhost:$port/functions/fib >/dev/null; done
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome)
flags=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --virtual-time-budget=10000)
base="http://127.0.0.1:$port"
invoke="$base/?invoke=fib&input=10&calls=7"
compare="$base/?compare=1&a=fib&ainput=10&b=fib&binput=25&calls=10"
fail() { echo "status page check FAILED: $1" >&2; exit 1; }
count() { grep -o "$1" "$2" | wc -l; }

"$browser" "${flags[@]}" --window-size=1280,1000 --dump-dom "$invoke" 2>/dev/null > "$work/invoke.html"
per_call=$(sed -n 's/.*<figure id="per-call">\(<svg[^>]*>\).*/\1/p' "$work/invoke.html")
grep -q 'data-bars="7"' <<<"$per_call" || fail "the per-call chart does not have 7 bars: $per_call"
[ "$(count '<tr class="call">' "$work/invoke.html")" -eq 7 ] || fail "the calls table does not have 7 rows"
[ "$(count '\[0, 1, 1, 2, 3, 5, 8, 13, 21, 34\]' "$work/invoke.html")" -eq 7 ] || fail "the calls' output is not shown"
for figure in Instructions "Peak memory" "CPU time"; do
  grep -q "<figcaption>$figure</figcaption><svg" "$work/invoke.html" || fail "no $figure chart"
done
grep -q -E 'id="energy-unmeasured"|Energy \(RAPL\)' "$work/invoke.html" || fail "energy is neither charted nor marked unmeasured"
# 20 calls before, 7 by the page.
grep -q -E '<code>fib</code></a></td><td>27</td>' "$work/invoke.html" || fail "the function table does not count fib's 27 calls"
grep -q '<svg class="sparkline"' "$work/invoke.html" || fail "no sparkline in the functions table"

"$browser" "${flags[@]}" --window-size=1280,1000 --dump-dom "$base/functions/fib" 2>/dev/null > "$work/function.html"
for id in latency rate errors cpu instructions; do
  grep -q "<figure id=\"$id\">" "$work/function.html" || fail "the function page has no $id chart"
done
grep -q 'data-points="60"' "$work/function.html" || fail "the latency chart does not span 60 intervals"

"$browser" "${flags[@]}" --window-size=1280,1000 --dump-dom "$compare" 2>/dev/null > "$work/compare.html"
[ "$(count 'data-samples="2"' "$work/compare.html")" -eq 2 ] || fail "the comparison does not show both distributions"
grep -q 'fib(“10”) against fib(“25”)' "$work/compare.html" || fail "the comparison is not labelled"

# Screenshots: PNG width as asked, and big enough to hold the charts (a blank page is a few KB).
png_width() { python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); print(struct.unpack(">I", d[16:20])[0])' "$1"; }
shoot() {  # NAME WIDTH URL [extra flags]
  local file="$shots/$1.png"; rm -f "$file"
  "$browser" "${flags[@]}" --window-size="$2",2400 "${@:4}" --screenshot="$file" "$3" 2>/dev/null
  [ -s "$file" ] || fail "no screenshot $1"
  [ "$(png_width "$file")" -eq "$2" ] || fail "screenshot $1 is not $2 px wide"
  [ "$(stat -c %s "$file")" -gt 40000 ] || fail "screenshot $1 is nearly empty ($(stat -c %s "$file") bytes)"
  echo "  $file: $2 px wide, $(stat -c %s "$file") bytes"
}
shoot invoke-1280 1280 "$invoke"
shoot invoke-375 375 "$invoke"
shoot function-375 375 "$base/functions/fib"
shoot compare-dark-375 375 "$compare" --blink-settings=preferredColorScheme=0
cmp -s "$shots/invoke-375.png" "$shots/compare-dark-375.png" && fail "the dark screenshot is the light one"
echo "status pages OK: per-call chart with 7 bars, footprint charts, sparklines, the function page's charts, the comparison; screenshots in $shots"
