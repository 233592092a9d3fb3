import Foundation

/// Exact top-k cosine search of query embeddings against a corpus embedding file, scanned in
/// blocks: each block of corpus rows is one GEMM (queries × blockᵀ) and every query keeps its k
/// best (score, row) pairs, so memory is one score block plus k candidates a query, whatever the
/// corpus size. Rows are L2-normalized, so the dot product is the cosine.
struct TopKScan {
    /// One query's candidates, best first.
    struct Candidates {
        var scores: [Float]
        var rows: [Int]
    }

    /// - Parameters:
    ///   - queries: (Q, d) row-major, L2-normalized.
    ///   - corpus: (N, d) row-major float32, L2-normalized (a memory map of the file `CorpusEmbeddings` wrote).
    ///   - k: candidates kept per query (fewer when N < k).
    ///   - blockRows: corpus rows per GEMM; the score block is (Q, blockRows) floats.
    ///   - scanned: called after each block with the rows scanned so far, so a memory-mapped corpus
    ///     can hand those pages back (`MappedFile.discard`).
    static func scan(queries: UnsafePointer<Float>, count q: Int, corpus: UnsafePointer<Float>, rows n: Int, dim d: Int,
                     k: Int, blockRows: Int = 8192, scanned: (Int) -> Void = { _ in }) -> [Candidates] {
        let keep = min(k, n)
        // Per query a min-heap of its best `keep` so far, as parallel arrays (heap[0] = the worst kept).
        var heapScores = [Float](repeating: -.infinity, count: q * keep)
        var heapRows = [Int](repeating: -1, count: q * keep)
        let block = min(blockRows, max(n, 1))
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: q * block)
        defer { scores.deallocate() }
        heapScores.withUnsafeMutableBufferPointer { hs in
            heapRows.withUnsafeMutableBufferPointer { hr in
                for start in stride(from: 0, to: n, by: block) {
                    let rows = min(block, n - start)
                    BLAS.gemm(transB: true, m: q, n: rows, k: d, a: queries, lda: d, b: corpus + start * d, ldb: d,
                              c: scores, ldc: rows)
                    Parallel.forEachChunk(q, minChunk: 8) { range in
                        for i in range {
                            let s = hs.baseAddress! + i * keep, r = hr.baseAddress! + i * keep
                            let row = scores + i * rows
                            for j in 0..<rows where row[j] > s[0] {
                                s[0] = row[j]
                                r[0] = start + j
                                siftDown(s, r, count: keep)
                            }
                        }
                    }
                    scanned(start + rows)
                }
            }
        }
        return (0..<q).map { i -> Candidates in
            let order = (0..<keep).filter { heapRows[i * keep + $0] >= 0 }.sorted { a, b -> Bool in
                let sa = heapScores[i * keep + a], sb = heapScores[i * keep + b]
                return sa != sb ? sa > sb : heapRows[i * keep + a] < heapRows[i * keep + b]
            }
            return Candidates(scores: order.map { heapScores[i * keep + $0] }, rows: order.map { heapRows[i * keep + $0] })
        }
    }

    /// Restores the min-heap property from the root (ties: the later row is the worse, so the
    /// earlier corpus row wins an exact tie, as a stable sort would).
    private static func siftDown(_ s: UnsafeMutablePointer<Float>, _ r: UnsafeMutablePointer<Int>, count: Int) {
        func worse(_ a: Int, _ b: Int) -> Bool { s[a] != s[b] ? s[a] < s[b] : r[a] > r[b] }
        var i = 0
        while true {
            let left = 2 * i + 1, right = left + 1
            var smallest = i
            if left < count, worse(left, smallest) { smallest = left }
            if right < count, worse(right, smallest) { smallest = right }
            if smallest == i { return }
            s.swapAt(i, smallest)
            r.swapAt(i, smallest)
            i = smallest
        }
    }
}

private extension UnsafeMutablePointer {
    func swapAt(_ a: Int, _ b: Int) {
        let t = self[a]
        self[a] = self[b]
        self[b] = t
    }
}
