import Foundation
import WasmParser

/// When a module's functions are translated into interpreter code. Validation covers every body at load
/// either way.
public enum TranslationMode: Sendable, Equatable {
    /// All at load, on several threads for large modules: a function that cannot be translated fails the load,
    /// and no call pays for translation later.
    case eager
    /// Each function at its first call. Start-up then costs what the program runs (`yosys -V` translates a
    /// few hundred of Yosys's 37,000 functions); a function that cannot be translated (a frame beyond the
    /// interpreter's 16-bit slot numbers) traps at its first call instead of failing the load.
    case lazy
    /// Lazy for modules with more than `lazyThreshold` bytes of code, eager for the others.
    case automatic

    /// Code bytes above which `automatic` translates lazily: below it, translating everything takes a few
    /// milliseconds on one thread.
    public static let lazyThreshold = 1 << 20

    func isLazy(for module: Module) -> Bool {
        switch self {
        case .eager: return false
        case .lazy: return true
        case .automatic: return module.codes.reduce(0) { $0 + $1.range.count } > Self.lazyThreshold
        }
    }
}

/// A module's defined functions as the interpreter runs them: translated code, frame templates, and the
/// records instances copy (`templates`, by defined-function index).
///
/// Translated all at load, or each at its first call (`TranslationMode`). Until then a function's record
/// points at a two-word stub — `enterUntranslated` with the function's index, then this object — which the
/// interpreter hands to `Store.enterUntranslated`: that translates the function (`resolve`) and completes the
/// calling store's record, so the store's later calls go straight to the code. A `call` names its callee's
/// template when the callee was translated before the caller (in eager mode: always), and goes through the
/// instance's function table otherwise.
///
/// Shared by every instance on every thread: while any function may be untranslated, translating and reading
/// the templates and translation results happen under `lock`; a translated function's template and code never
/// change again, so code reading them (a call naming the template) needs no lock.
final class TranslatedFunctions: @unchecked Sendable {
    let count: Int
    let importedCount: Int
    let isLazy: Bool
    /// The defined functions' records, complete but for their instance context: instantiating copies them.
    private let templates: UnsafeMutablePointer<FunctionInstance>
    /// Per defined function, two words: its stub (see above).
    private let stubs: UnsafeMutablePointer<UInt64>
    private var translated: [Translated?]
    /// How many functions are translated: a store's stack-map index is stale when this moved.
    private(set) var translatedCount = 0
    private let lock = NSLock()
    private let module: Module
    private let context: ValidationContext
    private let tracksReferences: Bool
    private let typeIDs: [Int]

    /// One translated function: its code and frame template (allocated, so they stay put), and what the
    /// translator found about it (its `code` array dropped once copied).
    struct Translated {
        var function: CompiledFunction
        let code: UnsafeMutablePointer<UInt64>
        let codeCount: Int
        let frameTemplate: UnsafeMutablePointer<UInt64>?
    }

    init(module: Module, context: ValidationContext, typeIDs: [Int], mode: TranslationMode) throws(CompiledModule.LoadError) {
        self.module = module
        self.context = context
        self.typeIDs = typeIDs
        count = module.codes.count
        importedCount = context.functionTypeIndices.count - count
        tracksReferences = FunctionTranslator.tracksReferences(context, module)
        isLazy = mode.isLazy(for: module)
        translated = Array(repeating: nil, count: count)
        templates = .allocate(capacity: max(count, 1))
        stubs = .allocate(capacity: max(2 * count, 1))
        let owner = UInt64(UInt(bitPattern: Unmanaged.passUnretained(self).toOpaque()))
        // Parameter and result slots per type index, counted once (Yosys: 37,000 functions of a few hundred types).
        var slotsByType: [Int: (parameters: Int, results: Int, parameterCount: Int)] = [:]
        for i in 0..<count {
            let typeIndex = Int(module.functionTypeIndices[i])
            let slots = slotsByType[typeIndex] ?? {
                let type = context.types[typeIndex].functionType!
                let slots = (FunctionTranslator.slotCount(type.parameters), FunctionTranslator.slotCount(type.results),
                             type.parameters.count)
                slotsByType[typeIndex] = slots
                return slots
            }()
            stubs[2 * i] = UInt64(InternalOp.enterUntranslated.rawValue) | UInt64(i) << 32
            stubs[2 * i + 1] = owner
            // Until translated, the frame is the parameters alone: the stub completes it.
            (templates + i).initialize(to: FunctionInstance(
                code: UnsafePointer(stubs + 2 * i), context: nil, typeID: typeIDs[typeIndex],
                paramSlots: slots.parameters, resultSlots: slots.results, initTemplate: nil, initCount: 0,
                frameSize: slots.parameters, hostIndex: -1, functionIndex: UInt32(importedCount + i), namesIndex: -1))
        }
        do {
            if isLazy {
                // What can be told without translating is told at load, as in eager mode.
                for i in 0..<count {
                    let slots = slotsByType[Int(module.functionTypeIndices[i])]!
                    _ = try FunctionTranslator.localSlotCount(parameterCount: slots.parameterCount, parameterSlots: slots.parameters,
                                                              module.codes[i], functionIndex: UInt32(importedCount + i))
                }
                return
            }
            let results = Self.translateBodies(module, context, imported: importedCount, tracksReferences: tracksReferences)
            for (i, result) in results.enumerated() { install(try result.get(), at: i, linkingCalls: false) }
            // Every callee is translated now: each call names its callee's template.
            for i in 0..<count {
                linkCalls(translated[i]!.function.directCalls, in: translated[i]!.code) { _ in true }
                translated[i]!.function.directCalls = []
            }
        } catch let error as TranslationError {
            throw .translation(error)  // (deinit frees what was made: everything is initialized by now)
        } catch let error as WasmParserError {
            throw .parse(error)
        } catch {
            throw .translation(TranslationError(functionIndex: 0, message: "\(error)"))
        }
    }

