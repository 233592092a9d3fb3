/// A batch of token sequences packed end to end with no padding: token t of sequence b sits at
/// row `offsets[b] + t` of every (T, ·) activation. Attention runs per sequence, so padding is
/// never computed and never masked.
public struct TokenBatch: Sendable {
    /// (T) token ids of all sequences, concatenated.
    public var ids: [Int32]
    /// (B + 1) start row of each sequence; `offsets[B] == T` (cu_seqlens).
    public var offsets: [Int]
    /// (T) token-type ids, or nil for all zeros.
    public var tokenTypes: [Int32]?
    /// (B) the LoRA adapter each sequence runs with (index into `LoRAAdapters`, −1 for none),
    /// or nil for none at all. A batch may mix adapters (jina-embeddings-v3 tasks per example).
    public var adapters: [Int]?

    public init(sequences: [[Int32]], tokenTypes: [[Int32]]? = nil, adapters: [Int]? = nil) {
        var ids: [Int32] = []
        var offsets = [0]
        ids.reserveCapacity(sequences.reduce(0) { $0 + $1.count })
        for s in sequences {
            ids += s
            offsets.append(ids.count)
        }
        self.ids = ids
        self.offsets = offsets
        self.tokenTypes = tokenTypes.map { $0.flatMap { $0 } }
        self.adapters = adapters
    }

    /// Maximal runs of consecutive sequences that share an adapter, as token-row ranges:
    /// LoRA runs one pair of GEMMs per run. Sorting a batch by adapter keeps runs few.
    public var adapterRuns: [(adapter: Int, rows: Range<Int>)] {
        guard let adapters else { return [] }
        var runs: [(adapter: Int, rows: Range<Int>)] = []
        var b = 0
        while b < sequenceCount {
            var e = b + 1
            while e < sequenceCount, adapters[e] == adapters[b] { e += 1 }
            if adapters[b] >= 0, offsets[e] > offsets[b] { runs.append((adapters[b], offsets[b]..<offsets[e])) }
            b = e
        }
        return runs
    }

    public var sequenceCount: Int { offsets.count - 1 }
    public var tokenCount: Int { ids.count }
    public func length(_ b: Int) -> Int { offsets[b + 1] - offsets[b] }
    public var maxLength: Int { (0..<sequenceCount).map(length).max() ?? 0 }
}
