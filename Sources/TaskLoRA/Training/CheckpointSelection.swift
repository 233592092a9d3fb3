import Foundation

/// `eval.select`: how an evaluation over several dev sets and dims becomes the one number that
/// best.h5 and early stopping follow.
public enum SelectionRule: String, RecipeChoice, Sendable {
    /// The mean of the metric over every dev set and evaluated dim.
    case mean
    /// Protects the weakest set instead of trading it for the others: an evaluation below the base
    /// model with its native prompts on some dev set and dim (beyond the tie margin) ranks by its
    /// smallest gain, below every evaluation that is not; those rank by their mean gain.
    case minGain = "min_gain"
}

/// The adapter against the base at its best (the base model with its native prompts) on one dev
/// set at one dim.
public struct BaseGain: Equatable, Sendable {
    public var dev: String
    public var dim: Int
    public var metric: String
    public var base: Double
    public var adapter: Double
    public var gain: Double { adapter - base }

    /// Below the base beyond the tie margin (0.002 in [0, 1] units; 0.2 for Spearman ×100).
    public var isBelowBase: Bool { TieMargin.isBelow(gain: gain, metric: metric) }

    var jsonObject: [String: Any] {
        ["dev": dev, "dim": dim, "metric": metric, "base": base, "adapter": adapter, "gain": gain]
    }
}

public enum CheckpointSelection {
    /// Every (dev set, dim) the adapter and the base were both scored on.
    public static func gains(_ dev: [DevScores], base: [DevScores]) -> [BaseGain] {
        var out: [BaseGain] = []
        for scores in dev {
            guard let b = base.first(where: { $0.name == scores.name }) else { continue }
            for d in scores.dims {
                guard let a = scores.value(d), let bv = b.value(d) else { continue }
                out.append(BaseGain(dev: scores.name, dim: d, metric: scores.metric, base: bv, adapter: a))
            }
        }
        return out
    }

    /// The selection score, in the units of the first dev set's metric (so a single dev set keeps
    /// its metric's scale; other sets are converted to it). `mean` with one dev set and one dim is
    /// that metric itself. `min_gain` without a base evaluation falls back to `mean`.
    public static func score(_ rule: SelectionRule, dev: [DevScores], base: [DevScores]?) -> Double {
        guard let first = dev.first else { return .nan }
        let unit = TieMargin.scale(first.metric)
        switch rule {
        case .minGain:
            if let base {
                let g = gains(dev, base: base)
                if !g.isEmpty {
                    // Below the base somewhere (beyond the tie margin): ranked by the smallest gain,
                    // under every evaluation that is not. At or above it everywhere: by the mean gain,
                    // so ties with the base do not keep step 0 over a checkpoint that is better elsewhere.
                    let converted = g.map { $0.gain * unit / TieMargin.scale($0.metric) }
                    if g.contains(where: \.isBelowBase) { return converted.min()! - unit }
                    return converted.reduce(0, +) / Double(converted.count)
                }
            }
            return score(.mean, dev: dev, base: nil)
        case .mean:
            var sum = 0.0, count = 0
            for s in dev {
                for d in s.dims {
                    guard let v = s.value(d) else { continue }
                    sum += v * unit / TieMargin.scale(s.metric)
                    count += 1
                }
            }
            return count == 0 ? .nan : sum / Double(count)
        }
    }

    /// One line per (dev set, dim) below the base, in plain words.
    public static func describe(_ below: [BaseGain]) -> String {
        below.map { g in
            String(format: "%@ at dim %d: %@ %.4f vs base %.4f (%+.4f)", g.dev, g.dim, g.metric, g.adapter, g.base, g.gain)
        }.joined(separator: "; ")
    }
}
