import Foundation
#if canImport(Glibc)
import Glibc
#endif
import WASI
import WasmParser
import WasmVM

/// Deploying through the admin API: validate, write the files atomically, install.
extension FunctionPlatform {

    /// Function names: a safe set of characters, so a name is always one file in the directory.
    public static func isValidName(_ name: String) -> Bool {
        guard (1...64).contains(name.utf8.count), let first = name.utf8.first, first != UInt8(ascii: "."), first != UInt8(ascii: "-") else {
            return false
        }
        return name.utf8.allSatisfy { c in
            (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == UInt8(ascii: "-") || c == UInt8(ascii: "_") || c == UInt8(ascii: ".")
        }
    }

    /// Validates and installs a module (and optionally a new manifest; otherwise the current one stays), writing
    /// the files atomically. Returns the new function and whether the name is new.
    func deploy(_ name: String, module bytes: [UInt8]?, manifest: Data?) -> Result<(DeployedFunction, created: Bool), LoadError> {
        registryLock.lock()
        let existing = registry[name]
        registryLock.unlock()
        let moduleBytes: [UInt8]
        if let bytes {
            moduleBytes = bytes
        } else {
            // A new manifest alone: the module stays as it is on disk.
            switch moduleFile(name) {
            case .success(let path):
                guard let data = FileManager.default.contents(atPath: path) else {
                    return .failure(LoadError(status: 404, message: "no such function"))
                }
                moduleBytes = [UInt8](data)
            case .failure(let error): return .failure(error)
            }
        }
        let manifestData = manifest ?? FileManager.default.contents(atPath: "\(directory)/\(name).json")
        // Validate (and translate) everything before touching the directory.
        let function: DeployedFunction
        switch compile(name, bytes: moduleBytes, manifest: manifestData, fingerprint: FileFingerprint()) {
        case .success(let compiled): function = compiled
        case .failure(let error): return .failure(error)
        }
        do {
            if let manifest { try FunctionPlatform.writeAtomically(manifest, to: "\(directory)/\(name).json") }
            if let bytes {
                // Kept in the form it came in (text stays readable on disk); the other form, if any, goes.
                let (keep, drop) = Module.isText(bytes) ? ("wat", "wasm") : ("wasm", "wat")
                try FunctionPlatform.writeAtomically(Data(bytes), to: "\(directory)/\(name).\(keep)")
                try? FileManager.default.removeItem(atPath: "\(directory)/\(name).\(drop)")
            }
        } catch {
            return .failure(LoadError(status: 500, message: "cannot write the function: \(error)"))
        }
        // The files as written: the reload watcher then sees no change to load again.
        function.fingerprint = FileFingerprint(directory: directory, name: name)
        install(function)
        log("{\"timestamp\": \(jsonString(Timestamp.now())), \"event\": \"deploy\", \"function\": \(jsonString(name)), "
            + "\"bytes\": \(function.size), \"sha256\": \"\(function.sha256)\"}")
        return .success((function, existing == nil))
    }

    /// Removes a function and its files.
    func undeploy(_ name: String) -> Bool {
        registryLock.lock()
        let existed = registry.removeValue(forKey: name) != nil
        registryLock.unlock()
        var fileExisted = false
        for ext in FunctionPlatform.moduleExtensions {
            fileExisted = FileManager.default.fileExists(atPath: "\(directory)/\(name).\(ext)") || fileExisted
            try? FileManager.default.removeItem(atPath: "\(directory)/\(name).\(ext)")
        }
        try? FileManager.default.removeItem(atPath: "\(directory)/\(name).json")
        if existed || fileExisted {
            log("{\"timestamp\": \(jsonString(Timestamp.now())), \"event\": \"undeploy\", \"function\": \(jsonString(name))}")
        }
        return existed || fileExisted
    }

    /// Writes to a temporary file in the same directory, then renames it over the target: readers (and the
    /// reload watcher) see the old file or the new one, never a partial one.
    static func writeAtomically(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        try data.write(to: temporary)
        guard rename(temporary.path, path) == 0 else {
            try? FileManager.default.removeItem(at: temporary)
            throw CocoaError(.fileWriteUnknown)
        }
    }
}
