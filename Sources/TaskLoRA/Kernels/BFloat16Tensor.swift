import Foundation

/// A dense row-major tensor of bfloat16 bit patterns with owned storage: a frozen matrix kept at
/// the precision it was stored in (a `--storage bfloat16` checkpoint, the jina-embeddings-v3
/// release), so that bf16 compute never holds a float32 copy of it. Read-only after loading.
public final class BFloat16Tensor: @unchecked Sendable {
    public let shape: [Int]
    public let count: Int
    /// (count) bf16 bit patterns, row-major.
    public let bits: UnsafeMutablePointer<UInt16>

    /// A zero-filled tensor of `shape`.
    public init(zeros shape: [Int]) {
        self.shape = shape
        count = shape.reduce(1, *)
        bits = .allocate(capacity: max(count, 1))
        bits.initialize(repeating: 0, count: max(count, 1))
    }

    deinit { bits.deallocate() }

    /// The values widened to float32 (exact).
    public func widened() -> Tensor {
        let t = Tensor(zeros: shape)
        BFloat16Tensor.widen(bits, count: count, into: t.data)
        return t
    }

    /// dst (count) = float32(src (count)), exact: the bf16 pattern is a float32's upper half.
    @inline(__always)
    public static func widen(_ src: UnsafePointer<UInt16>, count n: Int, into dst: UnsafeMutablePointer<Float>) {
        var i = 0
        while i + 16 <= n {
            let v = UnsafeRawPointer(src + i).loadUnaligned(as: SIMD16<UInt16>.self)
            UnsafeMutableRawPointer(dst + i).storeBytes(of: SIMD16<UInt32>(truncatingIfNeeded: v) &<< 16,
                                                        as: SIMD16<UInt32>.self)
            i += 16
        }
        while i < n {
            dst[i] = Float(bitPattern: UInt32(src[i]) << 16)
            i += 1
        }
    }
}

/// The bf16 matrices of a checkpoint read for bf16 compute (`Checkpoint.read(…, keepBFloat16Matrices:)`).
///
/// A reference shared by every copy of the `Checkpoint`, so that `EncoderWeights` can *take* each
/// matrix as it packs it: the raw copy is freed layer by layer and loading never holds a model's
/// frozen matrices twice (the full-size jina-embeddings-v3 base loads in about its bf16 size).
public final class BFloat16Store: @unchecked Sendable {
    private var tensors: [String: BFloat16Tensor]
    private let lock = NSLock()

    public init(_ tensors: [String: BFloat16Tensor] = [:]) { self.tensors = tensors }

    public var isEmpty: Bool { lock.withLock { tensors.isEmpty } }
    public var names: [String] { lock.withLock { Array(tensors.keys) } }
    public func shape(of name: String) -> [Int]? { lock.withLock { tensors[name]?.shape } }

    /// Removes and returns the matrix `name`; nil when it is not (or no longer) here.
    public func take(_ name: String) -> BFloat16Tensor? { lock.withLock { tensors.removeValue(forKey: name) } }

    func insert(_ tensor: BFloat16Tensor, as name: String) { lock.withLock { tensors[name] = tensor } }
}