    deinit {
        for case let t? in translated {
            t.code.deallocate()
            t.frameTemplate?.deallocate()
        }
        templates.deallocate()
        stubs.deallocate()
    }

    /// Translates every body, on several threads for large modules (Yosys: 37,000 bodies, 2.2 s on one thread;
    /// see `ParallelJobs`): results in function order, ending at the first failure, so the failure reported is
    /// the same whatever the threads did.
    static func translateBodies(_ module: Module, _ context: ValidationContext, imported: Int,
                                tracksReferences: Bool, workers: Int? = nil) -> [Result<CompiledFunction, any Error>] {
        ParallelJobs.run(count: module.codes.count, workers: workers, isFailure: { if case .failure = $0 { true } else { false } }) { i in
            Result {
                try FunctionTranslator.translate(context: context, functionIndex: UInt32(imported + i), body: module.codes[i],
                                                 bytes: module.bytes, tracksReferences: tracksReferences)
            }
        }
    }

    /// Copies a translated function's code and frame template where they stay put and completes its template
    /// record. With `linkingCalls`, its calls to functions already translated (itself included) name their
    /// templates; the others go through the instance's function table.
    private func install(_ function: CompiledFunction, at i: Int, linkingCalls: Bool) {
        let code = UnsafeMutablePointer<UInt64>.allocate(capacity: max(function.code.count, 1))
        code.initialize(from: function.code, count: function.code.count)
        var frame = [UInt64](repeating: 0, count: function.localsEnd - function.paramSlots) + function.constants
        var frameTemplate: UnsafeMutablePointer<UInt64>?
        if !frame.isEmpty {
            // Padded to whole 4-word blocks: the interpreter copies 32 bytes at a time.
            while frame.count % 4 != 0 { frame.append(0) }
            frameTemplate = .allocate(capacity: frame.count)
            frameTemplate!.initialize(from: frame, count: frame.count)
        }
        templates[i].code = UnsafePointer(code)
        templates[i].initTemplate = frameTemplate.map { UnsafePointer($0) }
        templates[i].initCount = frame.count
        templates[i].frameSize = function.frameSize
        if linkingCalls { linkCalls(function.directCalls, in: code) { translated[$0] != nil || $0 == i } }
        var kept = function
        kept.code = []
        if linkingCalls { kept.directCalls = [] }
        translated[i] = Translated(function: kept, code: code, codeCount: function.code.count, frameTemplate: frameTemplate)
        translatedCount += 1
    }

    /// Writes into `code` the template of each defined function it calls directly that `isLinkable` accepts (by
    /// defined index); the other calls keep 0 and go through the instance's function table.
    private func linkCalls(_ calls: [(word: Int, callee: UInt32)], in code: UnsafeMutablePointer<UInt64>,
                           _ isLinkable: (Int) -> Bool) {
        for call in calls where Int(call.callee) >= importedCount {
            let callee = Int(call.callee) - importedCount
            if isLinkable(callee) { code[call.word] = UInt64(UInt(bitPattern: templates + callee)) }
        }
    }

    /// The template of defined function `i`, translated now if it was not yet.
    func resolve(_ i: Int) throws(TranslationError) -> UnsafePointer<FunctionInstance> {
        lock.lock()
        defer { lock.unlock() }
        if translated[i] == nil {
            let function: CompiledFunction
            do {
                function = try FunctionTranslator.translate(context: context, functionIndex: UInt32(importedCount + i),
                                                            body: module.codes[i], bytes: module.bytes,
                                                            tracksReferences: tracksReferences)
            } catch let error as TranslationError {
                throw error
            } catch {
                throw TranslationError(functionIndex: UInt32(importedCount + i), message: "\(error)")
            }
            install(function, at: i, linkingCalls: true)
        }
        return UnsafePointer(templates + i)
    }

    /// Runs `body` with the templates, which it may copy: while functions are translated lazily, no
    /// translation completes meanwhile (a record is never copied half-written).
    func withTemplates<R>(_ body: (UnsafePointer<FunctionInstance>) throws -> R) rethrows -> R {
        guard isLazy else { return try body(templates) }
        lock.lock()
        defer { lock.unlock() }
        return try body(templates)
    }

    /// Defined function `i` as translated, with its code; nil when it is not translated yet.
    func translatedFunction(_ i: Int) -> Translated? {
        guard isLazy else { return translated[i] }
        lock.lock()
        defer { lock.unlock() }
        return translated[i]
    }

    /// Exception handlers of defined function `i` (translated: it has a frame on the stack).
    func handlers(_ i: Int) -> [ExceptionHandler] {
        translatedFunction(i)?.function.handlers ?? []
    }

    /// The code range and stack map of every translated function that has one.
    func stackMaps() -> [CodeIndex.Entry] {
        lock.lock()
        defer { lock.unlock() }
        var entries: [CodeIndex.Entry] = []
        for case let t? in translated {
            guard let map = t.function.stackMap else { continue }
            entries.append(CodeIndex.Entry(start: UnsafePointer(t.code), end: UnsafePointer(t.code + t.codeCount), map: map))
        }
        return entries
    }

    /// How many functions are translated now.
    var currentTranslatedCount: Int {
        guard isLazy else { return translatedCount }
        lock.lock()
        defer { lock.unlock() }
        return translatedCount
    }
}
