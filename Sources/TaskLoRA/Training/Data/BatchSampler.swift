/// Which texts may not repeat inside one batch. With in-batch negatives every other example's texts
/// score as negatives of an anchor, so a text that appears twice is a false negative.
public enum UniqueTexts: String, Codable, Sendable {
    /// No check (CoSENT and classification, which do not use in-batch negatives).
    case off
    /// No anchor or positive text twice in a batch.
    case anchorAndPositive
    /// No text of any role twice, hard negatives included: one example's hard negative may be
    /// another's positive (sibling paragraphs in SQuAD), which would score it as a negative there.
    case allTexts
}

/// How batches are drawn. Part of `BatchSamplerState`, so a resumed run must use the same settings.
public struct BatchSamplerConfig: Codable, Equatable, Sendable {
    public var batchSize: Int
    public var seed: UInt64
    /// true: examples that cannot fill a last full batch are left out of that epoch (each epoch's
    /// shuffle differs, so different ones). false: the epoch ends with smaller batches; when texts
    /// must be unique there may be more than one, since clashing examples cannot share a batch.
    public var dropLast: Bool
    public var uniqueTexts: UniqueTexts
    /// Length bucketing: nil off; k sorts each window of k × batchSize shuffled examples by length
    /// before cutting batches, then shuffles the order of the epoch's full batches, so a batch holds
    /// similar lengths (less padding and attention waste) while the data order stays random.
    public var bucketWindow: Int?
    /// Batches from one source each (`PerSourceBatches`): nil mixes all examples. The sources
    /// themselves (which example came from which file) are data, given to the sampler's init.
    public var perSource: PerSourceBatches?

    public init(batchSize: Int, seed: UInt64 = 0, dropLast: Bool = true, uniqueTexts: UniqueTexts = .allTexts,
                bucketWindow: Int? = nil, perSource: PerSourceBatches? = nil) {
        self.batchSize = batchSize
        self.seed = seed
        self.dropLast = dropLast
        self.uniqueTexts = uniqueTexts
        self.bucketWindow = bucketWindow
        self.perSource = perSource
    }
}

/// Each batch from one source (training file), the epoch interleaving sources at random.
///
/// An epoch has as many batches as one pass over every source would give (Σ b_s, b_s = source s's
/// batches in one pass). Without weights each source contributes its own b_s — every example once
/// an epoch, sources in proportion to their size, as sentence-transformers' proportional
/// multi-dataset sampler. With weights, source s contributes round(w_s / Σw × Σ b_s) batches
/// (largest remainders), cycling through further seeded passes over its own examples when that is
/// more than one pass holds, or taking a random subset of a pass when less.
public struct PerSourceBatches: Codable, Equatable, Sendable {
    /// One per source, or nil for "in proportion to size".
    public var weights: [Double]?

    public init(weights: [Double]? = nil) { self.weights = weights }
}

/// Where a sampler stands: enough to regenerate the epoch's batches and continue with the next one.
/// Store it in a checkpoint; `BatchSampler.restore` checks it belongs to the same data and settings.
public struct BatchSamplerState: Codable, Equatable, Sendable {
    public var config: BatchSamplerConfig
    /// 0-based epoch of the next batch.
    public var epoch: Int
    /// 0-based index within that epoch of the next batch.
    public var batchInEpoch: Int
    public var exampleCount: Int
    /// Hash of every example's texts, length and source, so a resume against changed data is refused.
    public var fingerprint: UInt64
}

/// One batch: dataset rows and where it sits in the run.
public struct SampledBatch: Equatable, Sendable {
    public var indices: [Int]
    public var epoch: Int
    public var batchInEpoch: Int
    public var batchesInEpoch: Int
}

/// Seeded, resumable epoch shuffling into batches.
///
/// Epoch e's batches are a pure function of (seed, e, the data, the settings): the order is a
/// Fisher–Yates shuffle from `SplitMix64` seeded by (seed, e), then optional length bucketing, then
/// batches are cut so no text repeats inside one (an example that would repeat one waits for a
/// later batch of the same epoch). Every example is in at most one batch per epoch.
public struct BatchSampler: Sendable {
    public let config: BatchSamplerConfig
    public let exampleCount: Int
    private let keys: [[UInt64]]
    private let lengths: [Int]?
    /// With `config.perSource`: the example indices of each source, in index order.
    private let members: [[Int]]
    private let fingerprint: UInt64
    private let source: String
    public private(set) var epoch = 0
    public private(set) var batchInEpoch = 0
    private var plan: [[Int]] = []

