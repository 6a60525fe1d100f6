// swift-tools-version:6.0
// Nebula: a WebAssembly runtime in pure Swift and a function platform on top of it.
// The design card allows no package dependencies and no C targets, and there are no unsafe flags: SwiftPM
// refuses a package with them as a versioned dependency (.ci/dependent-package.sh checks that it is accepted).
import PackageDescription

let package = Package(
    name: "Nebula",
    products: [
        .library(name: "WasmParser", targets: ["WasmParser"]),
        .library(name: "WasmVM", targets: ["WasmVM"]),
        .library(name: "WASI", targets: ["WASI"]),
        .library(name: "NebulaHTTP", targets: ["NebulaHTTP"]),
        .executable(name: "wasmrun", targets: ["wasmrun"]),
        .executable(name: "nebula-serve", targets: ["nebula-serve"]),
        .executable(name: "spec-tests", targets: ["spec-tests"]),
    ],
    targets: [
        .target(name: "WasmParser"),
        .target(name: "WasmVM", dependencies: ["WasmParser"], exclude: ["DESIGN.md"]),
        .target(name: "WASI", dependencies: ["WasmVM"]),
        .target(name: "NebulaHTTP", dependencies: ["WasmVM", "WASI"]),
        .executableTarget(name: "wasmrun", dependencies: ["WasmParser", "WasmVM", "WASI", "NebulaHTTP"]),
        .executableTarget(name: "nebula-serve", dependencies: ["NebulaHTTP"]),
        .target(name: "SpecSuite", dependencies: ["WasmParser", "WasmVM"], path: "spec-tests/SpecSuite"),
        .executableTarget(name: "spec-tests", dependencies: ["SpecSuite", "WasmParser"], path: "spec-tests/Runner"),
        .executableTarget(name: "nebula-fuzz", dependencies: ["WasmVM"]),
        .executableTarget(name: "parser-bench", dependencies: ["WasmParser"], path: "Benchmarks/parser-bench"),
        .executableTarget(name: "invoke-bench", dependencies: ["NebulaHTTP"], path: "Benchmarks/invoke-bench"),
        .target(name: "WasmTestSupport", dependencies: ["WasmParser"], path: "Tests/WasmTestSupport"),
        .testTarget(name: "WasmParserTests", dependencies: ["WasmParser", "WasmTestSupport"]),
        .testTarget(name: "WasmVMTests", dependencies: ["WasmVM", "WasmTestSupport"]),
        .testTarget(name: "WASITests", dependencies: ["WASI", "WasmTestSupport"]),
        .testTarget(name: "SpecSuiteTests", dependencies: ["SpecSuite", "WasmParser", "WasmTestSupport"]),
        .testTarget(name: "NebulaHTTPTests", dependencies: ["NebulaHTTP", "WasmTestSupport", "nebula-serve"]),
        .testTarget(name: "WasmrunTests", dependencies: ["wasmrun", "WasmTestSupport"]),
    ]
)
