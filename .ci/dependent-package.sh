#!/usr/bin/env bash
# Nebula as a versioned dependency, the way the README's "Embedding the engine" section promises: a package
# outside the repository depends on a tagged clone (`.package(url: "file://...", from: "1.0.0")`), builds and
# runs a program that loads a module, instantiates it with a host function and calls an export. SwiftPM
# refuses packages with unsafe build flags as versioned dependencies, so this fails if one comes back.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone -q "$repo" "$work/nebula"
git -C "$work/nebula" tag 1.0.0
mkdir -p "$work/embedder/Sources/embedder"
cat > "$work/embedder/Package.swift" <<SWIFT
// swift-tools-version:6.0
import PackageDescription
let package = Package(
    name: "embedder",
    dependencies: [.package(url: "file://$work/nebula", from: "1.0.0")],
    targets: [.executableTarget(name: "embedder", dependencies: [
        .product(name: "WasmVM", package: "nebula"), .product(name: "WasmParser", package: "nebula")])]
)
SWIFT
cat > "$work/embedder/Sources/embedder/main.swift" <<'SWIFT'
import WasmParser
import WasmVM

let text = """
    (module
      (import "host" "scale" (func $scale (param i32) (result i32)))
      (func (export "answer") (param i32) (result i32) (call $scale (i32.add (local.get 0) (i32.const 1)))))
    """
let compiled = try CompiledModule(bytes: Array(text.utf8))
let store = Store()
var imports = Imports()
let scale = store.defineFunction(type: FunctionType(parameters: [.i32], results: [.i32])) { (_: Caller, args: [Value]) throws(Trap) -> [Value] in
    guard case .i32(let x) = args[0] else { return [] }
    return [.i32(x * 2)]
}
imports.define(module: "host", name: "scale", .function(scale))
let instance = try compiled.instantiate(store: store, imports: imports)
print(try instance.function("answer")!.invoke([.i32(20)]))
SWIFT
cd "$work/embedder"
swift build 2>&1 | tail -3
out=$(swift run -q embedder)
echo "embedder printed: $out"
[ "$out" = "[i32:42]" ] || { echo "dependent package: expected [i32:42]" >&2; exit 1; }
