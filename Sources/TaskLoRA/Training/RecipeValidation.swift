import Foundation

/// Range and consistency checks. Each failure names the key path, the rule and the value.
extension Recipe {
    func check() throws {
        try require(!model.isEmpty, "model", "must name a tasklora .h5 checkpoint")
        try require(!output.isEmpty, "output", "must name a run directory")
        try require(seed >= 0, "seed", "must be >= 0, got \(seed)")
        try checkAdapters()
        try checkLoss()
        try checkData()
        try checkOptimizer()
        try checkSchedule()

        try require(eval.every >= 0, "eval.every", "must be >= 0 (0 = at the end only), got \(eval.every)")
        try checkDims(eval.dims, "eval.dims")
        try require(eval.earlyStoppingPatience >= 0, "eval.early_stopping_patience", "must be >= 0, got \(eval.earlyStoppingPatience)")
        try require(eval.strengths.allSatisfy { $0 > 0 && $0 <= 1 }, "eval.strengths",
                    "each must be in (0, 1] (0 is the base, scored at step 0; 1 the adapter as trained), got \(eval.strengths)")
        try require(eval.strengths.contains(1), "eval.strengths",
                    "must include 1, the adapter as trained (final.h5), got \(eval.strengths)")
        try require(Set(eval.strengths).count == eval.strengths.count, "eval.strengths", "has a value twice: \(eval.strengths)")
        if data.dev.isEmpty, data.heldOut == 0 {
            try require(eval.every == 0, "eval.every", "needs a dev set (data.dev or data.held_out)")
            try require(eval.earlyStoppingPatience == 0, "eval.early_stopping_patience", "needs a dev set (data.dev or data.held_out)")
        }
        try require(save.every >= 0, "save.every", "must be >= 0 (0 = at the end only), got \(save.every)")
        try require(save.keepLast >= 1, "save.keep_last", "must be >= 1, got \(save.keepLast)")
        try require(precision != .int8, "precision", "int8 is inference only (embed, eval, mine --precision int8); training runs at fp32 or bf16")
        if let base = rotaryBase {
            try require(base > 1 && base.isFinite, "rotary_base", "must be > 1, got \(base)")
        }
    }

    private func checkAdapters() throws {
        try require(!adapters.isEmpty, "adapters", "must list at least one adapter")
        var seen = Set<String>()
        for (i, a) in adapters.enumerated() {
            let key = "adapters.\(i)"
            try require(!a.name.isEmpty && !a.name.contains("/") && a.name != ".", "\(key).name",
                        "must be a non-empty name without \"/\", got \"\(a.name)\"")
            try require(seen.insert(a.name).inserted, "\(key).name", "\"\(a.name)\" is used by two adapters")
            try require(a.rank >= 1, "\(key).rank", "must be >= 1, got \(a.rank)")
            try require(a.alpha > 0 && a.alpha.isFinite, "\(key).alpha", "must be > 0, got \(a.alpha)")
            try require(a.dropout >= 0 && a.dropout < 1, "\(key).dropout", "must be in [0, 1), got \(a.dropout)")
            try require(!a.targets.isEmpty, "\(key).targets", "must list at least one module")
            try require(Set(a.targets).count == a.targets.count, "\(key).targets", "lists a module twice")
            let separate = a.targets.contains { [.query, .key, .value].contains($0) }
            try require(!(a.targets.contains(.qkv) && separate), "\(key).targets", "qkv overlaps query/key/value; choose one")
            if let from = a.initFrom {
                try require(!from.isEmpty, "\(key).init_from", "must name an adapter in the model checkpoint")
            }
        }
    }

    private func checkLoss() throws {
        try require(loss.temperature > 0 && loss.temperature.isFinite, "loss.temperature", "must be > 0, got \(loss.temperature)")
        try require(loss.baseConsistency >= 0 && loss.baseConsistency.isFinite, "loss.base_consistency",
                    "must be >= 0 (0 = off), got \(loss.baseConsistency)")
        try require(loss.hardNegatives >= 0, "loss.hard_negatives", "must be >= 0, got \(loss.hardNegatives)")
        if loss.type != .infonce {
            try require(loss.hardNegatives == 0, "loss.hard_negatives", "applies to loss type infonce only")
            try require(!loss.reverse, "loss.reverse", "applies to loss type infonce only")
            try require(!loss.symmetric, "loss.symmetric", "applies to loss type infonce only")
        }
        if let m = loss.matryoshka {
            try require(!m.dims.isEmpty, "loss.matryoshka.dims", "must list at least one dimension")
            try checkDims(m.dims, "loss.matryoshka.dims")
            try require(m.weights.count == m.dims.count, "loss.matryoshka.weights",
                        "needs one weight per dimension (\(m.dims.count)), got \(m.weights.count)")
            try require(m.weights.allSatisfy { $0 >= 0 && $0.isFinite } && m.weights.contains { $0 > 0 },
                        "loss.matryoshka.weights", "must be >= 0 and not all 0, got \(m.weights)")
        }
    }