    /// - Parameter lengths: per-example lengths for bucketing (`characterLengths`, `tokenLengths`);
    ///   nil with `bucketWindow` set uses character lengths.
    /// - Parameter sources: with `config.perSource`, the source of each example (0-based, e.g. the
    ///   index of its training file) and each source's name for errors.
    public init(dataset: TrainingDataset, config: BatchSamplerConfig, lengths: [Int]? = nil,
                sources: ExampleSources? = nil) throws {
        let texts = (0..<dataset.count).map { i -> [String] in
            let all = dataset.texts(of: i)
            switch config.uniqueTexts {
            case .off: return []
            case .anchorAndPositive: return Array(all.prefix(dataset.mainTextCount(of: i)))
            case .allTexts: return all
            }
        }
        var lengths = lengths
        if lengths == nil, config.bucketWindow != nil { lengths = Self.characterLengths(dataset) }
        let fingerprint = (0..<dataset.count).reduce(StableHash.hash("dataset", seed: UInt64(dataset.count))) { h, i in
            dataset.texts(of: i).reduce(h) { StableHash.combine($0, StableHash.hash($1)) }
        }
        try self.init(exampleTexts: texts, config: config, lengths: lengths, source: dataset.source, fingerprint: fingerprint,
                      sources: sources)
    }

    /// The general form: `exampleTexts[i]` are the texts of example i that must not repeat within a
    /// batch (empty arrays when nothing is checked). Bucketing needs `lengths` here.
    public init(exampleTexts: [[String]], config: BatchSamplerConfig, lengths: [Int]? = nil,
                source: String = "dataset", sources: ExampleSources? = nil) throws {
        if config.bucketWindow != nil, lengths == nil {
            throw TaskLoRAError.file(source, "length bucketing needs the examples' lengths")
        }
        let fingerprint = exampleTexts.reduce(StableHash.hash("texts", seed: UInt64(exampleTexts.count))) { h, texts in
            texts.reduce(h) { StableHash.combine($0, StableHash.hash($1)) }
        }
        try self.init(exampleTexts: exampleTexts, config: config, lengths: lengths, source: source, fingerprint: fingerprint,
                      sources: sources)
    }

    private init(exampleTexts: [[String]], config: BatchSamplerConfig, lengths: [Int]?, source: String, fingerprint: UInt64,
                 sources: ExampleSources?) throws {
        let n = exampleTexts.count
        guard config.batchSize >= 1 else { throw TaskLoRAError.file(source, "batch size must be at least 1, not \(config.batchSize)") }
        guard n >= config.batchSize else {
            throw TaskLoRAError.file(source, "has \(n) example\(n == 1 ? "" : "s"), fewer than one batch of \(config.batchSize); use a smaller batch size or more data")
        }
        if let w = config.bucketWindow, w < 1 { throw TaskLoRAError.file(source, "bucket window must be at least 1 batch, not \(w)") }
        if let lengths, lengths.count != n {
            throw TaskLoRAError.file(source, "\(lengths.count) lengths given for \(n) examples")
        }
        self.config = config
        self.exampleCount = n
        self.keys = exampleTexts.map { $0.map { StableHash.hash($0) } }
        self.lengths = lengths
        self.source = source
        var mixed = StableHash.combine(fingerprint, UInt64(n))
        for length in lengths ?? [] { mixed = StableHash.combine(mixed, UInt64(bitPattern: Int64(length))) }
        if let perSource = config.perSource {
            guard let sources else { throw TaskLoRAError.file(source, "per-source batches need the source of each example") }
            members = try sources.members(exampleCount: n, batchSize: config.batchSize, weights: perSource.weights, what: source)
            for s in sources.sourceOfExample { mixed = StableHash.combine(mixed, UInt64(s)) }
        } else {
            members = []
        }
        self.fingerprint = mixed
        plan = try makePlan(epoch: 0)
    }

    /// Characters of each example's texts, summed (anchor + positive + negatives).
    public static func characterLengths(_ dataset: TrainingDataset) -> [Int] {
        (0..<dataset.count).map { dataset.texts(of: $0).reduce(0) { $0 + $1.count } }
    }

    /// Tokens of each example's texts, summed, by the caller's tokenizer.
    public static func tokenLengths(_ dataset: TrainingDataset, count: (String) throws -> Int) rethrows -> [Int] {
        try (0..<dataset.count).map { try dataset.texts(of: $0).reduce(0) { $0 + (try count($1)) } }
    }

