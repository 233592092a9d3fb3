import Foundation

/// What the trainer reports after every optimizer step.
public struct TrainingProgress: Sendable {
    public var step: Int, totalSteps: Int
    public var loss: Double, lr: Double, gradNorm: Double
    public var tokensPerSecond: Double
    public var elapsed: Double
    public var skipped: Bool
}

/// One evaluation on the dev sets: each set's metrics at each Matryoshka dim, and the adapter
/// against the base model with its native prompts.
public struct EvalReport: Sendable {
    public var step: Int
    /// The first dev set's metric.
    public var metric: String
    /// The first dev set's scores: dim → metric name → value (Spearman ×100, or nDCG@10 and
    /// friends in [0, 1]).
    public var byDim: [Int: [String: Double]]
    /// The `eval.select` score (CheckpointSelection): what "best" and early stopping follow.
    public var value: Double
    /// Every dev set, in `data.dev` order.
    public var dev: [DevScores]
    /// Adapter − base (native prompts) per dev set and dim; empty before the base is evaluated.
    public var gains: [BaseGain]
    /// The adapter strength λ scored (`eval.strengths`); 1 = the adapters as trained.
    public var strength: Double = 1
    /// The same step at the recipe's other strengths (on the λ = 1 report only).
    public var otherStrengths: [EvalReport] = []

    /// This report or one of its other strengths: the highest selection score, the larger λ on ties.
    public var selected: EvalReport {
        otherStrengths.reduce(self) { $1.value > $0.value ? $1 : $0 }
    }
}

/// Trains the recipe's LoRA adapters on a frozen base model: sampler → tokenizer → taped encoder
/// pass → pooling → (Matryoshka) loss → backward → clipping → AdamW, with periodic evaluation,
/// checkpoints that resume bit for bit, and NaN/Inf steps skipped.
public final class Trainer {
    public let recipe: Recipe
    public let run: RunDirectory
    public let encoder: TextEncoder
    public let tokenizer: TextTokenizer
    public let pooling: Pooling
    /// How the adapter files name the base: paths, size and checksum, so they find it from anywhere.
    public let baseModel: BaseModelReference
    public let adapters: LoRAAdapters
    public let data: TrainingData
    let optimizer: AdamW
    let schedule: LRSchedule
    var sampler: BatchSampler
    let anchorAdapter: Int, positiveAdapter: Int
    /// The base family's prompts per role (the checkpoint's `native_prompts`, or inferred).
    public let nativePrompts: NativePrompts
    /// The base model with its native prompts on every dev set: the baseline of every evaluation.
    public internal(set) var baseScores: [DevScores]?
    /// The dev scores of the best (selected) evaluation.
    public internal(set) var bestScores: [DevScores]?
    let tape = Tape()
    let log: (String) -> Void
    /// The job's processes (`SingleProcess` without a launcher). With more than one, every rank
    /// runs this trainer on its slice of each global micro-batch; rank 0 owns the outputs.
    public let communicator: Communicator
    /// Every this many steps (and at every save) the ranks compare checksums of their adapters.
    public var replicaCheckEvery = 50

    public private(set) var step = 0
    public private(set) var skippedSteps = 0
    var consecutiveNonFinite = 0
    /// The selected evaluation: its step, `eval.select` score and adapter strength (best.h5).
    public private(set) var best: (step: Int, value: Double, strength: Double)?
    var evalsWithoutImprovement = 0
    /// Stop after this many non-finite steps in a row.
    public var maxConsecutiveNonFinite = 5
    /// Test hook: makes the loss non-finite at these steps (numbered from 1, as in metrics.jsonl).
    public var injectNonFiniteAt: Set<Int> = []
    /// Test hook: simulates an interruption: `train` returns right after this step, with a
    /// checkpoint of it saved and no final.h5, as a run killed just after its checkpoint.
    public var stopAfterStep: Int?
    /// Set from another thread (SIGINT/SIGTERM in the CLI) to stop cleanly: `train` finishes the
    /// current step, saves a checkpoint of it and returns; `stoppedBy` then says why.
    public var stopRequest = StopRequest()
    /// The signal (0: a request from code) that stopped the last `train` call early, if one did.
    public private(set) var stoppedBy: Int32?
    /// The checkpoint the last `train` call wrote when it was stopped early.
    public private(set) var stopCheckpoint: String?

