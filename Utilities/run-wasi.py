#!/usr/bin/env python3
"""Runs a WASI command under wasmtime (the pip `wasmtime` package), as the reference to compare Nebula with.

    python3 Utilities/run-wasi.py [--dir HOST::GUEST]... MODULE.wasm [ARGS...]

Like `wasmrun`: stdin, stdout and stderr are this process's; the guest's exit code becomes ours. All the
WebAssembly 3.0 proposals wasmtime implements are on (exceptions, tail calls, typed references, GC, memory64,
multiple memories, relaxed SIMD in its deterministic mode)."""
import sys
import wasmtime


def main(argv):
    preopens = []
    while argv and argv[0] == "--dir":
        host, _, guest = argv[1].partition("::")
        preopens.append((host, guest or host))
        argv = argv[2:]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    path, args = argv[0], argv[1:]
    config = wasmtime.Config()
    for feature in ("wasm_exceptions", "wasm_tail_call", "wasm_function_references", "wasm_gc", "wasm_memory64",
                    "wasm_multi_memory", "wasm_relaxed_simd"):
        setattr(config, feature, True)
    config.wasm_relaxed_simd_deterministic = True
    engine = wasmtime.Engine(config)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    store = wasmtime.Store(engine)
    wasi = wasmtime.WasiConfig()
    wasi.argv = [path] + args
    wasi.inherit_stdin()
    wasi.inherit_stdout()
    wasi.inherit_stderr()
    for host, guest in preopens:
        wasi.preopen_dir(host, guest)
    store.set_wasi(wasi)
    module = wasmtime.Module.from_file(engine, path)
    instance = linker.instantiate(store, module)
    try:
        instance.exports(store)["_start"](store)
    except wasmtime.ExitTrap as e:
        return e.code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
