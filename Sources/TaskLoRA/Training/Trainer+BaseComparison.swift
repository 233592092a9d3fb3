import Foundation

/// The base at its best: the base model with its native prompts (adapters off) is evaluated at
/// step 0 on every dev set and dim; every evaluation records its gain over it, and a run whose
/// best checkpoint ends below it says so in the log, in metrics.jsonl and in the report.
extension Trainer {
    /// Sets `baseScores`. When every adapter starts as the identity and embeds with its role's
    /// native prompt, the step-0 scores are the base's and no second pass is needed.
    func establishBase(stepZero: [DevScores]?) throws {
        let identity = recipe.adapters.allSatisfy { $0.initFrom == nil }
        let nativeSides = DevEvaluation.Sides(
            query: .init(prefix: nativePrompts.prompt(.query), adapter: nil),
            passage: .init(prefix: nativePrompts.prompt(.passage), adapter: nil),
            symmetric: .init(prefix: nativePrompts.prompt(.symmetric), adapter: nil))
        let usesSymmetric = data.dev.contains { if case .sts = $0.set { return true } else { return false } }
        let usesRetrieval = data.dev.contains { if case .retrieval = $0.set { return true } else { return false } }
        // Only the sides the dev sets use must match.
        let same = (!usesRetrieval || (recipe.prefix(ofAdapter: anchorAdapter) == nativeSides.query.prefix
                                           && recipe.prefix(ofAdapter: positiveAdapter) == nativeSides.passage.prefix))
            && (!usesSymmetric || recipe.prefix(ofAdapter: anchorAdapter) == nativeSides.symmetric.prefix)
        if let stepZero, identity, same {
            baseScores = stepZero
        } else {
            baseScores = try evaluateDev(sides: nativeSides)
        }
        guard let base = baseScores else { return }
        for s in base {
            log("base       \(s.name) with native prompts: \(s.metric) by dim  " + s.dims.map { d in
                String(format: "%d: %.4f", d, s.value(d) ?? .nan)
            }.joined(separator: "  "))
        }
        if let stepZero, !(same) {
            // The cost of the recipe's own prompts, measured before any training.
            let cost = CheckpointSelection.gains(stepZero, base: base)
            let worst = cost.min { $0.gain < $1.gain }
            log("prompts    the recipe's prefixes at step 0 vs the base's native prompts: "
                + (worst.map { String(format: "worst %+.4f (%@ at dim %d)", $0.gain, $0.dev, $0.dim) } ?? "no common dev set"))
        }
    }

    /// Logs where the recipe's prefixes come from: the native prompts, or an explicit choice.
    func logPrompts(differing: [Recipe.PromptChoice]) {
        log("prompts    native (\(nativePrompts.origin)): " + (nativePrompts.isEmpty ? "none" : NativePrompts.Role.allCases.map {
            "\($0.rawValue) \"\(nativePrompts.prompt($0))\""
        }.joined(separator: ", ")))
        for d in differing {
            log("prompts    \(d.adapter) (\(d.role.rawValue) side) uses \"\(d.prefix)\" instead of the base's native \"\(d.native)\"; "
                + "the step-0 evaluation measures what that costs")
        }
    }

    /// At the end of a run: the best (selected) evaluation against the base on every dev set and
    /// dim. Below it beyond the tie margin: a warning in the log and a `below_base` record.
    func checkAgainstBase() throws {
        guard let base = baseScores, let scores = bestScores, let best else { return }
        let below = CheckpointSelection.gains(scores, base: base).filter(\.isBelowBase)
        let which = "step \(best.step)" + (best.strength == 1 ? "" : ", adapter strength \(best.strength)")
        if below.isEmpty {
            log("base check the best checkpoint (\(which)) is at or above the base model with its native prompts on every dev set and dim (ties within \(TieMargin.value))")
            return
        }
        log("WARNING    the best checkpoint (\(which)) is BELOW the base model with its native prompts on "
            + "\(below.count) dev set/dim pair\(below.count == 1 ? "" : "s"): " + CheckpointSelection.describe(below))
        // Is it more than a few items? The paired bootstrap over each set's queries (pairs), from the
        // per-item scores kept in memory since step 0 (not across a resume).
        let paired: [PairedDifference?] = below.map { g in
            guard let a = scores.first(where: { $0.name == g.dev }), let b = base.first(where: { $0.name == g.dev }) else { return nil }
            return a.paired(against: b, dim: g.dim)
        }
        let tested = zip(below, paired).compactMap { g, p in p.map { (g, $0) } }
        if tested.isEmpty {
            log("WARNING    per-item scores are not kept across a resume: `tasklora eval --compare-base` on best.h5 "
                + "says which of these are more than a few items (a paired bootstrap interval per set and dim)")
        } else {
            let significant = tested.filter { $0.1.isSignificantlyBelow }
            log("WARNING    paired bootstrap over the items (95 %): \(significant.count) of \(tested.count) significantly below the base"
                + (significant.isEmpty ? " (each difference is within what a few items move)"
                   : ": " + significant.map { "\($0.0.dev) at dim \($0.0.dim)" }.joined(separator: ", ")))
        }
        let records = zip(below, paired).map { g, p -> [String: Any] in
            var o = g.jsonObject
            if let p { o["paired"] = p.jsonObject }
            return o
        }
        try run.appendMetrics(["step": step, "event": "below_base", "best_step": best.step, "best_strength": best.strength,
                               "select": recipe.eval.select.rawValue, "below": records])
    }
}