    /// - Parameter communicator: the job's processes; with more than one, every rank must construct
    ///   its trainer from the same recipe (and resume from the same run directory, on a shared
    ///   filesystem), and only rank 0 writes there.
    public init(recipe: Recipe, resume: Bool = false, communicator: Communicator = SingleProcess(),
                log: @escaping (String) -> Void = { _ in }) throws {
        try recipe.validate()
        self.communicator = communicator
        self.log = communicator.isRoot ? log : { _ in }
        // A bf16 base stays bf16 when training at bf16 (half the memory; EncoderWeights).
        let ckpt = try Checkpoint.read(path: recipe.model, keepBFloat16Matrices: recipe.precision != .fp32)
        nativePrompts = try NativePrompts(checkpoint: ckpt, source: recipe.model)
        // Left-out prefixes become the base's native prompts; the resolved recipe is what runs.
        let (resolved, differing) = recipe.resolvingPrefixes(nativePrompts)
        let recipe = resolved
        self.recipe = recipe
        run = communicator.isRoot || resume ? try RunDirectory(path: recipe.output, create: communicator.isRoot)
            : RunDirectory(referencing: recipe.output)
        encoder = try LoadedModel.loadEncoder(ckpt, path: recipe.model, precision: recipe.precision)
        try recipe.validate(against: encoder.config, source: "recipe")
        if let base = recipe.rotaryBase { encoder.rotaryBase = base }
        tokenizer = try LoadedModel.loadTokenizer(ckpt, path: recipe.model, whitespace: recipe.data.whitespace)
        pooling = Pooling(rawValue: ckpt.metadata["pooling"] ?? "mean") ?? .mean
        baseModel = try BaseModelReference(base: recipe.model, checkpoint: ckpt)
        adapters = try LoRAAdapters(names: recipe.adapters.map(\.name), configs: recipe.adapters.map(\.lora),
                                    model: encoder.config)
        for (i, a) in recipe.adapters.enumerated() {
            if let from = a.initFrom {
                guard let archive = ckpt.adapters[from] else {
                    throw TaskLoRAError.file(recipe.model, "has no adapter \"\(from)\" to initialize \(a.name) from")
                }
                try adapters.load(adapter: i, from: archive, source: recipe.model)
            } else {
                adapters.initialize(adapter: i, seed: UInt64(recipe.seed) &+ UInt64(i) &* 0x9E37)
            }
        }
        anchorAdapter = adapters.adapterIndex(recipe.data.anchorAdapter) ?? 0
        positiveAdapter = adapters.adapterIndex(recipe.data.positiveAdapter) ?? 0
        encoder.dropoutRNG = SplitMix64(seed: UInt64(recipe.seed) ^ 0xD809_0D0F)
        optimizer = AdamW(count: adapters.parameterCount, settings: recipe.optimizer)
        schedule = LRSchedule(recipe: recipe)
        data = try TrainingData.load(recipe: recipe)
        sampler = try data.makeSampler(recipe: recipe)
        self.log("model      \(recipe.model): \(encoder.config.modelType), \(encoder.config.numHiddenLayers) layers, hidden \(encoder.config.hiddenSize)"
            + (recipe.precision == .fp32 ? "" : ", frozen projections at \(recipe.precision.rawValue)"))
        self.log("adapters   " + recipe.adapters.enumerated().map { i, a in
            "\(a.name) (rank \(a.rank), alpha \(a.alpha), \(ParameterCount.format(adapters.parameterCount(adapter: i))) parameters)"
        }.joined(separator: ", "))
        self.log("train      \(data.train.count) examples (\(data.train.kind.rawValue)) from \(data.train.source)"
            + (data.train.skipped > 0 ? ", \(data.train.skipped) bad rows skipped" : ""))
        if recipe.data.batches == .perSource {
            let counts = Dictionary(grouping: data.trainSources.sourceOfExample, by: { $0 }).mapValues(\.count)
            self.log("batches    each from one file: " + data.trainSources.names.enumerated().map { i, name in
                "\(name) \(counts[i] ?? 0)" + (recipe.data.weights.map { " (weight \($0[i]))" } ?? "")
            }.joined(separator: ", "))
        }
        for d in data.dev { self.log("dev        \(d.name): \(d.set.summary)") }
        if communicator.size > 1 { self.log("ranks      \(communicator.size) (data-parallel over MPI; rank 0 writes the run)") }
        logPrompts(differing: differing)
        if resume { try restoreLatest() } else if communicator.isRoot { try run.startFresh(recipeYAML: recipe.resolvedYAML()) }
        try checkReplicas(what: "the start")
    }

