/// One rank's share of a global micro-batch, and where every rank's rows sit in the loss's layout.
///
/// Every rank draws the same micro-batch of `examples` examples from the same sampler; rank r takes
/// the contiguous examples `exampleRange(r)` (balanced: sizes differ by at most one). A loss row
/// belongs to the rank that owns its example, so with a role-major layout ([anchors; positives;
/// negatives]) a rank owns a few rows of every role block. A rank embeds its rows in increasing
/// row order; after the all-gather (rank order), `place` puts every row back where one process's
/// batch has it, so the loss sees the identical (rows, H) matrix whatever the number of ranks.
public struct GlobalBatch: Sendable, Equatable {
    public let rank: Int, size: Int
    /// Loss rows of the whole micro-batch.
    public let totalRows: Int
    /// The loss rows of each rank, increasing.
    public let rowsOfRank: [[Int]]

    /// - Parameter exampleOfRow: for every loss row, the batch position (0..<examples) of its example.
    public init(examples: Int, exampleOfRow: [Int], rank: Int, size: Int) {
        precondition(size >= 1 && (0..<size).contains(rank), "GlobalBatch: rank \(rank) of \(size)")
        self.rank = rank
        self.size = size
        totalRows = exampleOfRow.count
        var owner = [Int](repeating: 0, count: examples)
        for q in 0..<size { for e in Self.exampleRange(examples: examples, rank: q, size: size) { owner[e] = q } }
        var rows = [[Int]](repeating: [], count: size)
        for (row, e) in exampleOfRow.enumerated() { rows[owner[e]].append(row) }
        rowsOfRank = rows
    }

    /// Examples [r·n/N, (r+1)·n/N) of a batch of n.
    public static func exampleRange(examples n: Int, rank r: Int, size: Int) -> Range<Int> {
        (r * n / size)..<((r + 1) * n / size)
    }

    public var ownRows: [Int] { rowsOfRank[rank] }
    public var rowCounts: [Int] { rowsOfRank.map(\.count) }

    /// gathered: every rank's rows in rank order (each rank's in increasing row order), `width`
    /// floats a row → global (totalRows, width) in the loss's row order.
    public func place(gathered: UnsafePointer<Float>, into global: UnsafeMutablePointer<Float>, width: Int) {
        var at = 0
        for rows in rowsOfRank {
            for row in rows {
                (global + row * width).update(from: gathered + at * width, count: width)
                at += 1
            }
        }
    }

    /// This rank's rows of a global (totalRows, width) matrix, in increasing row order.
    public func takeOwn(_ global: UnsafePointer<Float>, into local: UnsafeMutablePointer<Float>, width: Int) {
        for (i, row) in ownRows.enumerated() { (local + i * width).update(from: global + row * width, count: width) }
    }
}
