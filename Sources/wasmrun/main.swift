import Foundation
import WasmParser

/// `wasmrun`: the command-line face of Nebula's engine.
let version = "wasmrun (Nebula) 0.1.0"
let usage = """
    usage: wasmrun validate FILE.wasm
           wasmrun --help | --version

    Commands:
      validate FILE   decode and validate a module; prints `valid` (exit 0) or the error (exit 1)
    """

func writeError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

func readModuleFile(_ path: String) -> [UInt8]? {
    guard let data = FileManager.default.contents(atPath: path) else {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            writeError("wasmrun: cannot read \(path): \(isDirectory.boolValue ? "is a directory" : "permission denied")")
        } else {
            writeError("wasmrun: cannot read \(path): no such file")
        }
        return nil
    }
    return [UInt8](data)
}

func validateCommand(_ arguments: [String]) -> Int32 {
    guard arguments.count == 1 else {
        writeError("wasmrun: validate takes exactly one FILE\n\(usage)")
        return 2
    }
    let path = arguments[0]
    guard let bytes = readModuleFile(path) else { return 1 }
    do throws(WasmParserError) {
        _ = try Module.load(bytes)
        print("valid")
        return 0
    } catch {
        writeError("\(path): \(error)")
        return 1
    }
}

let arguments = Array(CommandLine.arguments.dropFirst())
let status: Int32
switch arguments.first {
case "validate": status = validateCommand(Array(arguments.dropFirst()))
case "--help", "-h", "help": print(usage); status = 0
case "--version": print(version); status = 0
case nil: writeError(usage); status = 2
case let other?: writeError("wasmrun: unknown command \(other)\n\(usage)"); status = 2
}
exit(status)