    // MARK: - The loop

    /// Trains until the recipe's step count (or early stopping); returns the final report, if any.
    @discardableResult
    public func train(progress: (TrainingProgress) -> Void = { _ in },
                      evaluated: (EvalReport) -> Void = { _ in }) throws -> EvalReport? {
        let total = recipe.schedule.steps
        var last: EvalReport? = nil
        if step == 0, !data.dev.isEmpty {
            // Step 0: the adapters are still the identity, so this is the base model with the
            // recipe's prompts; the base with its native prompts is the baseline of every evaluation.
            let scores = try evaluateDev()
            try establishBase(stepZero: scores)
            let report = makeReport(scores)
            // If no later evaluation beats the base model, best.h5 is the identity adapters.
            if try record(report), recipe.save.keepBest { try save(to: run.bestPath) }
            evaluated(report)
        }
        // A run resumed from a checkpoint written before base scores were kept: evaluate the base now.
        if step > 0, baseScores == nil, !data.dev.isEmpty { try establishBase(stepZero: nil) }
        let started = Date()
        var stepsThisRun = 0
        while step < total {
            if let signal = try agreedStopSignal() {
                try stopCleanly(signal: signal)
                return last
            }
            let t0 = Date()
            let (loss, tokens, gradNorm, skipped) = try trainStep()
            stepsThisRun += 1
            let dt = Date().timeIntervalSince(t0)
            let p = TrainingProgress(step: step, totalSteps: total, loss: loss, lr: schedule.lr(step: step - 1),
                                     gradNorm: gradNorm, tokensPerSecond: Double(tokens) / max(dt, 1e-9),
                                     elapsed: Date().timeIntervalSince(started), skipped: skipped)
            if communicator.isRoot {
                try run.appendMetrics(["step": step, "loss": loss, "lr": p.lr, "grad_norm": gradNorm,
                                       "tokens_per_s": p.tokensPerSecond, "seconds": dt, "skipped": skipped,
                                       "world_size": communicator.size])
            }
            if replicaCheckEvery > 0, step % replicaCheckEvery == 0 { try checkReplicas(what: "step \(step)") }
            progress(p)
            let evalNow = !data.dev.isEmpty && ((recipe.eval.every > 0 && step % recipe.eval.every == 0) || step == total)
            if evalNow {
                let report = try evaluate()
                let improved = try record(report)
                evaluated(report)
                last = report
                if improved, recipe.save.keepBest { try save(to: run.bestPath, strength: report.selected.strength) }
                if recipe.eval.earlyStoppingPatience > 0, evalsWithoutImprovement >= recipe.eval.earlyStoppingPatience {
                    log("early stopping at step \(step): no improvement in \(evalsWithoutImprovement) evaluations")
                    try saveCheckpoint()
                    break
                }
            }
            let saveNow = (recipe.save.every > 0 && step % recipe.save.every == 0) || step == total
            if saveNow || step == stopAfterStep { try saveCheckpoint() }
            if step == stopAfterStep { return last }
        }
        try checkReplicas(what: "step \(step)")
        try checkAgainstBase()
        try save(to: run.finalPath)
        return last
    }

