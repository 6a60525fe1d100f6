import WasmVM
