import Foundation

/// Hard-negative mining for (anchor, positive) pairs, in the manner of sentence-transformers'
/// `mine_hard_negatives` and NV-Retriever's positive-aware filtering: embed the anchors (query
/// side) and a corpus (passage side), rank the corpus for each anchor by exact cosine, and keep
/// `numNegatives` candidates from a rank window that are not the positive, not a copy of it, and
/// (optionally) far enough below the positive's own score to be unlikely false negatives.
///
/// Memory stays bounded for a corpus larger than RAM: the corpus is read line by line from a
/// memory map (`LineFile`), its embeddings are streamed to a scratch file and scanned in blocks
/// (`TopKScan`, which hands each block's mapped pages back once scanned); what stays in memory is
/// about 24 bytes a distinct corpus line (its offset, its line number and its text hash, for
/// de-duplication and for reading a chosen negative back) plus the pairs themselves.
public struct HardNegativeMiner {
    public enum Sampling: String, Sendable, CaseIterable {
        /// The best-ranked candidates that pass the filters.
        case top
        /// A seeded random choice among the candidates that pass the filters.
        case random
    }

    public struct Options: Sendable {
        public var numNegatives: Int
        /// Skip the `rangeMin` most similar candidates (rank 0 is the best non-positive).
        public var rangeMin: Int
        /// Consider only candidates ranked below `rangeMax`.
        public var rangeMax: Int
        /// Keep a candidate only if its score ≤ positive's score − margin.
        public var margin: Float?
        /// Keep a candidate only if its score ≤ ratio × positive's score (NV-Retriever: 0.95).
        public var maxScoreRatio: Float?
        public var sampling: Sampling
        public var seed: UInt64
        /// Texts embedded per call of the embedder, and anchors per scan.
        public var chunk: Int
        /// Corpus rows per GEMM block of the scan.
        public var corpusBlock: Int

        public init(numNegatives: Int = 3, rangeMin: Int = 0, rangeMax: Int = 100, margin: Float? = nil,
                    maxScoreRatio: Float? = nil, sampling: Sampling = .top, seed: UInt64 = 42, chunk: Int = 4096,
                    corpusBlock: Int = 8192) {
            self.numNegatives = numNegatives
            self.rangeMin = rangeMin
            self.rangeMax = rangeMax
            self.margin = margin
            self.maxScoreRatio = maxScoreRatio
            self.sampling = sampling
            self.seed = seed
            self.chunk = chunk
            self.corpusBlock = corpusBlock
        }

        /// Fails with one line (named as the CLI's options) on settings that cannot mine.
        public func check() throws {
            guard numNegatives >= 1 else { throw TaskLoRAError("--num-negatives must be at least 1, got \(numNegatives)") }
            guard rangeMin >= 0 else { throw TaskLoRAError("--range-min must be >= 0, got \(rangeMin)") }
            guard rangeMax >= rangeMin + numNegatives else {
                throw TaskLoRAError("--range-max (\(rangeMax)) must be at least --range-min + --num-negatives (\(rangeMin + numNegatives))")
            }
            if let m = margin, !(m.isFinite && m >= 0) { throw TaskLoRAError("--margin must be a number >= 0, got \(m)") }
            if let r = maxScoreRatio, !(r.isFinite && r > 0) { throw TaskLoRAError("--max-score-ratio must be > 0, got \(r)") }
            guard chunk >= 1, corpusBlock >= 1 else { throw TaskLoRAError("chunk and block sizes must be at least 1") }
        }
    }

    /// How the anchors and the corpus are embedded (an adapter and prefix each: query and passage
    /// side), and by whom: under `mpirun -np N` every chunk of texts is split into N contiguous
    /// shares, each rank embeds its share and the rows are all-gathered in rank order, so every
    /// rank holds the chunk's embeddings in input order and the result does not depend on N.
    public struct Sides {
        public var embedder: SentenceEmbedder
        public var query: SentenceEmbedder.Options
        public var passage: SentenceEmbedder.Options
        public var communicator: Communicator

        public init(embedder: SentenceEmbedder, query: SentenceEmbedder.Options, passage: SentenceEmbedder.Options,
                    communicator: Communicator = SingleProcess()) {
            self.embedder = embedder
            self.query = query
            self.passage = passage
            self.communicator = communicator
        }

        /// (texts, width) embeddings of `texts`, this rank's share embedded here.
        func embed(_ texts: [String], options: SentenceEmbedder.Options) throws -> Tensor {
            let ranks = communicator.size
            guard ranks > 1 else { return try embedder.embed(texts, options: options).embeddings }
            let width = options.dim ?? embedder.encoder.config.hiddenSize
            let share = GlobalBatch.exampleRange(examples: texts.count, rank: communicator.rank, size: ranks)
            let mine = share.isEmpty ? Tensor(zeros: [0, width]) : try embedder.embed(Array(texts[share]), options: options).embeddings
            let all = Tensor(zeros: [texts.count, width])
            try communicator.allGather(mine.data, counts: (0..<ranks).map {
                GlobalBatch.exampleRange(examples: texts.count, rank: $0, size: ranks).count * width
            }, into: all.data, what: "the embeddings of \(texts.count) texts")
            return all
        }
    }