    /// One optimizer step over `grad_accumulation` micro-batches. Non-finite steps are skipped.
    func trainStep() throws -> (loss: Double, tokens: Int, gradNorm: Double, skipped: Bool) {
        adapters.zeroGradients()
        let accumulation = recipe.optimizer.gradAccumulation
        var loss = 0.0, tokens = 0
        for _ in 0..<accumulation {
            let sampled = try sampler.next()
            let texts = data.train.textBatch(sampled.indices, prefixes: recipe.prefixes)
            let batch = try TrainingBatch.make(texts, recipe: recipe, anchorAdapter: anchorAdapter,
                                               positiveAdapter: positiveAdapter)
            guard communicator.size > 1 else {
                let ids = tokenize(batch.texts)
                tokens += ids.reduce(0) { $0 + $1.count }
                loss += try forwardBackward(ids, adapterIDs: batch.adapters, loss: batch.loss,
                                            scale: 1 / Float(accumulation)) / Double(accumulation)
                continue
            }
            // Data-parallel: this rank's contiguous slice of the global micro-batch.
            let share = GlobalBatch(examples: texts.count, exampleOfRow: batch.exampleOfRow,
                                    rank: communicator.rank, size: communicator.size)
            let ids = tokenize(share.ownRows.map { batch.texts[$0] })
            tokens += ids.reduce(0) { $0 + $1.count }
            loss += try withRankDropoutStream {
                try forwardBackward(ids, adapterIDs: share.ownRows.map { batch.adapters[$0] }, loss: batch.loss,
                                    scale: 1 / Float(accumulation), share: share)
            } / Double(accumulation)
        }
        if communicator.size > 1 {
            // The LoRA gradients (and the token count) summed over ranks in rank order: every rank
            // then clips and steps AdamW on the same bits.
            try DeterministicAllReduce.sum(adapters.gradients, count: adapters.parameterCount, communicator: communicator,
                                           what: "the gradient all-reduce of step \(step + 1)")
            tokens = Int(try DeterministicAllReduce.sum([Int64(tokens)], communicator: communicator,
                                                        what: "the token count of step \(step + 1)")[0])
        }
        step += 1
        if injectNonFiniteAt.contains(step) { loss = .nan }
        guard loss.isFinite, GradientClipping.allFinite(adapters.gradients, count: adapters.parameterCount) else {
            skippedSteps += 1
            consecutiveNonFinite += 1
            log("step \(step): loss or gradients are not finite; step skipped (\(skippedSteps) so far)")
            if consecutiveNonFinite >= maxConsecutiveNonFinite {
                throw TaskLoRAError("training stopped at step \(step): \(consecutiveNonFinite) steps in a row had NaN/Inf loss or gradients; the last good checkpoint is \(run.latestCheckpoint() ?? "none")")
            }
            return (loss, tokens, .nan, true)
        }
        consecutiveNonFinite = 0
        let norm = GradientClipping.clip(adapters.gradients, count: adapters.parameterCount, maxNorm: recipe.optimizer.gradClip)
        optimizer.update(adapters, lr: schedule.lr(step: step - 1))
        return (loss, tokens, norm, false)
    }

