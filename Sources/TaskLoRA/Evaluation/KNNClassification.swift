/// k-nearest-neighbour classification on labelled texts: each test text takes the majority label of
/// its k most similar training texts (cosine; equal similarities: lower training index first). Equal
/// vote counts go to the tied label whose nearest member ranks first. Leave-one-out when there is no
/// separate test set: every text is classified by the others.
public enum KNNClassification {
    public struct Result: Codable, Equatable, Sendable {
        public var dim: Int
        /// Accuracy ×100.
        public var accuracy: Double
        /// Macro-averaged F1 ×100 over the labels of the test set.
        public var macroF1: Double

        enum CodingKeys: String, CodingKey { case dim, accuracy, macroF1 = "macro_f1" }
    }

    /// `train` (N, d) with `trainLabels`; `test` (M, d) with `testLabels`, or nil for leave-one-out.
    public static func evaluate(train: Tensor, trainLabels: [Int], test: Tensor?, testLabels: [Int]?, k: Int) -> Result {
        let n = train.shape[0], d = train.shape[1]
        let queries = test ?? train
        let labels = testLabels ?? trainLabels
        let m = queries.shape[0]
        precondition(trainLabels.count == n && labels.count == m && k >= 1)
        let trainD = Similarity.double(train)
        var predicted: [Int] = []
        predicted.reserveCapacity(m)
        let block = 256
        for start in Swift.stride(from: 0, to: m, by: block) {
            let rows = start..<min(start + block, m)
            let scores = Similarity.scores(Similarity.double(queries, rows: rows), rows: rows.count, trainD, count: n, dim: d)
            scores.withUnsafeBufferPointer { s in
                for (r, qi) in rows.enumerated() {
                    let neighbours = Similarity.topK(s.baseAddress! + r * n, count: n, k: k,
                                                     excluding: test == nil ? qi : nil)
                    predicted.append(vote(neighbours.map { trainLabels[$0] }))
                }
            }
        }
        return score(predicted: predicted, gold: labels, dim: d)
    }

    /// Majority label of neighbour labels ordered nearest first; ties → the label seen first.
    public static func vote(_ labels: [Int]) -> Int {
        var counts: [Int: Int] = [:]
        for l in labels { counts[l, default: 0] += 1 }
        let top = counts.values.max() ?? 0
        return labels.first { counts[$0] == top } ?? -1
    }

    static func score(predicted: [Int], gold: [Int], dim: Int) -> Result {
        let correct = zip(predicted, gold).filter { $0 == $1 }.count
        var f1s: [Double] = []
        for label in Set(gold).sorted() {
            let tp = Double(zip(predicted, gold).filter { $0 == label && $1 == label }.count)
            let fp = Double(zip(predicted, gold).filter { $0 == label && $1 != label }.count)
            let fn = Double(zip(predicted, gold).filter { $0 != label && $1 == label }.count)
            f1s.append(tp == 0 ? 0 : 2 * tp / (2 * tp + fp + fn))
        }
        return Result(dim: dim, accuracy: gold.isEmpty ? 0 : 100 * Double(correct) / Double(gold.count),
                      macroF1: f1s.isEmpty ? 0 : 100 * f1s.reduce(0, +) / Double(f1s.count))
    }
}
