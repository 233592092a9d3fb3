import Foundation

/// Optional wall-time profile by op category, for benchmarks: set `TASKLORA_PROFILE=1` in the
/// environment (read once, at first use) or `Profiler.enabled = true` before the work. Off, each
/// instrumented op pays one well-predicted branch on a global `Bool`.
///
/// Ops are timed where the encoder calls them (its own thread), never from inside `Parallel`
/// workers, and no instrumented op calls another, so categories never nest and their sum is the
/// instrumented share of a step. `BLAS.gemm` is not instrumented by itself: the GEMMs of the
/// attention count as attention, those of the LoRA products as LoRA.
public enum Profiler {
    public enum Category: Int, CaseIterable, Sendable {
        case linear, lora, attention, layerNorm, gelu, rope, embedding, optimizer

        public var name: String {
            switch self {
            case .linear: return "linear (frozen sgemm)"
            case .lora: return "LoRA products"
            case .attention: return "attention (QKᵀ, softmax, PV + backward)"
            case .layerNorm: return "layer norm"
            case .gelu: return "GELU"
            case .rope: return "RoPE"
            case .embedding: return "embeddings"
            case .optimizer: return "clip + AdamW"
            }
        }
    }

    /// Whether ops record their time. Defaults to `TASKLORA_PROFILE` being set and not "0".
    public nonisolated(unsafe) static var enabled: Bool = {
        guard let v = ProcessInfo.processInfo.environment["TASKLORA_PROFILE"] else { return false }
        return !v.isEmpty && v != "0"
    }()

    private nonisolated(unsafe) static var seconds = [Double](repeating: 0, count: Category.allCases.count)
    private nonisolated(unsafe) static var calls = [Int](repeating: 0, count: Category.allCases.count)
    private static let lock = NSLock()

    /// Monotonic clock in seconds.
    @inline(__always)
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Start of a timed region: `let t = Profiler.begin(); defer { Profiler.end(.gelu, t) }`.
    @inline(__always)
    public static func begin() -> Double { enabled ? now() : 0 }

    @inline(__always)
    public static func end(_ category: Category, _ start: Double) {
        guard enabled else { return }
        add(category, now() - start)
    }

    public static func add(_ category: Category, _ duration: Double) {
        lock.lock()
        seconds[category.rawValue] += duration
        calls[category.rawValue] += 1
        lock.unlock()
    }

    /// Seconds and call counts per category so far.
    public static func snapshot() -> [(category: Category, seconds: Double, calls: Int)] {
        lock.lock()
        defer { lock.unlock() }
        return Category.allCases.map { ($0, seconds[$0.rawValue], calls[$0.rawValue]) }
    }

    public static func reset() {
        lock.lock()
        for i in seconds.indices { seconds[i] = 0; calls[i] = 0 }
        lock.unlock()
    }
}