    /// Loss of one micro-batch; adds `scale` × its gradient to the adapters' gradients.
    /// With `gradcache_chunk` set, the batch is embedded in chunks without the tape, the loss and its
    /// gradient w.r.t. the pooled embeddings computed on the whole batch, then each chunk re-run with
    /// the tape to back-propagate (GradCache): same gradients, memory of one chunk.
    ///
    /// With `share` (a data-parallel rank), `ids` are this rank's rows of the global micro-batch:
    /// their pooled embeddings are all-gathered, the loss and its gradient computed over the whole
    /// global batch, and only this rank's rows back-propagated.
    func forwardBackward(_ ids: [[Int32]], adapterIDs: [Int], loss: any EmbeddingLoss, scale: Float,
                         share: GlobalBatch? = nil) throws -> Double {
        let h = encoder.config.hiddenSize, rows = ids.count
        let dims = recipe.loss.matryoshka?.dims ?? [h]
        let matryoshka = try Matryoshka(dims: dims, weights: recipe.loss.matryoshka?.weights)
        let pooled = Tensor(zeros: [rows, h]), dPooled = Tensor(zeros: [rows, h])
        let chunk = recipe.optimizer.gradcacheChunk > 0 ? recipe.optimizer.gradcacheChunk : max(rows, 1)
        func lossAndGradient() throws -> Float {
            guard let share else {
                return try matryoshka.loss(loss, pooled: pooled.data, rows: rows, hiddenSize: h, dPooled: dPooled.data)
            }
            return try globalLoss(matryoshka, loss, share: share, pooled: pooled.data, dPooled: dPooled.data)
        }
        let chunks = Swift.stride(from: 0, to: rows, by: chunk).map { $0..<min($0 + chunk, rows) }
        func batch(_ r: Range<Int>) -> TokenBatch { TokenBatch(sequences: Array(ids[r]), adapters: Array(adapterIDs[r])) }

        // The frozen base's embeddings of the same texts (adapters off, no tape), before any taped pass.
        let basePooled = recipe.loss.baseConsistency > 0 ? basePooledEmbeddings(chunks.map(batch)) : nil
        if chunks.count == 1 {
            let b = batch(0..<rows)
            tape.reset()
            let hidden = encoder.forward(b, adapters: adapters, tape: tape)
            pooling.forward(hidden: hidden.data, batch: b, hiddenSize: h, pooled: pooled.data)
            var value = try lossAndGradient()
            if let basePooled { value += try baseConsistencyTerm(pooled, basePooled, dPooled: dPooled, share: share) }
            try backward(b, dPooled: dPooled.data, scale: scale)
            return Double(value)
        }
        // Pass 1: embeddings only, remembering each chunk's dropout stream so pass 2 draws the same masks.
        var streams: [SplitMix64] = []
        for r in chunks {
            streams.append(encoder.dropoutRNG)
            let b = batch(r)
            let hidden = encoder.forward(b, adapters: adapters, training: true)
            pooling.forward(hidden: hidden.data, batch: b, hiddenSize: h, pooled: pooled.data + r.lowerBound * h)
        }
        var value = try lossAndGradient()
        if let basePooled { value += try baseConsistencyTerm(pooled, basePooled, dPooled: dPooled, share: share) }
        let after = encoder.dropoutRNG
        for (c, r) in chunks.enumerated() {
            encoder.dropoutRNG = streams[c]
            let b = batch(r)
            tape.reset()
            _ = encoder.forward(b, adapters: adapters, tape: tape)
            try backward(b, dPooled: dPooled.data + r.lowerBound * h, scale: scale)
        }
        encoder.dropoutRNG = after
        return Double(value)
    }

    private func backward(_ b: TokenBatch, dPooled: UnsafeMutablePointer<Float>, scale: Float) throws {
        let h = encoder.config.hiddenSize
        if scale != 1 { VectorMath.scale(dPooled, by: scale, count: b.sequenceCount * h) }
        let dHidden = Tensor(zeros: [b.tokenCount, h])
        pooling.backward(dpooled: dPooled, batch: b, hiddenSize: h, dhidden: dHidden.data)
        encoder.backward(tape: tape, dHidden: dHidden.data, tokenCount: b.tokenCount)
    }

    func tokenize(_ texts: [String]) -> [[Int32]] {
        tokenizer.encodeAll(texts, maxLength: recipe.data.maxLength).ids
    }

    // MARK: - Evaluation

    /// The current adapters on every dev set, with the gains over the base; with `eval.strengths`
    /// also at each other strength (in `otherStrengths`), the adapters restored exactly after each.
    public func evaluate() throws -> EvalReport {
        var report = makeReport(try evaluateDev())
        for s in recipe.eval.strengths.sorted(by: >) where s != 1 {
            var other = makeReport(try adapters.withStrength(s) { try evaluateDev() })
            other.strength = s
            report.otherStrengths.append(other)
        }
        return report
    }

    /// Every dev set, embedded as the adapters will be used: each side through its adapter with
    /// the recipe's prefix, at the checkpoint's (inference) rotary base.
    func evaluateDev() throws -> [DevScores] {
        let anchor = DevEvaluation.Side(prefix: recipe.prefix(ofAdapter: anchorAdapter), adapter: anchorAdapter)
        let positive = DevEvaluation.Side(prefix: recipe.prefix(ofAdapter: positiveAdapter), adapter: positiveAdapter)
        return try evaluateDev(sides: .init(query: anchor, passage: positive, symmetric: anchor))
    }

