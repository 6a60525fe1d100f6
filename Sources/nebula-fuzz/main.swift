import Foundation

/// nebula-fuzz: the executable half of Nebula's fuzzing and differential testing (the Python halves are
/// Utilities/fuzz.py and Utilities/differential.py).
///
///     nebula-fuzz check              crash-freedom cases on stdin (see Check.swift)
///     nebula-fuzz exports FILE       call every export of FILE and print the results (see Exports.swift)
///     nebula-fuzz exports -          the same for each path read from stdin, each report ending in `==end`
func write(_ lines: [String]) {
    FileHandle.standardOutput.write(Data(lines.map { $0 + "\n" }.joined().utf8))
}

let arguments = CommandLine.arguments
switch (arguments.count, arguments.count > 1 ? arguments[1] : "") {
case (2, "check"):
    runChecks()
case (3, "exports") where arguments[2] == "-":
    while let path = readLine() {
        write(reportExports(path: path) + ["==end"])
    }
case (3, "exports"):
    write(reportExports(path: arguments[2]))
default:
    FileHandle.standardError.write(Data("usage: nebula-fuzz check | nebula-fuzz exports FILE.wasm | nebula-fuzz exports -\n".utf8))
    exit(2)
}