    /// One mined example.
    public struct Example: Equatable, Sendable {
        public var anchor: String
        public var positive: String
        public var negatives: [String]
        /// Cosine of anchor and positive, and of anchor and each negative.
        public var positiveScore: Float
        public var negativeScores: [Float]
    }

    public struct Summary: Sendable {
        /// Examples written with all `numNegatives` negatives.
        public var written = 0
        /// Examples left out: fewer than `numNegatives` candidates passed the filters.
        public var tooFew = 0
        /// Corpus lines left out as exact copies of an earlier line.
        public var duplicateCorpusLines = 0
        public var corpusSize = 0
    }

    public let options: Options

    public init(options: Options) throws {
        try options.check()
        self.options = options
    }

    /// Mines negatives for `pairs` from `corpus` (a `LineFile`; nil: the distinct positives).
    /// `write` receives each example with enough negatives, in pair order; `progress(done, total)`
    /// counts texts embedded. `scratch` is a folder for the corpus embeddings (removed after).
    public func mine(pairs: [(anchor: String, positive: String)], pairsSource: String, corpus: LineFile?,
                     sides: Sides, scratch: String, progress: (String, Int, Int) -> Void = { _, _, _ in },
                     write: (Example) throws -> Void) throws -> Summary {
        var summary = Summary()
        let corpusSource = corpus?.path ?? "the positives of \(pairsSource)"
        // 1. Corpus: distinct texts, embedded on the passage side and streamed to a scratch file.
        let texts: CorpusTexts = corpus.map { .file($0) } ?? .positives(pairs.map(\.positive))
        let store = try CorpusEmbeddings(folder: scratch, dim: sides.passage.dim ?? sides.embedder.encoder.config.hiddenSize)
        defer { store.remove() }
        // De-duplication needs every distinct text's hash while the corpus streams (8 bytes a line in
        // a set); rows are looked up only for the positives, so that map is the size of the pairs.
        var seen = Set<UInt64>()
        var rowOfPositive: [UInt64: Int] = Dictionary(pairs.map { (StableHash.hash($0.positive), -1) }, uniquingKeysWith: { a, _ in a })
        var rows = DistinctRows()
        var pending: [String] = []
        func flush() throws {
            guard !pending.isEmpty else { return }
            try store.append(try sides.embed(pending, options: sides.passage))
            pending.removeAll(keepingCapacity: true)
            progress("corpus", rows.count, texts.count)
        }
        for line in 0..<texts.count {
            let text = try texts.text(line)
            let hash = StableHash.hash(text)
            guard seen.insert(hash).inserted else {
                summary.duplicateCorpusLines += 1
                rows.skip(line: line)
                continue
            }
            if rowOfPositive[hash] == -1 { rowOfPositive[hash] = rows.count }
            rows.count += 1
            pending.append(text)
            if pending.count >= options.chunk { try flush() }
            if case .file(let f) = texts, line % options.chunk == 0 { f.release(before: line) }
        }
        try flush()
        seen = []
        summary.corpusSize = rows.count
        let n = rows.count
        guard n > options.numNegatives else {
            throw TaskLoRAError.file(corpusSource, "has \(n) distinct text\(n == 1 ? "" : "s"), too few for --num-negatives \(options.numNegatives) besides the positive")
        }
        // Every positive must be in the corpus: the one row excluded as "the positive".
        let positiveRows = try pairs.enumerated().map { i, pair -> Int in
            guard let row = rowOfPositive[StableHash.hash(pair.positive)], row >= 0 else {
                throw TaskLoRAError.file(pairsSource, "pair \(i + 1): its positive is not in the corpus \(corpusSource)")
            }
            return row
        }
        rowOfPositive = [:]
        let corpusMatrix = try store.map()

        // 2. Anchors in blocks: embed, scan the corpus, filter, choose.
        let k = min(options.rangeMax + 1, n)   // +1: the positive may be among the best
        let d = store.dim
        for start in stride(from: 0, to: pairs.count, by: options.chunk) {
            let block = Array(pairs[start..<min(start + options.chunk, pairs.count)])
            let anchors = try sides.embed(block.map(\.anchor), options: sides.query)
            let candidates = TopKScan.scan(queries: anchors.data, count: block.count,
                                           corpus: corpusMatrix.floats, rows: n, dim: d, k: k, blockRows: options.corpusBlock,
                                           scanned: { rows in corpusMatrix.file.discard(before: rows * d * MemoryLayout<Float>.size) })
            for (b, pair) in block.enumerated() {
                let i = start + b
                if b % 64 == 0 {
                    // Random reads (the positive's row, the chosen negatives' lines) fault in whole
                    // runs of neighbouring pages (the kernel's fault-around); hand them back often,
                    // or both files end up resident.
                    corpusMatrix.file.discard(before: corpusMatrix.file.count)
                    if case .file(let f) = texts { f.release(before: f.count) }
                }
                let positiveRow = positiveRows[i]
                let positiveScore = dot(anchors.data + b * d, corpusMatrix.floats + positiveRow * d, d)
                let chosen = choose(candidates[b], positiveRow: positiveRow, positiveScore: positiveScore, example: i)
                guard chosen.count == options.numNegatives else { summary.tooFew += 1; continue }
                try write(Example(anchor: pair.anchor, positive: pair.positive,
                                  negatives: try chosen.map { try texts.text(rows.line(ofRow: $0.row)) },
                                  positiveScore: positiveScore, negativeScores: chosen.map(\.score)))
                summary.written += 1
            }
            progress("anchors", min(start + block.count, pairs.count), pairs.count)
        }
        return summary
    }

