#!/usr/bin/env python3
"""Fits the power model's watts per busy core to RAPL on a machine where the counters are readable.

    python3 Utilities/calibrate-power-model.py [MODULE.wasm] [--runs N]

Measures the idle package power first (5 s with nothing running), then runs a CPU-bound WASI command (default:
functions/fibonacci-recursive.wasm with input 38) N times under `wasmrun --stats`, reading the RAPL package counters around each run and taking the run's CPU time from
wasmrun's `cpu time:` line. Watts per busy core = (package joules - idle watts x wall seconds) / CPU seconds.
Prints the figure and the `--power-model` value to use where RAPL is not readable. Exits 1 without RAPL."""
import argparse, glob, os, re, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

def packages():
    return sorted(p for p in glob.glob("/sys/class/powercap/intel-rapl:*") if p.count(":") == 1)

def read(domains):
    values = []
    for d in domains:
        with open(os.path.join(d, "energy_uj")) as f:
            values.append(int(f.read()))
    return values

def joules(domains, start, end):
    total = 0
    for d, a, b in zip(domains, start, end):
        with open(os.path.join(d, "max_energy_range_uj")) as f:
            wrap = int(f.read())
        total += b - a if b >= a else wrap - a + b
    return total / 1e6

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("module", nargs="?", default=os.path.join(ROOT, "functions", "fibonacci-recursive.wasm"))
    parser.add_argument("--input", default="38", help="stdin for the module (default 38: a few seconds of fib)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    domains = packages()
    try:
        read(domains)
    except OSError:
        domains = []
    if not domains:
        print("RAPL is not readable here (/sys/class/powercap/intel-rapl:N/energy_uj): nothing to calibrate against.")
        return 1
    subprocess.run(["swift", "build", "-c", "release", "--product", "wasmrun"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    wasmrun = os.path.join(subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT,
                                          capture_output=True, text=True).stdout.strip(), "wasmrun")
    start, t0 = read(domains), time.time()
    time.sleep(5)
    idle_watts = joules(domains, start, read(domains)) / (time.time() - t0)
    print("idle package power: %.2f W" % idle_watts)
    rates = []
    for i in range(args.runs):
        start, t0 = read(domains), time.time()
        r = subprocess.run([wasmrun, "--stats", "--power-model", "off", args.module], input=args.input.encode(), capture_output=True)
        wall = time.time() - t0
        spent = joules(domains, start, read(domains))
        cpu = re.search(r"cpu time: ([0-9.]+) ms", r.stderr.decode())
        if r.returncode != 0 or not cpu:
            print("run failed: %s" % r.stderr.decode()[-300:])
            return 1
        cpu_seconds = float(cpu.group(1)) / 1000
        rate = (spent - idle_watts * wall) / cpu_seconds
        rates.append(rate)
        print("run %d: %.3f J over %.2f s wall, %.2f s CPU -> %.2f W per busy core" % (i + 1, spent, wall, cpu_seconds, rate))
    rates.sort()
    median = rates[len(rates) // 2]
    print("median: %.2f W per busy core; use --power-model cpu=%.2f (memory stays at its default unless measured otherwise)" % (median, median))
    return 0

if __name__ == "__main__":
    sys.exit(main())