    public var state: BatchSamplerState {
        BatchSamplerState(config: config, epoch: epoch, batchInEpoch: batchInEpoch, exampleCount: exampleCount,
                          fingerprint: fingerprint)
    }

    /// Continues from a saved state; the next batch is the one that followed when it was saved.
    public mutating func restore(_ saved: BatchSamplerState) throws {
        guard saved.config == config else {
            throw TaskLoRAError.file(source, "the saved sampler state has other settings (\(saved.config)) than this run (\(config))")
        }
        guard saved.exampleCount == exampleCount, saved.fingerprint == fingerprint else {
            throw TaskLoRAError.file(source, "the saved sampler state belongs to other data (\(saved.exampleCount) examples then, \(exampleCount) now, or changed texts)")
        }
        guard saved.epoch >= 0, saved.batchInEpoch >= 0 else {
            throw TaskLoRAError.file(source, "the saved sampler state has a negative position")
        }
        plan = try makePlan(epoch: saved.epoch)
        guard saved.batchInEpoch <= plan.count else {
            throw TaskLoRAError.file(source, "the saved sampler state points at batch \(saved.batchInEpoch) of an epoch of \(plan.count)")
        }
        epoch = saved.epoch
        batchInEpoch = saved.batchInEpoch
    }

    /// Batches in the current epoch (may differ a little between epochs when texts must be unique).
    public var batchesInEpoch: Int { plan.count }

    /// The next batch; moves on to the next epoch after the last.
    public mutating func next() throws -> SampledBatch {
        if batchInEpoch >= plan.count {
            plan = try makePlan(epoch: epoch + 1)
            epoch += 1
            batchInEpoch = 0
        }
        defer { batchInEpoch += 1 }
        return SampledBatch(indices: plan[batchInEpoch], epoch: epoch, batchInEpoch: batchInEpoch, batchesInEpoch: plan.count)
    }

    /// All batches of an epoch (for inspection; `next()` is the way to iterate).
    public func batches(epoch: Int) throws -> [[Int]] { try makePlan(epoch: epoch) }

    private func makePlan(epoch: Int) throws -> [[Int]] {
        guard let perSource = config.perSource else {
            var rng = SplitMix64(seed: StableHash.combine(config.seed, UInt64(epoch)))
            return try pass(over: Array(0..<exampleCount), rng: &rng, what: "epoch \(epoch)")
        }
        return try perSourcePlan(epoch: epoch, weights: perSource.weights)
    }

    /// One seeded pass over `examples`: shuffled, optionally length-bucketed, cut into batches in
    /// which no text repeats (an example that would repeat one waits for a later batch).
    private func pass(over examples: [Int], rng: inout SplitMix64, what: String) throws -> [[Int]] {
        let n = examples.count, size = config.batchSize
        var order = examples
        SeededShuffle.shuffle(&order, &rng)
        if let window = config.bucketWindow, let lengths {
            // Stable sort within each window: ties keep their shuffled order.
            let span = min(window, n / size + 1) * size
            for start in stride(from: 0, to: n, by: span) {
                let end = min(start + span, n)
                let sorted = order[start..<end].enumerated().sorted { a, b in
                    let la = lengths[a.element], lb = lengths[b.element]
                    return la != lb ? la < lb : a.offset < b.offset
                }
                order[start..<end] = ArraySlice(sorted.map(\.element))
            }
        }
        var full: [[Int]] = []
        var partial: [[Int]] = []
        var deferred: [Int] = []
        var next = 0
        while next < n || !deferred.isEmpty {
            var batch: [Int] = []
            batch.reserveCapacity(size)
            var used = Set<UInt64>()
            func fits(_ e: Int) -> Bool { keys[e].allSatisfy { !used.contains($0) } }
            func add(_ e: Int) { batch.append(e); used.formUnion(keys[e]) }
            // Waiting examples first, so none is pushed back further than needed.
            var stillWaiting: [Int] = []
            for e in deferred {
                if batch.count < size, fits(e) { add(e) } else { stillWaiting.append(e) }
            }
            deferred = stillWaiting
            while batch.count < size, next < n {
                let e = order[next]
                next += 1
                if fits(e) { add(e) } else { deferred.append(e) }
            }
            if batch.count == size { full.append(batch) } else { partial.append(batch) }
        }
        if config.bucketWindow != nil { SeededShuffle.shuffle(&full, &rng) }
        guard !full.isEmpty || (!config.dropLast && !partial.isEmpty) else {
            throw TaskLoRAError.file(source, "no batch of \(size) examples without a repeated text can be formed (\(what)); use a smaller batch size or uniqueTexts .off")
        }
        return config.dropLast ? full : full + partial
    }

