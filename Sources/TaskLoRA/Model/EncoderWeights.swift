/// The frozen base weights of one encoder, read-only after loading, in the layout the kernels use.
///
/// Names follow Hugging Face BERT without the model prefix (`embeddings.word_embeddings.weight`,
/// `encoder.layer.0.attention.self.query.weight`, …) so that checkpoints, safetensors and PEFT
/// exports share one vocabulary. q, k and v are fused into one (3H, H) matrix at load time so a
/// layer's projections are a single GEMM.
///
/// `precision` is the arithmetic of the four frozen projections of every layer: at bf16 or int8 each
/// is also converted once, here, into a `PackedLinear` that the forward pass multiplies with. The
/// float32 tensors stay: the fp32 path, the backward pass (float32 until bf16 training lands),
/// checkpoints and exports read them.
public final class EncoderWeights: @unchecked Sendable {
    public struct Layer {
        /// (3H, H) rows Q | K | V, and (3H)
        public let qkvWeight: Tensor, qkvBias: Tensor
        /// (H, H), (H)
        public let attentionOutWeight: Tensor, attentionOutBias: Tensor
        /// (H)
        public let attentionNormWeight: Tensor, attentionNormBias: Tensor
        /// (F, H), (F)
        public let ffnInWeight: Tensor, ffnInBias: Tensor
        /// (H, F), (H)
        public let ffnOutWeight: Tensor, ffnOutBias: Tensor
        /// (H)
        public let ffnNormWeight: Tensor, ffnNormBias: Tensor
        /// qkv, attention output, FFN in, FFN out converted for oneDNN; nil at fp32.
        public var packed: PackedLayer? = nil
    }

    /// A layer's four frozen projections at bf16 or int8.
    public struct PackedLayer {
        public let qkv: PackedLinear, attentionOut: PackedLinear, ffnIn: PackedLinear, ffnOut: PackedLinear

        init(_ layer: Layer, precision: Precision) throws {
            func pack(_ w: Tensor) throws -> PackedLinear {
                try PackedLinear(weight: w.data, outFeatures: w.shape[0], inFeatures: w.shape[1], precision: precision)
            }
            qkv = try pack(layer.qkvWeight)
            attentionOut = try pack(layer.attentionOutWeight)
            ffnIn = try pack(layer.ffnInWeight)
            ffnOut = try pack(layer.ffnOutWeight)
        }
    }

    /// The arithmetic of the frozen projections (see the type's comment).
    public let precision: Precision

    /// (V, H)
    public let wordEmbeddings: Tensor
    /// (P, H); nil for rotary models.
    public let positionEmbeddings: Tensor?
    /// (types, H); nil when the model has none.
    public let tokenTypeEmbeddings: Tensor?
    /// (H)
    public let embeddingNormWeight: Tensor, embeddingNormBias: Tensor
    public let layers: [Layer]

    /// The canonical tensor names and shapes a model with `config` must provide.
    public static func expectedShapes(for config: EncoderConfig) -> [(String, [Int])] {
        let h = config.hiddenSize, f = config.intermediateSize
        var names: [(String, [Int])] = [("embeddings.word_embeddings.weight", [config.vocabSize, h])]
        if !config.isRotary {
            names.append(("embeddings.position_embeddings.weight", [config.maxPositionEmbeddings, h]))
        }
        if config.typeVocabSize > 0 {
            names.append(("embeddings.token_type_embeddings.weight", [config.typeVocabSize, h]))
        }
        names += [("embeddings.LayerNorm.weight", [h]), ("embeddings.LayerNorm.bias", [h])]
        for l in 0..<config.numHiddenLayers {
            let p = "encoder.layer.\(l)."
            for part in ["query", "key", "value"] {
                names += [(p + "attention.self.\(part).weight", [h, h]), (p + "attention.self.\(part).bias", [h])]
            }
            names += [
                (p + "attention.output.dense.weight", [h, h]), (p + "attention.output.dense.bias", [h]),
                (p + "attention.output.LayerNorm.weight", [h]), (p + "attention.output.LayerNorm.bias", [h]),
                (p + "intermediate.dense.weight", [f, h]), (p + "intermediate.dense.bias", [f]),
                (p + "output.dense.weight", [h, f]), (p + "output.dense.bias", [h]),
                (p + "output.LayerNorm.weight", [h]), (p + "output.LayerNorm.bias", [h]),
            ]
        }
        return names
    }