    private func checkData() throws {
        try require(!data.train.isEmpty, "data.train", "must list at least one file")
        for (i, path) in data.train.enumerated() {
            try require(!path.isEmpty, "data.train.\(i)", "is an empty path")
        }
        try checkDevSets()
        let names = adapters.map(\.name)
        for (key, name) in [("data.anchor_adapter", data.anchorAdapter), ("data.positive_adapter", data.positiveAdapter)] {
            try require(names.contains(name), key, "\"\(name)\" is not one of the adapters (\(names.joined(separator: ", ")))")
        }
        try require(data.maxLength >= 3, "data.max_length", "must be >= 3 (two special tokens and a word), got \(data.maxLength)")
        // In-batch losses compare examples with each other: one example gives no signal.
        let minBatch = loss.type == .classification ? 1 : 2
        try require(data.batchSize >= minBatch, "data.batch_size",
                    "must be >= \(minBatch) for loss \(loss.type.rawValue), got \(data.batchSize)")
        try require(data.scoreScale > 0 && data.scoreScale.isFinite, "data.score_scale", "must be > 0, got \(data.scoreScale)")
        try require((0..<1).contains(data.heldOut), "data.held_out", "must be in [0, 1), got \(data.heldOut)")
        if let weights = data.weights {
            try require(data.batches == .perSource, "data.weights", "applies to data.batches: per_source (batches now mix the files)")
            try require(weights.count == data.train.count, "data.weights",
                        "has \(weights.count) weight\(weights.count == 1 ? "" : "s") for \(data.train.count) training file\(data.train.count == 1 ? "" : "s"); give one per file, in data.train's order")
            try require(weights.allSatisfy { $0.isFinite && $0 >= 0 } && weights.contains { $0 > 0 }, "data.weights",
                        "must be non-negative numbers, not all 0; got \(weights)")
        }
    }

    private func checkDevSets() throws {
        var names = Set<String>()
        for (i, d) in data.dev.enumerated() {
            let key = "data.dev.\(i)"
            try require((d.path == nil) != (d.heldOut == nil), key, "must name a file (path) or held_out, not both")
            if let path = d.path { try require(!path.isEmpty, key, "is an empty path (leave it out for no dev set)") }
            if let mode = d.heldOut {
                try require(data.heldOut > 0, "\(key).held_out", "needs data.held_out > 0 (the fraction to hold out)")
                if mode == .cross {
                    try require(data.train.count >= 2, "\(key).held_out", "cross needs at least two training files")
                }
                try require(d.format == nil, "\(key).format", "applies to files, not held_out")
            }
            if let name = d.name {
                try require(!name.isEmpty, "\(key).name", "is empty")
                try require(names.insert(name).inserted, "\(key).name", "\"\(name)\" names two dev sets")
            }
        }
    }

    private func checkOptimizer() throws {
        let o = optimizer
        try require(o.lr > 0 && o.lr.isFinite, "optimizer.lr", "must be > 0, got \(o.lr)")
        try require(o.weightDecay >= 0 && o.weightDecay.isFinite, "optimizer.weight_decay", "must be >= 0, got \(o.weightDecay)")
        try require(o.betas.count == 2, "optimizer.betas", "must be two numbers [beta1, beta2], got \(o.betas)")
        for (i, b) in o.betas.enumerated() {
            try require(b >= 0 && b < 1, "optimizer.betas.\(i)", "must be in [0, 1), got \(b)")
        }
        try require(o.eps > 0 && o.eps.isFinite, "optimizer.eps", "must be > 0, got \(o.eps)")
        try require(o.gradClip >= 0 && o.gradClip.isFinite, "optimizer.grad_clip", "must be >= 0 (0 = off), got \(o.gradClip)")
        try require(o.gradAccumulation >= 1, "optimizer.grad_accumulation", "must be >= 1, got \(o.gradAccumulation)")
        try require(o.gradcacheChunk >= 0, "optimizer.gradcache_chunk", "must be >= 0 (0 = off), got \(o.gradcacheChunk)")
        try require(o.gradcacheChunk <= data.batchSize, "optimizer.gradcache_chunk",
                    "must be at most data.batch_size (\(data.batchSize)), got \(o.gradcacheChunk)")
    }