    func evaluateDev(sides: DevEvaluation.Sides) throws -> [DevScores] {
        guard !data.dev.isEmpty else { throw TaskLoRAError("the recipe has no dev set to evaluate on") }
        let trainingBase = encoder.rotaryBase
        encoder.rotaryBase = encoder.config.rotaryEmbBase
        defer { encoder.rotaryBase = trainingBase }
        let dims = recipe.eval.dims.isEmpty ? [encoder.config.hiddenSize] : recipe.eval.dims
        let embedder = SentenceEmbedder(encoder: encoder, tokenizer: tokenizer, pooling: pooling, adapters: adapters)
        return try DevEvaluation.evaluate(data.dev, sides: sides, embedder: embedder, dims: dims, maxLength: recipe.data.maxLength)
    }

    func makeReport(_ dev: [DevScores]) -> EvalReport {
        EvalReport(step: step, metric: dev[0].metric, byDim: dev[0].byDim,
                   value: CheckpointSelection.score(recipe.eval.select, dev: dev, base: baseScores), dev: dev,
                   gains: baseScores.map { CheckpointSelection.gains(dev, base: $0) } ?? [])
    }

    /// Logs an evaluation; returns whether it is the best so far.
    @discardableResult
    func record(_ report: EvalReport) throws -> Bool {
        if communicator.isRoot {
            try run.appendEval(report, select: recipe.eval.select,
                               base: report.step == 0 ? baseScores.map { (nativePrompts, $0) } : nil)
        }
        let chosen = report.selected
        if best == nil || chosen.value > best!.value {
            best = (chosen.step, chosen.value, chosen.strength)
            bestScores = chosen.dev
            evalsWithoutImprovement = 0
            return true
        }
        evalsWithoutImprovement += 1
        return false
    }

    // MARK: - Checkpoints

    /// A stop request between steps: keeps (or writes) the checkpoint of the step just finished.
    private func stopCleanly(signal: Int32) throws {
        let path = run.checkpointPath(step: step)
        // Every rank reaches this after the same step; the decision to save is rank 0's file system's.
        let exists = try communicator.broadcastFromRoot([FileManager.default.fileExists(atPath: path) ? 1 : 0],
                                                        what: "the stop after step \(step)")
        if exists.first != 1 { try saveCheckpoint() }
        stoppedBy = signal
        stopCheckpoint = path
        log("stopped by \(StopRequest.name(of: signal)) after step \(step) of \(recipe.schedule.steps); checkpoint \(path)")
    }

    func saveCheckpoint() throws {
        try checkReplicas(what: "step \(step)")
        guard communicator.isRoot else { return }
        try save(to: run.checkpointPath(step: step))
        try run.prune(keepLast: recipe.save.keepLast)
    }