extension EvalReport {
    /// One line per dev set: the metric by dim, with the gain over the base in parentheses.
    public var summaryLines: [String] {
        devLines + otherStrengths.map { r in
            let below = r.gains.filter(\.isBelowBase).count
            return String(format: "strength %g: score %.4f, %@", r.strength, r.value,
                          below == 0 ? "at or above the base everywhere" : "below the base on \(below) dev set/dim pair\(below == 1 ? "" : "s")")
        }
    }

    private var devLines: [String] {
        dev.map { s in
            "\(s.name): \(s.metric) by dim  " + s.dims.map { d in
                let v = String(format: "%d: %.4f", d, s.value(d) ?? .nan)
                guard let g = gains.first(where: { $0.dev == s.name && $0.dim == d }) else { return v }
                return v + String(format: " (%+.4f%@)", g.gain, g.isBelowBase ? " below base" : "")
            }.joined(separator: "  ")
        }
    }
}

/// `loss.base_consistency`: the training batch embedded by the frozen base, and the term's value
/// and gradient added to the task loss's.
extension Trainer {
    /// Pooled base embeddings (rows, H) of the batches, in order: adapters off, no dropout, no tape.
    func basePooledEmbeddings(_ batches: [TokenBatch]) -> Tensor {
        let h = encoder.config.hiddenSize
        let out = Tensor(zeros: [batches.reduce(0) { $0 + $1.sequenceCount }, h])
        var row = 0
        for b in batches {
            let hidden = encoder.forward(b, adapters: nil, training: false)
            pooling.forward(hidden: hidden.data, batch: b, hiddenSize: h, pooled: out.data + row * h)
            row += b.sequenceCount
        }
        return out
    }

    /// Adds weight · mean (1 − cos)² over the full embedding to dPooled; returns its value.
    func baseConsistency(_ pooled: Tensor, _ base: Tensor, dPooled: Tensor) -> Float {
        let rows = pooled.shape[0], h = pooled.shape[1]
        return BaseConsistencyLoss.loss(pooled: pooled.data, base: base.data, rows: rows, hiddenSize: h, dim: h,
                                        weight: Float(recipe.loss.baseConsistency), gradient: dPooled.data)
    }

    /// The consistency term as the loss of the whole (global) batch: with a data-parallel `share`,
    /// this rank's rows are weighted by rows / global rows, so that the ranks' gradients sum to the
    /// gradient of the mean over the global batch, and the value is the ranks' terms summed in rank
    /// order (the same on every rank).
    func baseConsistencyTerm(_ pooled: Tensor, _ base: Tensor, dPooled: Tensor, share: GlobalBatch?) throws -> Float {
        guard let share, share.size > 1 else { return baseConsistency(pooled, base, dPooled: dPooled) }
        let rows = pooled.shape[0], h = pooled.shape[1]
        var value: Float = 0
        if rows > 0 {
            let weight = Float(recipe.loss.baseConsistency) * Float(rows) / Float(share.totalRows)
            value = BaseConsistencyLoss.loss(pooled: pooled.data, base: base.data, rows: rows, hiddenSize: h, dim: h,
                                             weight: weight, gradient: dPooled.data)
        }
        var all = [Float](repeating: 0, count: share.size)
        try communicator.allGather(&value, counts: Array(repeating: 1, count: share.size), into: &all, what: "the base-consistency term")
        return all.reduce(0, +)
    }
}
