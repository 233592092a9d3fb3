import Foundation

/// Where a LoRA update can attach. Names follow the canonical (Hugging Face BERT) module names;
/// aliases from PEFT configs and jina-embeddings-v3 are accepted when parsing.
public enum LoRATarget: String, Codable, CaseIterable, Sendable {
    case query, key, value
    /// One LoRA over the fused (3H, H) projection, as jina-embeddings-v3's `Wqkv`.
    case qkv
    case attentionOutput = "attention.output.dense"
    case ffnIn = "intermediate.dense"
    case ffnOut = "output.dense"
    case wordEmbeddings = "word_embeddings"
    case tokenTypeEmbeddings = "token_type_embeddings"

    public static func parse(_ name: String) -> LoRATarget? {
        if let t = LoRATarget(rawValue: name) { return t }
        switch name {
        case "q_proj": return .query
        case "k_proj": return .key
        case "v_proj": return .value
        case "Wqkv": return .qkv
        case "o_proj", "out_proj", "attention.output", "dense": return .attentionOutput
        case "fc1", "intermediate": return .ffnIn
        case "fc2", "output": return .ffnOut
        case "embeddings.word_embeddings": return .wordEmbeddings
        case "embeddings.token_type_embeddings": return .tokenTypeEmbeddings
        default: return nil
        }
    }

    public var isEmbedding: Bool { self == .wordEmbeddings || self == .tokenTypeEmbeddings }
}

/// One adapter's settings.
public struct LoRAConfig: Codable, Equatable, Sendable {
    public var rank: Int
    public var alpha: Double
    public var dropout: Double
    public var targets: [LoRATarget]

    public init(rank: Int = 8, alpha: Double = 16, dropout: Double = 0, targets: [LoRATarget] = [.query, .value]) {
        self.rank = rank
        self.alpha = alpha
        self.dropout = dropout
        self.targets = targets
    }

    public var scale: Float { Float(alpha / Double(rank)) }

    public func validate(config: EncoderConfig) throws {
        guard rank >= 1 else { throw TaskLoRAError("LoRA rank must be at least 1, got \(rank)") }
        guard rank <= config.hiddenSize else { throw TaskLoRAError("LoRA rank \(rank) exceeds the hidden size \(config.hiddenSize)") }
        guard alpha > 0, alpha.isFinite else { throw TaskLoRAError("LoRA alpha must be positive, got \(alpha)") }
        guard (0..<1).contains(dropout) else { throw TaskLoRAError("LoRA dropout must be in [0, 1), got \(dropout)") }
        guard !targets.isEmpty else { throw TaskLoRAError("LoRA needs at least one target module") }
        if targets.contains(.qkv), targets.contains(where: { [.query, .key, .value].contains($0) }) {
            throw TaskLoRAError("LoRA targets qkv and query/key/value overlap; choose one")
        }
        if targets.contains(.tokenTypeEmbeddings), config.typeVocabSize == 0 {
            throw TaskLoRAError("the model has no token-type embeddings to adapt")
        }
    }
}

/// One LoRA matrix pair inside the flat parameter buffer.
public struct LoRAModule: Sendable {
    public let adapter: Int
    public let target: LoRATarget
    /// Layer index, or -1 for embeddings.
    public let layer: Int
    /// Linear: A (r, in), B (out, r). Embedding: A (vocab, r), B (r, H), with `inFeatures` = vocab.
    public let inFeatures: Int, outFeatures: Int, rank: Int
    public let aOffset: Int, bOffset: Int
    public let scale: Float
    public let dropout: Double
    /// First output column inside the fused qkv buffer (query 0, key H, value 2H), else 0.
    public let outputColumn: Int

    public var aCount: Int { inFeatures * rank }
    public var bCount: Int { outFeatures * rank }

    /// The canonical module path, e.g. `encoder.layer.3.attention.self.query`.
    public var modulePath: String {
        switch target {
        case .wordEmbeddings: return "embeddings.word_embeddings"
        case .tokenTypeEmbeddings: return "embeddings.token_type_embeddings"
        case .query, .key, .value: return "encoder.layer.\(layer).attention.self.\(target.rawValue)"
        case .qkv: return "encoder.layer.\(layer).attention.self.qkv"
        default: return "encoder.layer.\(layer).\(target.rawValue)"
        }
    }
}