    /// Adapters + everything needed to resume: AdamW moments, step, sampler position, dropout RNG,
    /// counters and the resolved recipe. `strength` ≠ 1 (best.h5 chosen by `eval.strengths`) writes
    /// the adapters at that strength and records it as `adapter_strength`.
    func save(to path: String, strength: Double = 1) throws {
        guard communicator.isRoot else { return }
        var ckpt = Checkpoint(configJSON: encoder.config.jsonString())
        ckpt.metadata = baseModel.metadata(adapterPath: path).merging(["kind": "adapters", "pooling": pooling.rawValue,
                                                                       NativePrompts.metadataKey: nativePrompts.json]) { $1 }
        if strength != 1 { ckpt.metadata["adapter_strength"] = String(strength) }
        adapters.withStrength(strength) {
            for (i, name) in adapters.names.enumerated() {
                ckpt.adapters[name] = adapters.archive(adapter: i, prefix: recipe.prefix(ofAdapter: i))
            }
        }
        let n = adapters.parameterCount
        let m = Tensor(zeros: [n]), v = Tensor(zeros: [n])
        m.data.update(from: optimizer.m, count: n)
        v.data.update(from: optimizer.v, count: n)
        ckpt.training = ["adamw.m": m, "adamw.v": v]
        let json = JSONEncoder()
        json.outputFormatting = .sortedKeys  // the same state gives the same checkpoint bytes
        let samplerJSON = String(decoding: try json.encode(sampler.state), as: UTF8.self)
        ckpt.trainingAttributes = [
            "step": String(step), "adamw_step": String(optimizer.step), "sampler": samplerJSON,
            "dropout_rng": String(encoder.dropoutRNG.state), "recipe": recipe.resolvedYAML(),
            "skipped_steps": String(skippedSteps), "consecutive_non_finite": String(consecutiveNonFinite),
            "evals_without_improvement": String(evalsWithoutImprovement),
            "best_step": best.map { String($0.step) } ?? "", "best_value": best.map { String($0.value) } ?? "",
            "best_strength": best.map { String($0.strength) } ?? "",
            "world_size": String(communicator.size),
            "base_scores": try baseScores.map(DevScores.json) ?? "", "best_scores": try bestScores.map(DevScores.json) ?? "",
        ]
        try ckpt.write(to: path)
    }

    /// Continues from the newest checkpoint in the run directory that reads back whole.
    func restoreLatest() throws {
        if communicator.isRoot { run.removeAbandonedTemporaryFiles() }
        for path in run.checkpoints().reversed() {
            let ckpt: Checkpoint
            do { ckpt = try Checkpoint.read(path: path) } catch {
                log("skipping \(path): \(error)")
                continue
            }
            try restore(ckpt, path: path)
            let from = ckpt.trainingAttributes["world_size"].map { " (written by \($0) rank\($0 == "1" ? "" : "s"))" } ?? ""
            log("resuming from \(path) at step \(step)\(from)")
            if communicator.isRoot { try run.truncateMetrics(afterStep: step) }
            return
        }
        throw TaskLoRAError.file(run.path, "has no complete checkpoint to resume from")
    }

    func restore(_ ckpt: Checkpoint, path: String) throws {
        let a = ckpt.trainingAttributes
        guard let stepValue = a["step"].flatMap(Int.init), let adamStep = a["adamw_step"].flatMap(Int.init),
              let samplerJSON = a["sampler"], let rng = a["dropout_rng"].flatMap(UInt64.init),
              let m = ckpt.training["adamw.m"], let v = ckpt.training["adamw.v"] else {
            throw TaskLoRAError.file(path, "is not a resumable training checkpoint")
        }
        for (i, name) in adapters.names.enumerated() {
            guard let archive = ckpt.adapters[name] else { throw TaskLoRAError.file(path, "has no adapter \(name)") }
            try adapters.load(adapter: i, from: archive, source: path)
        }
        guard m.count == adapters.parameterCount, v.count == adapters.parameterCount else {
            throw TaskLoRAError.file(path, "optimizer state has \(m.count) values for \(adapters.parameterCount) parameters")
        }
        try optimizer.restore(AdamW.State(step: adamStep, m: m.array, v: v.array))
        try sampler.restore(try JSONDecoder().decode(BatchSamplerState.self, from: Data(samplerJSON.utf8)))
        encoder.dropoutRNG = SplitMix64(seed: 0)
        encoder.dropoutRNG.state = rng
        step = stepValue
        skippedSteps = Int(a["skipped_steps"] ?? "") ?? 0
        consecutiveNonFinite = Int(a["consecutive_non_finite"] ?? "") ?? 0
        evalsWithoutImprovement = Int(a["evals_without_improvement"] ?? "") ?? 0
        if let bs = Int(a["best_step"] ?? ""), let bv = Double(a["best_value"] ?? "") {
            best = (bs, bv, Double(a["best_strength"] ?? "") ?? 1)
        }
        if let json = a["base_scores"], !json.isEmpty { baseScores = try DevScores.decode(json: json, source: path) }
        if let json = a["best_scores"], !json.isEmpty { bestScores = try DevScores.decode(json: json, source: path) }
    }
}
