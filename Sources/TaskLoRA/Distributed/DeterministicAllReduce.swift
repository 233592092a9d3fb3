/// A sum over ranks that does not depend on MPI's reduction algorithm: every element is added in
/// rank order, ((x₀ + x₁) + x₂) + …, on every rank, so all ranks hold the same bits and a rerun
/// with the same ranks gives the same bits.
///
/// The buffer is cut into N blocks; an all-to-all sends block q of every rank to rank q, which
/// sums them in rank order, and an all-gather hands the summed blocks to everyone. Each rank sends
/// and receives 2·(N−1)/N of the buffer, as a ring all-reduce does.
public enum DeterministicAllReduce {
    /// Block q of `count` elements over `size` ranks: [q·count/N, (q+1)·count/N).
    public static func block(_ q: Int, count: Int, size: Int) -> Range<Int> {
        (q * count / size)..<((q + 1) * count / size)
    }

    /// `buffer` (count floats) ← the sum over ranks, in rank order.
    public static func sum(_ buffer: UnsafeMutablePointer<Float>, count: Int, communicator c: Communicator, what: String) throws {
        let n = c.size
        guard n > 1 else { return }
        let blocks = (0..<n).map { block($0, count: count, size: n).count }
        let mine = blocks[c.rank]
        let received = UnsafeMutablePointer<Float>.allocate(capacity: max(n * mine, 1))
        defer { received.deallocate() }
        try c.allToAll(buffer, sendCounts: blocks, into: received, recvCounts: [Int](repeating: mine, count: n), what: what)
        let sum = UnsafeMutablePointer<Float>.allocate(capacity: max(mine, 1))
        defer { sum.deallocate() }
        sum.update(from: received, count: mine)
        for q in 1..<n {
            let part = received + q * mine
            for i in 0..<mine { sum[i] += part[i] }
        }
        try c.allGather(sum, counts: blocks, into: buffer, what: what)
    }

    /// Integers summed over ranks (exact, so order does not matter); e.g. token counts.
    public static func sum(_ values: [Int64], communicator c: Communicator, what: String) throws -> [Int64] {
        guard c.size > 1 else { return values }
        let all = try c.allGather(values, what: what)
        return values.indices.map { i in all.reduce(0) { $0 + $1[i] } }
    }
}