    private func checkSchedule() throws {
        let s = schedule
        try require(s.steps >= 1, "schedule.steps", "must be >= 1, got \(s.steps)")
        try require(s.warmupSteps == nil || s.warmupRatio == nil, "schedule.warmup_steps",
                    "give warmup_steps or warmup_ratio, not both")
        if let w = s.warmupSteps {
            try require(w >= 0 && w <= s.steps, "schedule.warmup_steps", "must be in [0, schedule.steps = \(s.steps)], got \(w)")
        }
        if let r = s.warmupRatio {
            try require(r >= 0 && r <= 1, "schedule.warmup_ratio", "must be in [0, 1], got \(r)")
        }
        try require(s.minLRRatio >= 0 && s.minLRRatio <= 1, "schedule.min_lr_ratio", "must be in [0, 1], got \(s.minLRRatio)")
    }

    private func checkDims(_ dims: [Int], _ key: String) throws {
        try require(dims.allSatisfy { $0 > 0 }, key, "must be positive, got \(dims)")
        try require(zip(dims, dims.dropFirst()).allSatisfy { $0 < $1 }, key, "must be strictly ascending, got \(dims)")
    }

    func check(against config: EncoderConfig) throws {
        let h = config.hiddenSize
        for (i, a) in adapters.enumerated() {
            do {
                try a.lora.validate(config: config)
            } catch let error as TaskLoRAError {
                throw RecipeIssue("adapters.\(i)", "adapters.\(i) (\(a.name)): \(error.message)")
            }
        }
        if let m = loss.matryoshka, let top = m.dims.last {
            try require(top <= h, "loss.matryoshka.dims", "\(top) exceeds the model's embedding size \(h)")
        }
        if let top = eval.dims.last {
            try require(top <= h, "eval.dims", "\(top) exceeds the model's embedding size \(h)")
        }
        if rotaryBase != nil {
            try require(config.isRotary, "rotary_base", "applies to rotary models only; this model has \(config.positionEmbeddingType) positions")
        }
        try require(data.maxLength <= config.maxSequenceLength, "data.max_length",
                    "\(data.maxLength) exceeds the model's \(config.maxSequenceLength) positions")
    }
}

/// Throws "`key` `rule`" unless `condition` holds.
private func require(_ condition: Bool, _ key: String, _ rule: String) throws {
    if !condition { throw RecipeIssue(key, "\(key) \(rule)") }
}

extension Recipe {
    /// The files a run reads, with the key that names each (paths as written, relative to the
    /// working directory, which is the repository root for the example recipes).
    public var inputFiles: [(key: String, path: String)] {
        [("model", model)] + data.train.enumerated().map { ("data.train.\($0.offset)", $0.element) }
            + data.dev.enumerated().compactMap { i, d in d.path.map { ("data.dev.\(i)", $0) } }
    }

    /// Fails on the first input file that does not exist, naming its key, and for the files the
    /// repository's scripts provide (the public data sets under data/, the default base checkpoint
    /// under checkpoints/), the script to run.
    public func checkInputs(root: String = FileManager.default.currentDirectoryPath, source: String = "recipe") throws {
        for (key, path) in inputFiles {
            let full = path.hasPrefix("/") ? path : (root as NSString).appendingPathComponent(path)
            guard FileManager.default.fileExists(atPath: full) else {
                throw TaskLoRAError.file(source, "\(key): no such file \(path)\(Self.howToGet(path))")
            }
        }
    }

    /// Where a missing input of the shipped recipes comes from, as a parenthesis ("" otherwise).
    static func howToGet(_ path: String) -> String {
        if path.hasPrefix("data/") { return " (run scripts/get-data.sh from the repository root to fetch the recipes' data)" }
        if path.hasPrefix("checkpoints/") { return " (scripts/quickstart.sh imports the default base; or tasklora import)" }
        return ""
    }
}
