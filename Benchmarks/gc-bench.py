#!/usr/bin/env python3
"""The GC benchmark: Benchmarks/gc/binary-trees.wat (depth 20 by default) and Benchmarks/gc/arrays.wat, run
by Nebula (`wasmrun --invoke run`) and by wasmtime (its Python binding, with GC on) in one run, with their
results checked equal. Reports wall time, peak resident memory (both engines, from the kernel), Nebula's own
peak GC heap, and, over 100 calls in one instance, whether memory stays flat (resident memory after the first
and the last call; Nebula also reports its live GC heap).

    python3 Benchmarks/gc-bench.py [--depth 20] [--rounds 100] [--calls 100]
    (needs pip install wasmtime; builds wasmrun in release mode)

Print `lscpu`'s model beside the figures: they depend on the machine."""
import argparse, os, re, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
parser = argparse.ArgumentParser()
parser.add_argument("--depth", type=int, default=20)
parser.add_argument("--rounds", type=int, default=100)
parser.add_argument("--calls", type=int, default=100)
args = parser.parse_args()

subprocess.run(["swift", "build", "-c", "release", "--product", "wasmrun"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
bin_path = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
WASMRUN = os.path.join(bin_path, "wasmrun")

# The wasmtime side, run as its own process so that its resident memory is its own.
WASMTIME = r'''
import resource, sys, time, wasmtime
path, argument, calls = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
config = wasmtime.Config()
config.wasm_gc = True
config.wasm_function_references = True
engine = wasmtime.Engine(config)
store = wasmtime.Store(engine)
module = wasmtime.Module(engine, open(path).read())
run = wasmtime.Instance(store, module, []).exports(store)["run"]
def resident():
    return int(open("/proc/self/statm").read().split()[1]) * 4096
start = time.perf_counter()
result = run(store, argument)
first = time.perf_counter() - start
after_first = resident()
for _ in range(calls - 1):
    run(store, argument)
print(result, first, after_first, resident(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
'''

def lscpu_model():
    out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    return next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")), "unknown")

def nebula(path, argument, calls):
    cmd = ["/usr/bin/time", "-f", "maxrss %M", WASMRUN, "--stats", "--invoke", "run", path, str(argument)]
    start = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    peak_heap = int(re.search(r"GC heap: peak (\d+)", r.stderr).group(1))
    rss = int(re.search(r"maxrss (\d+)", r.stderr).group(1)) * 1024
    repeat = subprocess.run([WASMRUN, "--stats", "--repeat", str(calls), "--invoke", "run", path, str(argument)],
                            capture_output=True, text=True, check=True).stderr
    after = re.findall(r"after call (\d+): GC heap (\d+) bytes, resident (\d+) KiB", repeat)
    return r.stdout.strip(), seconds, rss, peak_heap, after

def wasmtime_side(path, argument, calls):
    start = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", WASMTIME, path, str(argument), str(calls)], capture_output=True, text=True, check=True)
    result, first, after_first, after_last, maxrss = r.stdout.split()
    return result, float(first), int(maxrss), int(after_first), int(after_last), time.perf_counter() - start

def mib(n):
    return "%.1f MiB" % (n / 1048576)

print("GC benchmark, %s (lscpu model: %s)" % (time.strftime("%Y-%m-%d"), lscpu_model()))
print("| program | engine | time of one call | peak resident | peak GC heap | resident after call 1 / %d |" % args.calls)
print("| --- | --- | --- | --- | --- | --- |")
failed = False
for name, argument, calls in [("binary-trees", args.depth, max(2, args.calls // 10)), ("arrays", args.rounds, args.calls)]:
    path = os.path.join(ROOT, "Benchmarks", "gc", name + ".wat")
    ours, seconds, rss, heap, after = nebula(path, argument, calls)
    theirs, first, wt_rss, wt_first, wt_last, _ = wasmtime_side(path, argument, calls)
    if ours != theirs:
        print("%s: results differ: nebula %s, wasmtime %s" % (name, ours, theirs))
        failed = True
    flat = "%s / %s (GC heap %s / %s live)" % (mib(int(after[0][2]) * 1024), mib(int(after[-1][2]) * 1024),
                                              mib(int(after[0][1])), mib(int(after[-1][1])))
    label = "%s(%d)" % (name, argument)
    print("| %s | nebula | %.2f s | %s | %s | %s over %d calls |" % (label, seconds, mib(rss), mib(heap), flat, calls))
    print("| %s | wasmtime | %.2f s | %s | (not exposed) | %s / %s over %d calls |" % (label, first, mib(wt_rss), mib(wt_first), mib(wt_last), calls))
sys.exit(1 if failed else 0)
