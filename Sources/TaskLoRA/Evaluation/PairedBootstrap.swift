/// Is an adapter really above or below the base on a dev set, or is the difference a few items?
///
/// Both systems are scored on the same items (the queries of a retrieval set, the pairs of an STS
/// set), so the honest interval is a *paired* bootstrap: resample the items with replacement, score
/// both systems on each resample, and take the 2.5th and 97.5th percentiles of the difference
/// (Efron & Tibshirani's percentile interval). `tasklora eval --compare-base` puts one beside every
/// difference from the base, and a run whose best checkpoint is below the base gets one per pair
/// below (the trainer's final base check). On a 162-query set one question
/// falling from rank 1 to rank 2 moves nDCG@10 by 0.0023, more than the 0.002 tie margin
/// (`TieMargin`); the interval says whether a difference is larger than such noise.
public struct PairedDifference: Codable, Equatable, Sendable {
    /// adapter − base on all the items (the point estimate; what the tie margin judges).
    public var difference: Double
    /// The percentile interval of the difference over the resamples.
    public var lower: Double, upper: Double
    /// 0.95 for a 95 % interval.
    public var confidence: Double
    /// How many items scored lower / higher with the adapter (per-item metrics only; nil for a
    /// correlation, which has no per-item score).
    public var worse: Int?, better: Int?
    public var items: Int
    public var resamples: Int

    /// The whole interval is below 0.
    public var isSignificantlyBelow: Bool { upper < 0 }
    /// The whole interval is above 0.
    public var isSignificantlyAbove: Bool { lower > 0 }

    /// "significantly below", "significantly above" or "not significant".
    public var verdict: String {
        isSignificantlyBelow ? "significantly below" : isSignificantlyAbove ? "significantly above" : "not significant"
    }

    enum CodingKeys: String, CodingKey { case difference, lower, upper, confidence, worse, better, items, resamples }

    /// For a metrics.jsonl record (the Codable keys, and the verdict in words).
    public var jsonObject: [String: Any] {
        var o: [String: Any] = ["difference": difference, "lower": lower, "upper": upper, "confidence": confidence,
                                "items": items, "resamples": resamples, "verdict": verdict]
        if let worse { o["worse"] = worse }
        if let better { o["better"] = better }
        return o
    }
}

public enum PairedBootstrap {
    /// A metric that is the mean of per-item scores (nDCG@10 per query): `adapter[i]` and `base[i]`
    /// are item i's scores. Each resample's difference is the mean of the resampled differences.
    public static func meanDifference(adapter: [Double], base: [Double], resamples: Int = 10_000,
                                      confidence: Double = 0.95, seed: UInt64 = 0) -> PairedDifference {
        precondition(adapter.count == base.count && !adapter.isEmpty, "paired scores need equally many items, at least 1")
        let d = zip(adapter, base).map { $0 - $1 }
        let n = d.count
        var rng = SplitMix64(seed: seed)
        var means = [Double](repeating: 0, count: resamples)
        for r in 0..<resamples {
            var s = 0.0
            for _ in 0..<n { s += d[index(&rng, n)] }
            means[r] = s / Double(n)
        }
        let (lower, upper) = interval(means, confidence: confidence)
        return PairedDifference(difference: d.reduce(0, +) / Double(n), lower: lower, upper: upper, confidence: confidence,
                                worse: d.filter { $0 < 0 }.count, better: d.filter { $0 > 0 }.count,
                                items: n, resamples: resamples)
    }

    /// A statistic of the whole item set (Spearman ×100 of cosine vs gold): `statistic(items)` scores
    /// one system on the items at those indices (repeats allowed); the difference is
    /// `adapter(items) − base(items)` on the same resample.
    public static func statisticDifference(items n: Int, adapter: ([Int]) -> Double, base: ([Int]) -> Double,
                                           resamples: Int = 2_000, confidence: Double = 0.95,
                                           seed: UInt64 = 0) -> PairedDifference {
        precondition(n > 0, "paired scores need at least 1 item")
        var rng = SplitMix64(seed: seed)
        var diffs = [Double](repeating: 0, count: resamples)
        var sample = [Int](repeating: 0, count: n)
        for r in 0..<resamples {
            for i in 0..<n { sample[i] = index(&rng, n) }
            diffs[r] = adapter(sample) - base(sample)
        }
        let all = Array(0..<n)
        let (lower, upper) = interval(diffs.filter { $0.isFinite }, confidence: confidence)
        return PairedDifference(difference: adapter(all) - base(all), lower: lower, upper: upper, confidence: confidence,
                                worse: nil, better: nil, items: n, resamples: resamples)
    }

    /// Uniform in 0..<n without modulo bias worth speaking of (n ≪ 2⁶⁴).
    @inline(__always) private static func index(_ rng: inout SplitMix64, _ n: Int) -> Int {
        Int(rng.next().multipliedFullWidth(by: UInt64(n)).high)
    }

    /// The percentile interval of `values` (linear interpolation between order statistics, as
    /// numpy's default `percentile`).
    static func interval(_ values: [Double], confidence: Double) -> (lower: Double, upper: Double) {
        let v = values.sorted()
        func percentile(_ p: Double) -> Double {
            guard !v.isEmpty else { return .nan }
            let x = p * Double(v.count - 1)
            let i = Int(x.rounded(.down)), j = min(i + 1, v.count - 1)
            return v[i] + (x - Double(i)) * (v[j] - v[i])
        }
        let tail = (1 - confidence) / 2
        return (percentile(tail), percentile(1 - tail))
    }
}
