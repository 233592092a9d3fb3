/// How close to the base counts as "the same as the base" (issue 15's criterion): differences
/// within 0.002 of a [0, 1] metric (nDCG@10) are ties; correlations, reported ×100, get 0.2.
/// One place, so the trainer's selection, its run report and `tasklora eval --compare-base` judge
/// "below the base" alike. Whether a difference is more than noise is `PairedBootstrap`'s question.
public enum TieMargin {
    /// In [0, 1] metric units.
    public static let value = 0.002

    /// 100 for the correlations, which are reported ×100; 1 for the ranking metrics.
    public static func scale(_ metric: String) -> Double {
        metric == "spearman" || metric == "pearson" ? 100 : 1
    }

    /// The margin in the metric's own units.
    public static func margin(_ metric: String) -> Double { value * scale(metric) }

    /// `gain` (adapter − base, in the metric's units) is below the base beyond the margin.
    public static func isBelow(gain: Double, metric: String) -> Bool { gain < -margin(metric) }
}
