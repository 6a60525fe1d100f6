import Foundation

/// One script in the JSON form (wast2json, `wasm-tools json-from-wast`): `{"source_filename": ..., "commands":
/// [...]}` (see the suite's README). `.wast` scripts are read into the same commands by `WastScript`.
public struct SpecScript: Decodable, Sendable {
    public var sourceFilename: String
    public var commands: [SpecCommand]

    enum CodingKeys: String, CodingKey {
        case sourceFilename = "source_filename"
        case commands
    }
}

public struct SpecCommand: Decodable, Sendable {
    /// A module given inline by a `.wast` script.
    public enum ModuleSource: Sendable {
        case binary([UInt8])
        /// The module's text.
        case text([UInt8])
        /// `(module quote ...)`: text that is meant to be judged by the parser.
        case quote([UInt8])
    }

    public var type: String
    public var line: Int
    /// The module of a `.wast` command (JSON commands name a file instead).
    public var source: ModuleSource?
    public var filename: String?
    public var name: String?
    public var text: String?
    public var moduleType: String?
    public var registerAs: String?
    public var action: SpecAction?
    public var expected: [SpecValue]?
    /// `module_instance`: the instance's name and the `module_definition` it instantiates.
    public var instance: String?
    public var module: String?
    /// A text module's binary encoding, when the converter provides one (wasm-tools does for text modules
    /// that are valid text but meant to fail validation or instantiation).
    public var binaryFilename: String?

    enum CodingKeys: String, CodingKey {
        case type, line, filename, name, text, action, expected, instance, module
        case moduleType = "module_type"
        case registerAs = "as"
        case binaryFilename = "binary_filename"
    }

    init(type: String, line: Int) {
        self.type = type
        self.line = line
    }

    /// The module the command is about: inline, or its file in `directory` (a text module's binary
    /// encoding when the converter gave one, else the `.wat` itself).
    func moduleSource(in directory: String) -> Result<ModuleSource, SpecRunner.ReadError> {
        if let source { return .success(source) }
        guard let file = binaryFilename ?? filename else { return .failure(.init(message: "no module in the command")) }
        guard let data = FileManager.default.contents(atPath: "\(directory)/\(file)") else {
            return .failure(.init(message: "cannot read \(file)"))
        }
        let isText = binaryFilename == nil && (moduleType == "text" || file.hasSuffix(".wat"))
        return .success(isText ? .text([UInt8](data)) : .binary([UInt8](data)))
    }
}

public struct SpecAction: Decodable, Sendable {
    public var type: String
    public var module: String?
    public var field: String
    public var args: [SpecValue]?
}

/// A value in an action or expectation: `value` is a decimal bit pattern, a NaN class, `null`,
/// or (for v128) a list of lane strings.
public struct SpecValue: Decodable, Sendable {
    public var type: String
    public var laneType: String?
    public var value: [String]
    /// `either`: the result may be any of these (relaxed SIMD).
    public var values: [SpecValue]?

    enum CodingKeys: String, CodingKey {
        case type, value, values
        case laneType = "lane_type"
    }

    public init(type: String, laneType: String? = nil, value: [String]) {
        self.type = type
        self.laneType = laneType
        self.value = value
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decode(String.self, forKey: .type)
        laneType = try container.decodeIfPresent(String.self, forKey: .laneType)
        values = try container.decodeIfPresent([SpecValue].self, forKey: .values)
        if let single = try? container.decode(String.self, forKey: .value) {
            value = [single]
        } else {
            value = try container.decodeIfPresent([String].self, forKey: .value) ?? []
        }
    }
}
