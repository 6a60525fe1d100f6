import Foundation

/// One wast2json script: `{"source_filename": ..., "commands": [...]}` (see the suite's README).
public struct SpecScript: Decodable, Sendable {
    public var sourceFilename: String
    public var commands: [SpecCommand]

    enum CodingKeys: String, CodingKey {
        case sourceFilename = "source_filename"
        case commands
    }
}

public struct SpecCommand: Decodable, Sendable {
    public var type: String
    public var line: Int
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

    /// True for modules given only as text (`.wat`), which need a text parser to judge.
    public var isTextModule: Bool {
        binaryFilename == nil && (moduleType == "text" || (filename?.hasSuffix(".wat") ?? false))
    }

    /// The binary module file to load: the module itself, or a text module's binary encoding.
    public var binaryFile: String? { binaryFilename ?? filename }
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
