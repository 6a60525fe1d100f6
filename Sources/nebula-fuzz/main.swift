import Foundation
import WasmParser

/// nebula-fuzz: the executable half of Nebula's fuzzing and differential testing (the Python halves are
/// Utilities/fuzz.py and Utilities/differential.py).
///
///     nebula-fuzz check [--features SET]            crash-freedom cases on stdin (see Check.swift)
///     nebula-fuzz exports [--features SET] FILE     call every export of FILE and print the results (see Exports.swift)
///     nebula-fuzz exports [--features SET] -        the same for each path read from stdin, each report ending in `==end`
///
/// `exports --gc-stress` collects garbage at every allocation and poisons what it frees: a root the collector
/// misses becomes a trap that differs from wasmtime's result.
///
/// SET is a feature set as `wasmrun --features` takes it (`2.0`, `3.0`, or a list); 3.0 when not given.
func write(_ lines: [String]) {
    FileHandle.standardOutput.write(Data(lines.map { $0 + "\n" }.joined().utf8))
}

func usage() -> Never {
    FileHandle.standardError.write(Data("usage: nebula-fuzz check [--features SET] | nebula-fuzz exports [--features SET] [--gc-stress] FILE.wasm|-\n".utf8))
    exit(2)
}

var arguments = Array(CommandLine.arguments.dropFirst())
guard let command = arguments.first else { usage() }
arguments.removeFirst()
var features = Features.wasm3
if arguments.first == "--features" {
    guard arguments.count >= 2, let set = Features.parse(arguments[1]) else { usage() }
    features = set
    arguments.removeFirst(2)
}
let gcStress = arguments.first == "--gc-stress"
if gcStress { arguments.removeFirst() }
switch (command, arguments.count) {
case ("check", 0):
    runChecks(features: features)
case ("exports", 1) where arguments[0] == "-":
    while let path = readLine() {
        write(reportExports(path: path, features: features, gcStress: gcStress) + ["==end"])
    }
case ("exports", 1):
    write(reportExports(path: arguments[0], features: features, gcStress: gcStress))
default:
    usage()
}
