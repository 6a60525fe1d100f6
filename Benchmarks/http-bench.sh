#!/usr/bin/env bash
# nebula-serve under load, against nginx serving a static file on the same box in the same run.
# Needs: apt-get install wrk nginx. Usage: Benchmarks/http-bench.sh [SECONDS] [CONNECTIONS] [EVENT_LOOPS]
# NEBULA_BIN_DIR=DIR uses DIR/nebula-serve instead of building this checkout's.
# Runs keep-alive connections first, then `Connection: close` (a new TCP connection per request) for both.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=${1:-30}
connections=${2:-64}
loops=${3:-0}
# NEBULA_BIN_DIR=... runs another build's nebula-serve (an older commit's, for a before/after in one run).
if [ -z "${NEBULA_BIN_DIR:-}" ]; then
  swift build -c release --omit-frame-pointers --product nebula-serve >/dev/null
  bin=$(swift build -c release --show-bin-path)
else
  bin=$NEBULA_BIN_DIR
fi
work=$(mktemp -d)
chmod 755 "$work"
trap 'kill $serve_pid $nginx_pid 2>/dev/null || true; rm -rf "$work"' EXIT

loop_flag=()
[ "$loops" != 0 ] && loop_flag=(--event-loops "$loops")
"$bin/nebula-serve" --port 18181 --functions "$root/functions" "${loop_flag[@]}" 2>"$work/serve.log" &
serve_pid=$!
printf '[0, 1, 1, 2, 3, 5, 8, 13, 21, 34]\n' > "$work/fib.txt"
cat > "$work/nginx.conf" <<CONF
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/body;
  proxy_temp_path $work/proxy;
  fastcgi_temp_path $work/fastcgi;
  uwsgi_temp_path $work/uwsgi;
  scgi_temp_path $work/scgi;
  server { listen 127.0.0.1:18182; root $work; }
}
CONF
nginx -c "$work/nginx.conf" -g 'daemon off;' &
nginx_pid=$!
for _ in $(seq 50); do curl -sf localhost:18181/healthz >/dev/null && curl -sf localhost:18182/fib.txt >/dev/null && break; sleep 0.1; done
echo "POST body 10 to fib: $(curl -s -d 10 localhost:18181/functions/fib)"
cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "10"
LUA
echo "== nebula-serve: POST /functions/fib (fresh instance per request), ${connections} connections, ${seconds}s"
wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$work/post.lua" http://127.0.0.1:18181/functions/fib | tee "$work/nebula.txt"
echo "== nginx: GET /fib.txt (static), same load"
wrk -t2 -c"$connections" -d"${seconds}s" --latency http://127.0.0.1:18182/fib.txt | tee "$work/nginx.txt"
ours=$(awk '/Requests\/sec/ {print $2}' "$work/nebula.txt")
theirs=$(awk '/Requests\/sec/ {print $2}' "$work/nginx.txt")
echo "nebula-serve: $ours req/s; nginx: $theirs req/s; ratio $(awk -v a="$ours" -v b="$theirs" 'BEGIN {printf "%.1f%%", 100 * a / b}')"
echo "== Connection: close (new connection per request), ${connections} connections, ${seconds}s"
wrk -t2 -c"$connections" -d"${seconds}s" --latency -H "Connection: close" -s "$work/post.lua" http://127.0.0.1:18181/functions/fib | tee "$work/nebula-close.txt"
wrk -t2 -c"$connections" -d"${seconds}s" --latency -H "Connection: close" http://127.0.0.1:18182/fib.txt | tee "$work/nginx-close.txt"
ours=$(awk '/Requests\/sec/ {print $2}' "$work/nebula-close.txt")
theirs=$(awk '/Requests\/sec/ {print $2}' "$work/nginx-close.txt")
echo "Connection: close: nebula-serve: $ours req/s; nginx: $theirs req/s; ratio $(awk -v a="$ours" -v b="$theirs" 'BEGIN {printf "%.1f%%", 100 * a / b}')"
