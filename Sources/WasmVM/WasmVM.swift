import WasmParser

/// The runtime's entry point for embedders; execution arrives with the WasmVM issue.
/// For now it re-exports the parser so that `import WasmVM` gives the whole pipeline so far.
@_exported import struct WasmParser.Module