    /// The rank window and score filters, then `top` or seeded `random` choice. Ranks count the
    /// corpus without the positive (rank 0 = the best other text).
    func choose(_ c: TopKScan.Candidates, positiveRow: Int, positiveScore: Float, example: Int) -> [(row: Int, score: Float)] {
        let ranked = zip(c.rows, c.scores).filter { $0.0 != positiveRow }
        let window = ranked.dropFirst(options.rangeMin).prefix(options.rangeMax - options.rangeMin)
        let kept = window.filter { _, score in
            (options.margin.map { score <= positiveScore - $0 } ?? true)
                && (options.maxScoreRatio.map { score <= $0 * positiveScore } ?? true)
        }.map { (row: $0.0, score: $0.1) }
        switch options.sampling {
        case .top:
            return Array(kept.prefix(options.numNegatives))
        case .random:
            var rng = SplitMix64(seed: StableHash.combine(options.seed, UInt64(example)))
            var order = Array(kept.indices)
            SeededShuffle.shuffle(&order, &rng)
            return order.prefix(options.numNegatives).sorted().map { kept[$0] }
        }
    }

    private func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ d: Int) -> Float {
        var s: Float = 0
        for j in 0..<d { s += a[j] * b[j] }
        return s
    }
}

/// Corpus rows (distinct texts, embedded) and the lines they came from, stored as the lines that
/// were skipped as duplicates: memory grows with the duplicates, not with the corpus.
struct DistinctRows {
    var count = 0
    /// Skipped line numbers, ascending.
    private var skipped: [Int] = []

    mutating func skip(line: Int) { skipped.append(line) }

    /// The line of row `r`: r plus the number of skipped lines before it. `skipped[j] − j` does not
    /// decrease in j, so that number is found by bisection: the j with skipped[j] − j ≤ r.
    func line(ofRow r: Int) -> Int {
        var lo = 0, hi = skipped.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if skipped[mid] - mid <= r { lo = mid + 1 } else { hi = mid }
        }
        return r + lo
    }
}

/// Where the corpus texts come from: a file read by line, or the pairs' positives in memory.
enum CorpusTexts {
    case file(LineFile)
    case positives([String])

    var count: Int {
        switch self {
        case .file(let f): return f.count
        case .positives(let p): return p.count
        }
    }

    func text(_ i: Int) throws -> String {
        switch self {
        case .file(let f): return try f.text(i)
        case .positives(let p): return p[i]
        }
    }
}

/// The corpus embeddings as a scratch file of float32 rows (N, dim), appended chunk by chunk and
/// then memory-mapped for the scan, so they never need to fit in memory at once.
final class CorpusEmbeddings {
    let path: String
    let dim: Int
    private let handle: FileHandle
    private(set) var rows = 0

    init(folder: String, dim: Int) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        path = (folder as NSString).appendingPathComponent("corpus-embeddings-\(getpid())-\(UUID().uuidString).f32")
        guard FileManager.default.createFile(atPath: path, contents: nil) , let h = FileHandle(forWritingAtPath: path) else {
            throw TaskLoRAError.file(path, "cannot create the scratch file for the corpus embeddings")
        }
        handle = h
        self.dim = dim
    }

    /// Appends (r, dim) rows.
    func append(_ t: Tensor) throws {
        precondition(t.shape.count == 2 && t.shape[1] == dim, "embedding width \(t.shape) differs from \(dim)")
        do {
            try handle.write(contentsOf: Data(bytes: t.data, count: t.shape[0] * dim * MemoryLayout<Float>.size))
        } catch {
            throw TaskLoRAError.file(path, "cannot write corpus embeddings: \(error.localizedDescription)")
        }
        rows += t.shape[0]
    }

    /// The finished file, mapped read-only.
    func map() throws -> MappedFloats {
        try handle.close()
        return try MappedFloats(file: MappedFile(path: path), count: rows * dim)
    }

    func remove() {
        try? handle.close()
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Float32 values of a mapped file.
struct MappedFloats {
    let file: MappedFile
    let count: Int
    var floats: UnsafePointer<Float> {
        count == 0 ? UnsafePointer(bitPattern: MemoryLayout<Float>.alignment)! : file.bytes.baseAddress!.assumingMemoryBound(to: Float.self)
    }
}