    /// Builds the kernel layout from named tensors, naming any missing tensor or wrong shape.
    public init(config: EncoderConfig, tensors: [String: Tensor], source: String, precision: Precision = .fp32) throws {
        for (name, shape) in Self.expectedShapes(for: config) {
            guard let t = tensors[name] else {
                throw TaskLoRAError.file(source, "missing tensor \(name)")
            }
            guard t.shape == shape else {
                throw TaskLoRAError.file(source, "tensor \(name) has shape \(t.shape), expected \(shape)")
            }
        }
        func get(_ name: String) -> Tensor { tensors[name]! }
        wordEmbeddings = get("embeddings.word_embeddings.weight")
        positionEmbeddings = config.isRotary ? nil : get("embeddings.position_embeddings.weight")
        tokenTypeEmbeddings = config.typeVocabSize > 0 ? get("embeddings.token_type_embeddings.weight") : nil
        embeddingNormWeight = get("embeddings.LayerNorm.weight")
        embeddingNormBias = get("embeddings.LayerNorm.bias")
        let h = config.hiddenSize
        let plain = (0..<config.numHiddenLayers).map { l in
            let p = "encoder.layer.\(l)."
            let qkvW = Tensor(zeros: [3 * h, h]), qkvB = Tensor(zeros: [3 * h])
            for (i, part) in ["query", "key", "value"].enumerated() {
                qkvW.data.advanced(by: i * h * h).update(from: get(p + "attention.self.\(part).weight").data, count: h * h)
                qkvB.data.advanced(by: i * h).update(from: get(p + "attention.self.\(part).bias").data, count: h)
            }
            return Layer(
                qkvWeight: qkvW, qkvBias: qkvB,
                attentionOutWeight: get(p + "attention.output.dense.weight"),
                attentionOutBias: get(p + "attention.output.dense.bias"),
                attentionNormWeight: get(p + "attention.output.LayerNorm.weight"),
                attentionNormBias: get(p + "attention.output.LayerNorm.bias"),
                ffnInWeight: get(p + "intermediate.dense.weight"), ffnInBias: get(p + "intermediate.dense.bias"),
                ffnOutWeight: get(p + "output.dense.weight"), ffnOutBias: get(p + "output.dense.bias"),
                ffnNormWeight: get(p + "output.LayerNorm.weight"), ffnNormBias: get(p + "output.LayerNorm.bias"))
        }
        layers = precision == .fp32 ? plain : try Self.packed(plain, precision: precision)
        self.precision = precision
    }

    /// The same frozen weights (shared, not copied) at another precision.
    public func converted(to precision: Precision) throws -> EncoderWeights {
        try EncoderWeights(sharing: self, precision: precision)
    }

    private init(sharing other: EncoderWeights, precision: Precision) throws {
        wordEmbeddings = other.wordEmbeddings
        positionEmbeddings = other.positionEmbeddings
        tokenTypeEmbeddings = other.tokenTypeEmbeddings
        embeddingNormWeight = other.embeddingNormWeight
        embeddingNormBias = other.embeddingNormBias
        self.precision = precision
        layers = precision == .fp32 ? other.layers.map { var l = $0; l.packed = nil; return l }
                                    : try Self.packed(other.layers, precision: precision)
    }

    private static func packed(_ layers: [Layer], precision: Precision) throws -> [Layer] {
        try layers.map { var l = $0; l.packed = try PackedLayer($0, precision: precision); return l }
    }

    /// The weights back under their canonical names (q, k, v split again), for checkpoints and exports.
    public func namedTensors(config: EncoderConfig) -> [(String, Tensor)] {
        let h = config.hiddenSize
        var out: [(String, Tensor)] = [("embeddings.word_embeddings.weight", wordEmbeddings)]
        if let p = positionEmbeddings { out.append(("embeddings.position_embeddings.weight", p)) }
        if let t = tokenTypeEmbeddings { out.append(("embeddings.token_type_embeddings.weight", t)) }
        out += [("embeddings.LayerNorm.weight", embeddingNormWeight), ("embeddings.LayerNorm.bias", embeddingNormBias)]
        for (l, layer) in layers.enumerated() {
            let p = "encoder.layer.\(l)."
            for (i, part) in ["query", "key", "value"].enumerated() {
                let w = Tensor(zeros: [h, h]), b = Tensor(zeros: [h])
                w.data.update(from: layer.qkvWeight.data.advanced(by: i * h * h), count: h * h)
                b.data.update(from: layer.qkvBias.data.advanced(by: i * h), count: h)
                out += [(p + "attention.self.\(part).weight", w), (p + "attention.self.\(part).bias", b)]
            }
            out += [
                (p + "attention.output.dense.weight", layer.attentionOutWeight),
                (p + "attention.output.dense.bias", layer.attentionOutBias),
                (p + "attention.output.LayerNorm.weight", layer.attentionNormWeight),
                (p + "attention.output.LayerNorm.bias", layer.attentionNormBias),
                (p + "intermediate.dense.weight", layer.ffnInWeight), (p + "intermediate.dense.bias", layer.ffnInBias),
                (p + "output.dense.weight", layer.ffnOutWeight), (p + "output.dense.bias", layer.ffnOutBias),
                (p + "output.LayerNorm.weight", layer.ffnNormWeight), (p + "output.LayerNorm.bias", layer.ffnNormBias),
            ]
        }
        return out
    }
}
