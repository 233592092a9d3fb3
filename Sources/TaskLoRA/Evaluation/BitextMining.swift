/// Bitext mining on parallel files (line i of the source translates line i of the target): for each
/// source sentence the nearest target sentence by cosine (ties: lower index) must be its own
/// translation; and the same from the target side.
public enum BitextMining {
    public struct Result: Codable, Equatable, Sendable {
        public var dim: Int
        /// Accuracy (×100) of source → target retrieval.
        public var sourceToTarget: Double
        /// Accuracy (×100) of target → source retrieval.
        public var targetToSource: Double
        /// Mean of the two directions.
        public var average: Double

        enum CodingKeys: String, CodingKey {
            case dim, sourceToTarget = "source_to_target", targetToSource = "target_to_source", average
        }
    }

    /// `source`, `target`: (N, d) L2-normalized, row i ↔ row i.
    public static func evaluate(source: Tensor, target: Tensor) -> Result {
        let n = source.shape[0], d = source.shape[1]
        precondition(target.shape == source.shape && n > 0)
        let s = Similarity.double(source), t = Similarity.double(target)
        let scores = Similarity.scores(s, rows: n, t, count: n, dim: d)
        var forward = 0, backward = 0
        var column = [Double](repeating: 0, count: n)
        scores.withUnsafeBufferPointer { p in
            for i in 0..<n where Similarity.argmax(p.baseAddress! + i * n, count: n) == i { forward += 1 }
        }
        for j in 0..<n {
            for i in 0..<n { column[i] = scores[i * n + j] }
            if column.withUnsafeBufferPointer({ Similarity.argmax($0.baseAddress!, count: n) }) == j { backward += 1 }
        }
        let a = 100 * Double(forward) / Double(n), b = 100 * Double(backward) / Double(n)
        return Result(dim: d, sourceToTarget: a, targetToSource: b, average: (a + b) / 2)
    }
}
