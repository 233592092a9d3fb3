import Foundation

// The sections of a recipe. Each decodes strictly (unknown keys are errors), fills in its
// defaults, and encodes every field, nulls included, so the stored resolved recipe is complete.
// Defaults and ranges are documented in docs/recipes.md.

extension Recipe {
    /// One LoRA adapter to train (or to copy and train further).
    public struct Adapter: Codable, Equatable, Sendable {
        public var name: String
        public var rank: Int
        public var alpha: Double
        public var dropout: Double
        public var targets: [LoRATarget]
        /// Instruction prefix prepended to every text this adapter embeds; nil (left out) = the
        /// base model's native prompt for the adapter's role (`NativePrompts`, filled in by the trainer).
        public var prefix: String?
        /// Name of an adapter in the model checkpoint whose weights seed this one.
        public var initFrom: String?

        /// PEFT's defaults (r 8, alpha 16, no dropout, query and value).
        public init(name: String, rank: Int = 8, alpha: Double = 16, dropout: Double = 0,
                    targets: [LoRATarget] = [.query, .value], prefix: String? = nil, initFrom: String? = nil) {
            self.name = name
            self.rank = rank
            self.alpha = alpha
            self.dropout = dropout
            self.targets = targets
            self.prefix = prefix
            self.initFrom = initFrom
        }

        public var lora: LoRAConfig { LoRAConfig(rank: rank, alpha: alpha, dropout: dropout, targets: targets) }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case name, rank, alpha, dropout, targets, prefix
            case initFrom = "init_from"
        }

