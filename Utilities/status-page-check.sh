#!/usr/bin/env bash
# The status page in a real browser: starts nebula-serve, makes a few calls, then loads / in headless Chromium
# twice — once for a screenshot, once with ?invoke=fib&input=10&calls=3 so the page's own form runs three calls —
# and checks the rendered DOM: the function table with live counts, and three rows of calls with their
# footprint. Needs: apt-get install chromium. Usage: Utilities/status-page-check.sh [SCREENSHOT.png]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
shot=${1:-/tmp/nebula-status.png}
port=18484
swift build -c release --product nebula-serve >/dev/null
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
trap 'kill $serve_pid 2>/dev/null || true; rm -rf "$work"' EXIT
"$bin/nebula-serve" --port $port --functions functions 2>"$work/serve.log" &
serve_pid=$!
for _ in $(seq 100); do curl -sf localhost:$port/healthz >/dev/null && break; sleep 0.1; done
for n in 5 10 15; do curl -s -d $n localhost:$port/functions/fib >/dev/null; done
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome)
flags=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --window-size=1280,1000 --virtual-time-budget=10000)
"$browser" "${flags[@]}" --screenshot="$shot" "http://127.0.0.1:$port/" 2>/dev/null
"$browser" "${flags[@]}" --dump-dom "http://127.0.0.1:$port/?invoke=fib&input=10&calls=3" 2>/dev/null > "$work/dom.html"
fail() { echo "status page check FAILED: $1" >&2; exit 1; }
[ -s "$shot" ] || fail "no screenshot"
# 3 calls before the page loaded, 3 by its form; the table refreshes itself every 5 s, so it shows 3 or 6.
grep -q -E '<code>fib</code></td><td>(3|6)</td>' "$work/dom.html" || fail "the function table does not show fib's calls"
rows=$(grep -o '<tr title="round trip' "$work/dom.html" | wc -l)
[ "$rows" -eq 3 ] || fail "the form ran $rows calls, not 3"
grep -q '\[0, 1, 1, 2, 3, 5, 8, 13, 21, 34\]' "$work/dom.html" || fail "the calls' output is not shown"
echo "status page OK: table rendered, the form ran 3 calls in Chromium; screenshot $shot ($(stat -c %s "$shot") bytes)"