    /// Epoch `epoch` with each batch from one source (`PerSourceBatches`). A pure function of
    /// (seed, epoch, data, settings), as the mixed plan, so resume works the same way.
    private func perSourcePlan(epoch: Int, weights: [Double]?) throws -> [[Int]] {
        let seed = StableHash.combine(config.seed, UInt64(epoch))
        func passOf(_ s: Int, _ k: Int) throws -> [[Int]] {
            var rng = SplitMix64(seed: StableHash.combine(StableHash.combine(seed, UInt64(s) &+ 1), UInt64(k)))
            return try pass(over: members[s], rng: &rng, what: "source \(s + 1), epoch \(epoch)")
        }
        // A source of weight 0 contributes nothing (and may be smaller than a batch).
        let first = try members.indices.map { s in weights?[s] == 0 ? [] : try passOf(s, 0) }
        let total = first.reduce(0) { $0 + $1.count }
        let quota = weights.map { PerSourceBatches.apportion(total, weights: $0) } ?? first.map(\.count)
        var bySource: [[[Int]]] = []
        for (s, want) in quota.enumerated() {
            var taken = Array(first[s].prefix(want))
            var k = 1
            while taken.count < want {
                taken += try passOf(s, k).prefix(want - taken.count)
                k += 1
            }
            bySource.append(taken)
        }
        var slots = quota.enumerated().flatMap { s, count in Array(repeating: s, count: count) }
        var rng = SplitMix64(seed: StableHash.combine(seed, 0x5107_5EED))
        SeededShuffle.shuffle(&slots, &rng)
        var nextOf = [Int](repeating: 0, count: quota.count)
        return slots.map { s in
            defer { nextOf[s] += 1 }
            return bySource[s][nextOf[s]]
        }
    }
}

extension PerSourceBatches {
    /// `total` split by `weights` with largest remainders (ties to the earlier source), so the
    /// counts sum to `total` exactly and follow the weights as closely as whole batches can.
    static func apportion(_ total: Int, weights: [Double]) -> [Int] {
        let sum = weights.reduce(0, +)
        let exact = weights.map { Double(total) * $0 / sum }
        var counts = exact.map { Int($0.rounded(.down)) }
        let byRemainder = exact.indices.sorted { a, b in
            let ra = exact[a] - Double(counts[a]), rb = exact[b] - Double(counts[b])
            return ra != rb ? ra > rb : a < b
        }
        for i in byRemainder.prefix(total - counts.reduce(0, +)) { counts[i] += 1 }
        return counts
    }
}

/// Which source (training file) each example of a merged dataset came from.
public struct ExampleSources: Equatable, Sendable {
    /// 0-based source of example i.
    public var sourceOfExample: [Int]
    /// Each source's name (its file), for errors.
    public var names: [String]

    public init(sourceOfExample: [Int], names: [String]) {
        self.sourceOfExample = sourceOfExample
        self.names = names
    }

    /// Example indices per source; every source must fill a batch (its batches hold only its own).
    func members(exampleCount: Int, batchSize: Int, weights: [Double]?, what: String) throws -> [[Int]] {
        guard sourceOfExample.count == exampleCount else {
            throw TaskLoRAError.file(what, "\(sourceOfExample.count) example sources given for \(exampleCount) examples")
        }
        if let weights, weights.count != names.count {
            throw TaskLoRAError.file(what, "\(weights.count) weights given for \(names.count) sources")
        }
        var members = [[Int]](repeating: [], count: names.count)
        for (i, s) in sourceOfExample.enumerated() {
            guard members.indices.contains(s) else { throw TaskLoRAError.file(what, "example \(i + 1) has source \(s) of \(names.count)") }
            members[s].append(i)
        }
        for (s, m) in members.enumerated() where m.count < batchSize && (weights?[s] ?? 1) > 0 {
            throw TaskLoRAError.file(names[s], "has \(m.count) example\(m.count == 1 ? "" : "s"), fewer than one batch of \(batchSize); with per-source batches every batch comes from one file (give it weight 0, merge it with another file, or use data.batches: mixed)")
        }
        return members
    }
}