        public init(from decoder: Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = Adapter(name: "")
            name = try c.decode(String.self, forKey: .name)
            rank = try c.value(.rank, or: d.rank)
            alpha = try c.value(.alpha, or: d.alpha)
            dropout = try c.value(.dropout, or: d.dropout)
            prefix = try c.decodeIfPresent(String.self, forKey: .prefix)
            initFrom = try c.decodeIfPresent(String.self, forKey: .initFrom)
            if c.has(.targets) {
                // A single name is accepted as a one-element list; aliases (q_proj, Wqkv, ...) too.
                let names = try (try? c.decode([String].self, forKey: .targets)) ?? [c.decode(String.self, forKey: .targets)]
                let path = recipeKeyPath(c.codingPath + [CodingKeys.targets])
                targets = try names.enumerated().map { i, word in
                    guard let target = LoRATarget.parse(word) else {
                        let known = LoRATarget.allCases.map(\.rawValue).joined(separator: ", ")
                        throw RecipeIssue("\(path).\(i)", "\(path).\(i): unknown LoRA target \"\(word)\" (known: \(known))")
                    }
                    return target
                }
            } else {
                targets = d.targets
            }
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(rank, forKey: .rank)
            try c.encode(alpha, forKey: .alpha)
            try c.encode(dropout, forKey: .dropout)
            try c.encode(targets.map(\.rawValue), forKey: .targets)
            try c.encode(prefix, forKey: .prefix)
            try c.encode(initFrom, forKey: .initFrom)
        }
    }

    public enum LossType: String, RecipeChoice, Sendable {
        case infonce, cosent, separation, classification
    }

    /// Matryoshka representation learning: the loss summed over truncated embeddings.
    public struct Matryoshka: Codable, Equatable, Sendable {
        /// Strictly ascending truncation dimensions.
        public var dims: [Int]
        /// One weight per dimension; all 1 by default (sentence-transformers' MatryoshkaLoss).
        public var weights: [Double]

        public init(dims: [Int], weights: [Double]? = nil) {
            self.dims = dims
            self.weights = weights ?? Array(repeating: 1, count: dims.count)
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case dims, weights }

        public init(from decoder: Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(dims: try c.decode([Int].self, forKey: .dims),
                      weights: try c.decodeIfPresent([Double].self, forKey: .weights))
        }
    }

    public struct Loss: Codable, Equatable, Sendable {
        public var type: LossType
        /// Softmax temperature τ (InfoNCE) or CoSENT's scale 1/τ.
        public var temperature: Double
        /// InfoNCE: also add the positive→anchor direction (bidirectional InfoNCE).
        public var reverse: Bool
        /// InfoNCE: in-batch negatives also include anchor–anchor and positive–positive pairs.
        public var symmetric: Bool
        /// InfoNCE: hard negatives per example, taken from the data (0 = in-batch negatives only).
        public var hardNegatives: Int
        public var matryoshka: Matryoshka?
        /// Weight of the base-consistency term (BaseConsistencyLoss: mean squared cosine distance of
        /// the adapter's embeddings to the frozen base's on the training batch); 0 = off.
        public var baseConsistency: Double

        public init(type: LossType = .infonce, temperature: Double = 0.05, reverse: Bool = false,
                    symmetric: Bool = false, hardNegatives: Int = 0, matryoshka: Matryoshka? = nil,
                    baseConsistency: Double = 0) {
            self.baseConsistency = baseConsistency
            self.type = type
            self.temperature = temperature
            self.reverse = reverse
            self.symmetric = symmetric
            self.hardNegatives = hardNegatives
            self.matryoshka = matryoshka
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case type, temperature, reverse, symmetric
            case hardNegatives = "hard_negatives"
            case matryoshka
            case baseConsistency = "base_consistency"
        }

        public init(from decoder: Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = Loss()
            type = try c.value(.type, or: d.type)
            temperature = try c.value(.temperature, or: d.temperature)
            reverse = try c.value(.reverse, or: d.reverse)
            symmetric = try c.value(.symmetric, or: d.symmetric)
            hardNegatives = try c.value(.hardNegatives, or: d.hardNegatives)
            matryoshka = try c.decodeIfPresent(Matryoshka.self, forKey: .matryoshka)
            baseConsistency = try c.value(.baseConsistency, or: d.baseConsistency)
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(type, forKey: .type)
            try c.encode(temperature, forKey: .temperature)
            try c.encode(reverse, forKey: .reverse)
            try c.encode(symmetric, forKey: .symmetric)
            try c.encode(hardNegatives, forKey: .hardNegatives)
            try c.encode(matryoshka, forKey: .matryoshka)
            try c.encode(baseConsistency, forKey: .baseConsistency)
        }
    }

    public enum DataFormat: String, RecipeChoice, Sendable {
        case auto, jsonl
        case stsbCSV = "stsb_csv"
        case sick, squad
        case stsTSV = "sts_tsv"
    }

    /// How a batch is filled from several training files.
    public enum BatchComposition: String, RecipeChoice, Sendable {
        /// From all files together: the files are one shuffled pool.
        case mixed
        /// Each batch from one file, the run sampling across files (e5 / gte / jina pair training;
        /// sentence-transformers' multi-dataset samplers): in-batch negatives from another dataset
        /// are too easy to teach anything.
        case perSource = "per_source"
    }

    public struct Dataset: Codable, Equatable, Sendable {
        /// Training files, read in order (a single path is accepted as a one-element list).
        public var train: [String]
        /// Dev sets to evaluate on (RecipeDevSets.swift); empty = none, or the pooled held-out
        /// rows when `heldOut` > 0.
        public var dev: [DevSource]
        public var format: DataFormat
        /// Adapter that embeds the first text of each example (query, sentence 1).
        public var anchorAdapter: String
        /// Adapter that embeds the second text and any hard negatives (passage, sentence 2).
        public var positiveAdapter: String
        /// Tokens per text, special tokens included.
        public var maxLength: Int
        /// Examples per optimizer micro-step (before gradient accumulation).
        public var batchSize: Int
        /// Group examples of similar length into the same batch (shuffled batch order).
        public var lengthBucketing: Bool
        /// Gold similarity scores are divided by this (STS-B 0–5 → 0–1).
        public var scoreScale: Double
        /// Without a `dev` file, hold out this fraction of the training data for evaluation
        /// (SQuAD/XQuAD: whole paragraphs, so evaluation retrieves paragraphs never trained on).
        public var heldOut: Double
        /// A row the reader cannot use: `fail` stops with the file and line, `skip` leaves it out and counts it.
        public var onError: OnError
        /// Whether a batch mixes the training files or comes from one of them.
        public var batches: BatchComposition
        /// With `per_source`: one weight per training file, the share of an epoch's batches drawn
        /// from it. nil: each file's batches in proportion to its size (every file once an epoch).
        public var weights: [Double]?
        /// How the tokenizer treats whitespace (SentencePiece models): `transformers` (transformers 5 /
        /// sentence-transformers, the default) or `tokenizer-json` (the file as written, as
        /// text-embeddings-inference runs it). Training and its evaluation both use it.
        public var whitespace: TokenizerWhitespace

        /// Empty adapter names mean "the recipe's first adapter" (filled in by `Recipe`).
        public init(train: [String], dev: [DevSource] = [], format: DataFormat = .auto, anchorAdapter: String = "",
                    positiveAdapter: String = "", maxLength: Int = 128, batchSize: Int = 32,
                    lengthBucketing: Bool = false, scoreScale: Double = 5, heldOut: Double = 0, onError: OnError = .fail,
                    batches: BatchComposition = .mixed, weights: [Double]? = nil, whitespace: TokenizerWhitespace = .default) {
            self.train = train
            self.dev = dev
            self.format = format
            self.anchorAdapter = anchorAdapter
            self.positiveAdapter = positiveAdapter
            self.maxLength = maxLength
            self.batchSize = batchSize
            self.lengthBucketing = lengthBucketing
            self.scoreScale = scoreScale
            self.heldOut = heldOut
            self.onError = onError
            self.batches = batches
            self.weights = weights
            self.whitespace = whitespace
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case train, dev, format
            case anchorAdapter = "anchor_adapter"
            case positiveAdapter = "positive_adapter"
            case maxLength = "max_length"
            case batchSize = "batch_size"
            case lengthBucketing = "length_bucketing"
            case scoreScale = "score_scale"
            case heldOut = "held_out"
            case onError = "on_error"
            case batches, weights, whitespace
        }

        public init(from decoder: Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = Dataset(train: [])
            if let one = try? c.decode(String.self, forKey: .train) {
                train = [one]
            } else {
                train = try c.decode([String].self, forKey: .train)
            }
            dev = try Self.decodeDev(c)
            format = try c.value(.format, or: d.format)
            anchorAdapter = try c.value(.anchorAdapter, or: d.anchorAdapter)
            positiveAdapter = try c.value(.positiveAdapter, or: d.positiveAdapter)
            maxLength = try c.value(.maxLength, or: d.maxLength)
            batchSize = try c.value(.batchSize, or: d.batchSize)
            lengthBucketing = try c.value(.lengthBucketing, or: d.lengthBucketing)
            scoreScale = try c.value(.scoreScale, or: d.scoreScale)
            heldOut = try c.value(.heldOut, or: d.heldOut)
            onError = try c.value(.onError, or: d.onError)
            batches = try c.value(.batches, or: d.batches)
            weights = try c.decodeIfPresent([Double].self, forKey: .weights)
            whitespace = try c.value(.whitespace, or: d.whitespace)
        }

        /// The readers' format for every file, or nil for `auto` (detected per file).
        public var readerFormat: TaskLoRA.DataFormat? {
            format == .auto ? nil : TaskLoRA.DataFormat(rawValue: format.rawValue)
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(train, forKey: .train)
            try c.encode(dev, forKey: .dev)
            try c.encode(format, forKey: .format)
            try c.encode(anchorAdapter, forKey: .anchorAdapter)
            try c.encode(positiveAdapter, forKey: .positiveAdapter)
            try c.encode(maxLength, forKey: .maxLength)
            try c.encode(batchSize, forKey: .batchSize)
            try c.encode(lengthBucketing, forKey: .lengthBucketing)
            try c.encode(scoreScale, forKey: .scoreScale)
            try c.encode(heldOut, forKey: .heldOut)
            try c.encode(onError, forKey: .onError)
            try c.encode(batches, forKey: .batches)
            try c.encode(weights, forKey: .weights)
            try c.encode(whitespace, forKey: .whitespace)
        }
    }

    public struct Optimizer: Codable, Equatable, Sendable {
        public var lr: Double
        /// Decoupled (AdamW) weight decay; torch.optim.AdamW's default.
        public var weightDecay: Double
        /// [β1, β2].
        public var betas: [Double]
        public var eps: Double
        /// Max global gradient L2 norm; 0 turns clipping off.
        public var gradClip: Double
        /// Micro-batches summed into one optimizer step.
        public var gradAccumulation: Int
        /// GradCache sub-batch size for the encoder passes; 0 = off (whole batch at once).
        public var gradcacheChunk: Int

        public init(lr: Double = 1e-4, weightDecay: Double = 0.01, betas: [Double] = [0.9, 0.999], eps: Double = 1e-8,
                    gradClip: Double = 1.0, gradAccumulation: Int = 1, gradcacheChunk: Int = 0) {
            self.lr = lr
            self.weightDecay = weightDecay
            self.betas = betas
            self.eps = eps
            self.gradClip = gradClip
            self.gradAccumulation = gradAccumulation
            self.gradcacheChunk = gradcacheChunk
        }

        public var beta1: Double { betas[0] }
        public var beta2: Double { betas[1] }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case lr
            case weightDecay = "weight_decay"
            case betas, eps
            case gradClip = "grad_clip"
            case gradAccumulation = "grad_accumulation"
            case gradcacheChunk = "gradcache_chunk"
        }

        public init(from decoder: Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = Optimizer()
            lr = try c.value(.lr, or: d.lr)
            weightDecay = try c.value(.weightDecay, or: d.weightDecay)
            betas = try c.value(.betas, or: d.betas)
            eps = try c.value(.eps, or: d.eps)
            gradClip = try c.value(.gradClip, or: d.gradClip)
            gradAccumulation = try c.value(.gradAccumulation, or: d.gradAccumulation)
            gradcacheChunk = try c.value(.gradcacheChunk, or: d.gradcacheChunk)
        }
    }

    public enum ScheduleType: String, RecipeChoice, Sendable {
        case linear, cosine, constant
    }

    public struct Schedule: Codable, Equatable, Sendable {
        public var type: ScheduleType
        /// At most one of `warmupSteps` and `warmupRatio` is set; neither means no warm-up.
        public var warmupSteps: Int?
        public var warmupRatio: Double?
        /// Total optimizer steps.
        public var steps: Int
        /// Decay ends at `minLRRatio · lr` (linear and cosine; ignored by constant).
        public var minLRRatio: Double

        public init(type: ScheduleType = .linear, warmupSteps: Int? = nil, warmupRatio: Double? = nil,
                    steps: Int = 1000, minLRRatio: Double = 0) {
            self.type = type
            self.warmupSteps = warmupSteps
            self.warmupRatio = warmupRatio
            self.steps = steps
            self.minLRRatio = minLRRatio
        }

        /// Warm-up steps; a ratio rounds up, as transformers' `TrainingArguments.get_warmup_steps`.
        public var warmup: Int {
            if let warmupSteps { return warmupSteps }
            if let warmupRatio { return Int((Double(steps) * warmupRatio).rounded(.up)) }
            return 0
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case type
            case warmupSteps = "warmup_steps"
            case warmupRatio = "warmup_ratio"
            case steps
            case minLRRatio = "min_lr_ratio"
        }

        public init(from decoder: Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = Schedule()
            type = try c.value(.type, or: d.type)
            warmupSteps = try c.decodeIfPresent(Int.self, forKey: .warmupSteps)
            warmupRatio = try c.decodeIfPresent(Double.self, forKey: .warmupRatio)
            steps = try c.value(.steps, or: d.steps)
            minLRRatio = try c.value(.minLRRatio, or: d.minLRRatio)
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(type, forKey: .type)
            try c.encode(warmupSteps, forKey: .warmupSteps)
            try c.encode(warmupRatio, forKey: .warmupRatio)
            try c.encode(steps, forKey: .steps)
            try c.encode(minLRRatio, forKey: .minLRRatio)
        }
    }

    public enum EvalMetric: String, RecipeChoice, Sendable {
        case stsSpearman = "sts_spearman"
        case ndcg10 = "ndcg@10"
    }

    public struct Eval: Codable, Equatable, Sendable {
        /// Evaluate on the dev set every this many optimizer steps (and at the end); 0 = at the end only.
        public var every: Int
        public var metric: EvalMetric
        /// Matryoshka dimensions to report; empty = the full embedding only.
        public var dims: [Int]
        /// Stop after this many evaluations without improvement; 0 = never stop early.
        public var earlyStoppingPatience: Int
        /// How best.h5 and early stopping rank evaluations (CheckpointSelection.swift).
        public var select: SelectionRule
        /// Adapter strengths λ scored at every evaluation (`LoRAAdapters.withStrength`: the adapters'
        /// update scaled by λ, between the base at 0 and the trained adapter at 1). The selection
        /// rule ranks every (step, λ); best.h5 holds the chosen λ folded into B. Always holds 1.
        public var strengths: [Double]

        public init(every: Int = 0, metric: EvalMetric = .stsSpearman, dims: [Int] = [], earlyStoppingPatience: Int = 0,
                    select: SelectionRule = .mean, strengths: [Double] = [1]) {
            self.select = select
            self.strengths = strengths
            self.every = every
            self.metric = metric
            self.dims = dims
            self.earlyStoppingPatience = earlyStoppingPatience
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case every, metric, dims
            case earlyStoppingPatience = "early_stopping_patience"
            case select, strengths
        }

        public init(from decoder: Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = Eval()
            strengths = try c.value(.strengths, or: d.strengths)
            every = try c.value(.every, or: d.every)
            metric = try c.value(.metric, or: d.metric)
            dims = try c.value(.dims, or: d.dims)
            earlyStoppingPatience = try c.value(.earlyStoppingPatience, or: d.earlyStoppingPatience)
            select = try c.value(.select, or: d.select)
        }
    }

    public struct Save: Codable, Equatable, Sendable {
        /// Write a run checkpoint every this many optimizer steps (and at the end); 0 = at the end only.
        public var every: Int
        /// Also keep the checkpoint with the best dev metric.
        public var keepBest: Bool
        /// Periodic checkpoints to keep (oldest deleted first); at least 1.
        public var keepLast: Int

        public init(every: Int = 0, keepBest: Bool = true, keepLast: Int = 2) {
            self.every = every
            self.keepBest = keepBest
            self.keepLast = keepLast
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case every
            case keepBest = "keep_best"
            case keepLast = "keep_last"
        }

        public init(from decoder: Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = Save()
            every = try c.value(.every, or: d.every)
            keepBest = try c.value(.keepBest, or: d.keepBest)
            keepLast = try c.value(.keepLast, or: d.keepLast)
        }
    }
}

/// `data.whitespace: transformers | tokenizer-json`.
extension TokenizerWhitespace: RecipeChoice {}