/// All trainable parameters: named adapters whose LoRA matrices live in one flat buffer, with a
/// gradient buffer of the same layout, so AdamW, clipping and checkpointing are single loops.
public final class LoRAAdapters: @unchecked Sendable {
    public let names: [String]
    public let configs: [LoRAConfig]
    public let modules: [LoRAModule]
    /// (P) parameters and their gradients.
    public let parameters: UnsafeMutablePointer<Float>
    public let gradients: UnsafeMutablePointer<Float>
    public let parameterCount: Int
    /// Adapters whose parameters do not train (e.g. the five jina tasks while a sixth is added).
    public var frozen: Set<Int> = []
    /// index[adapter][layer + 1][target] → module index; layer slot 0 holds the embeddings.
    private let index: [[[LoRATarget: Int]]]

    public init(names: [String], configs: [LoRAConfig], model: EncoderConfig) throws {
        guard names.count == configs.count, !names.isEmpty else { throw TaskLoRAError("adapters need a name and a config each") }
        guard Set(names).count == names.count else { throw TaskLoRAError("adapter names must be unique") }
        let h = model.hiddenSize, f = model.intermediateSize
        var modules: [LoRAModule] = []
        var offset = 0
        var index = [[[LoRATarget: Int]]](repeating: [[LoRATarget: Int]](repeating: [:], count: model.numHiddenLayers + 1),
                                          count: names.count)
        for (ai, cfg) in configs.enumerated() {
            try cfg.validate(config: model)
            func add(_ target: LoRATarget, layer: Int, inF: Int, outF: Int, column: Int = 0) {
                let m = LoRAModule(adapter: ai, target: target, layer: layer, inFeatures: inF, outFeatures: outF,
                                   rank: cfg.rank, aOffset: offset, bOffset: offset + inF * cfg.rank,
                                   scale: cfg.scale, dropout: target.isEmbedding ? 0 : cfg.dropout, outputColumn: column)
                offset += m.aCount + m.bCount
                index[ai][layer + 1][target] = modules.count
                modules.append(m)
            }
            let targets = Set(cfg.targets)
            if targets.contains(.wordEmbeddings) { add(.wordEmbeddings, layer: -1, inF: model.vocabSize, outF: h) }
            if targets.contains(.tokenTypeEmbeddings) { add(.tokenTypeEmbeddings, layer: -1, inF: model.typeVocabSize, outF: h) }
            for l in 0..<model.numHiddenLayers {
                if targets.contains(.qkv) { add(.qkv, layer: l, inF: h, outF: 3 * h) }
                if targets.contains(.query) { add(.query, layer: l, inF: h, outF: h, column: 0) }
                if targets.contains(.key) { add(.key, layer: l, inF: h, outF: h, column: h) }
                if targets.contains(.value) { add(.value, layer: l, inF: h, outF: h, column: 2 * h) }
                if targets.contains(.attentionOutput) { add(.attentionOutput, layer: l, inF: h, outF: h) }
                if targets.contains(.ffnIn) { add(.ffnIn, layer: l, inF: h, outF: f) }
                if targets.contains(.ffnOut) { add(.ffnOut, layer: l, inF: f, outF: h) }
            }
        }
        self.names = names
        self.configs = configs
        self.modules = modules
        self.index = index
        parameterCount = offset
        parameters = .allocate(capacity: max(offset, 1))
        parameters.initialize(repeating: 0, count: max(offset, 1))
        gradients = .allocate(capacity: max(offset, 1))
        gradients.initialize(repeating: 0, count: max(offset, 1))
    }

    deinit {
        parameters.deallocate()
        gradients.deallocate()
    }

    public func module(adapter: Int, layer: Int, target: LoRATarget) -> LoRAModule? {
        index[adapter][layer + 1][target].map { modules[$0] }
    }

    public func adapterIndex(_ name: String) -> Int? { names.firstIndex(of: name) }

    /// PEFT's initialization: linear A kaiming-uniform (a = √5, i.e. U(±1/√in)), B zero; embedding
    /// A zero, B standard normal. Either way B·A = 0, so a new adapter starts as the identity.
    public func initialize(adapter: Int, seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        for m in modules where m.adapter == adapter {
            let a = parameters + m.aOffset, b = parameters + m.bOffset
            if m.target.isEmbedding {
                a.update(repeating: 0, count: m.aCount)
                for i in 0..<m.bCount { b[i] = Float(rng.nextGaussian()) }
            } else {
                let bound = 1 / Double(m.inFeatures).squareRoot()
                for i in 0..<m.aCount { a[i] = Float((rng.nextUnit() * 2 - 1) * bound) }
                b.update(repeating: 0, count: m.bCount)
            }
        }
    }

    public func zeroGradients() { gradients.update(repeating: 0, count: parameterCount) }

    /// Number of parameters of one adapter.
    public func parameterCount(adapter: Int) -> Int {
        modules.filter { $0.adapter == adapter }.reduce(0) { $0 + $1.aCount + $1.bCount }
    }
}
