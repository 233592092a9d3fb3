/// The frozen base weights of one encoder, read-only after loading, in the layout the kernels use.
///
/// Names follow Hugging Face BERT without the model prefix (`embeddings.word_embeddings.weight`,
/// `encoder.layer.0.attention.self.query.weight`, …) so that checkpoints, safetensors and PEFT
/// exports share one vocabulary. q, k and v are fused into one (3H, H) matrix at load time so a
/// layer's projections are a single GEMM.
///
/// `precision` is the arithmetic of the four frozen projections of every layer: at bf16 or int8 each
/// is converted once, here, into a `PackedLinear` that the forward (and at bf16 the backward) pass
/// multiplies with, and then exists only packed (no float32 copy is kept). From a bf16 checkpoint
/// read for bf16 or int8 compute (`Checkpoint.read(…, keepBFloat16Matrices: true)`) nothing is
/// widened at all: the projections are packed from their bits and the word embeddings stay bf16,
/// so the model takes about its bf16 size (docs/precision.md).
public final class EncoderWeights: @unchecked Sendable {
    /// A layer's frozen tensors. The four projection matrices are nil when they live only packed
    /// (a bf16 checkpoint at bf16 or int8); biases and norms are always float32.
    public struct Layer {
        /// (3H, H) rows Q | K | V, and (3H)
        public let qkvWeight: Tensor?, qkvBias: Tensor
        /// (H, H), (H)
        public let attentionOutWeight: Tensor?, attentionOutBias: Tensor
        /// (H)
        public let attentionNormWeight: Tensor, attentionNormBias: Tensor
        /// (F, H), (F)
        public let ffnInWeight: Tensor?, ffnInBias: Tensor
        /// (H, F), (H)
        public let ffnOutWeight: Tensor?, ffnOutBias: Tensor
        /// (H)
        public let ffnNormWeight: Tensor, ffnNormBias: Tensor
        /// qkv, attention output, FFN in, FFN out converted for oneDNN; nil at fp32.
        public var packed: PackedLayer? = nil
    }

    /// A layer's four frozen projections at bf16 or int8.
    public struct PackedLayer {
        public let qkv: PackedLinear, attentionOut: PackedLinear, ffnIn: PackedLinear, ffnOut: PackedLinear

        /// The four in forward order.
        public var all: [PackedLinear] { [qkv, attentionOut, ffnIn, ffnOut] }

        init(qkv: PackedLinear, attentionOut: PackedLinear, ffnIn: PackedLinear, ffnOut: PackedLinear) {
            self.qkv = qkv
            self.attentionOut = attentionOut
            self.ffnIn = ffnIn
            self.ffnOut = ffnOut
        }

        /// From a layer's float32 projections.
        init(_ layer: Layer, precision: Precision, calibrating: Bool) throws {
            func pack(_ w: Tensor?) throws -> PackedLinear {
                guard let w else { throw TaskLoRAError("EncoderWeights: a projection has neither float32 nor packed weights") }
                return try PackedLinear(weight: w.data, outFeatures: w.shape[0], inFeatures: w.shape[1], precision: precision,
                                        calibrating: calibrating)
            }
            try self.init(qkv: pack(layer.qkvWeight), attentionOut: pack(layer.attentionOutWeight),
                          ffnIn: pack(layer.ffnInWeight), ffnOut: pack(layer.ffnOutWeight))
        }
    }

    /// The word embedding table, (V, H): float32, or bf16 as stored (a bf16 checkpoint read for
    /// bf16 compute; rows are widened as they are gathered, exactly).
    public enum EmbeddingTable: @unchecked Sendable {
        case float32(Tensor), bfloat16(BFloat16Tensor)

        /// dst (H) = row `index` (H = `count`) in float32.
        @inline(__always)
        public func copyRow(_ index: Int, count h: Int, into dst: UnsafeMutablePointer<Float>) {
            switch self {
            case .float32(let t): dst.update(from: t.data + index * h, count: h)
            case .bfloat16(let t): BFloat16Tensor.widen(t.bits + index * h, count: h, into: dst)
            }
        }
    }

    /// The arithmetic of the frozen projections (see the type's comment).
    public let precision: Precision

    /// (V, H)
    public let wordEmbeddings: EmbeddingTable
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
    /// Tensors may come from `tensors` (float32) or, as bf16 bits, from `bfloat16`, which is drained:
    /// each matrix is taken out as it is packed (or widened), so loading holds one copy at a time.
    /// `int8Calibration` (int8 only): the projections keep their source weights until
    /// `Int8Calibration.run` has smoothed them (`PackedLinear`, `Int8Smoothing`).
    public init(config: EncoderConfig, tensors: [String: Tensor], bfloat16: BFloat16Store? = nil,
                source: String, precision: Precision = .fp32, int8Calibration: Bool = false) throws {
        let calibrating = precision == .int8 && int8Calibration
        for (name, shape) in Self.expectedShapes(for: config) {
            guard let found = tensors[name]?.shape ?? bfloat16?.shape(of: name) else {
                throw TaskLoRAError.file(source, "missing tensor \(name)")
            }
            guard found == shape else {
                throw TaskLoRAError.file(source, "tensor \(name) has shape \(found), expected \(shape)")
            }
        }
        /// A float32 tensor, widened when it was read as bf16.
        func float(_ name: String) -> Tensor { tensors[name] ?? bfloat16!.take(name)!.widened() }
        /// A bf16 matrix, when one was read and the compute can use it without widening.
        func bits(_ name: String) -> BFloat16Tensor? {
            precision == .fp32 || tensors[name] != nil ? nil : bfloat16?.take(name)
        }
        if let table = bits("embeddings.word_embeddings.weight") {
            wordEmbeddings = .bfloat16(table)
        } else {
            wordEmbeddings = .float32(float("embeddings.word_embeddings.weight"))
        }
        positionEmbeddings = config.isRotary ? nil : float("embeddings.position_embeddings.weight")
        tokenTypeEmbeddings = config.typeVocabSize > 0 ? float("embeddings.token_type_embeddings.weight") : nil
        embeddingNormWeight = float("embeddings.LayerNorm.weight")
        embeddingNormBias = float("embeddings.LayerNorm.bias")
        let h = config.hiddenSize
        var built: [Layer] = []
        for l in 0..<config.numHiddenLayers {
            let p = "encoder.layer.\(l)."
            let parts = ["query", "key", "value"].map { p + "attention.self.\($0)." }
            let qkvB = Tensor(zeros: [3 * h])
            for (i, part) in parts.enumerated() {
                qkvB.data.advanced(by: i * h).update(from: float(part + "bias").data, count: h)
            }
            let biases = (qkv: qkvB, attentionOut: float(p + "attention.output.dense.bias"),
                          ffnIn: float(p + "intermediate.dense.bias"), ffnOut: float(p + "output.dense.bias"))
            let norms = (attention: (float(p + "attention.output.LayerNorm.weight"), float(p + "attention.output.LayerNorm.bias")),
                         ffn: (float(p + "output.LayerNorm.weight"), float(p + "output.LayerNorm.bias")))
            func layer(qkv: Tensor?, attentionOut: Tensor?, ffnIn: Tensor?, ffnOut: Tensor?, packed: PackedLayer?) -> Layer {
                Layer(qkvWeight: qkv, qkvBias: biases.qkv, attentionOutWeight: attentionOut, attentionOutBias: biases.attentionOut,
                      attentionNormWeight: norms.attention.0, attentionNormBias: norms.attention.1,
                      ffnInWeight: ffnIn, ffnInBias: biases.ffnIn, ffnOutWeight: ffnOut, ffnOutBias: biases.ffnOut,
                      ffnNormWeight: norms.ffn.0, ffnNormBias: norms.ffn.1, packed: packed)
            }
            let q = bits(parts[0] + "weight"), k = bits(parts[1] + "weight"), v = bits(parts[2] + "weight")
            let out = bits(p + "attention.output.dense.weight")
            let fc1 = bits(p + "intermediate.dense.weight"), fc2 = bits(p + "output.dense.weight")
            if let q, let k, let v, let out, let fc1, let fc2 {
                // A bf16 checkpoint at bf16/int8: packed straight from its bits, no float32 copy kept.
                let qkv = BFloat16Tensor(zeros: [3 * h, h])
                for (i, m) in [q, k, v].enumerated() { (qkv.bits + i * h * h).update(from: m.bits, count: h * h) }
                func pack(_ m: BFloat16Tensor) throws -> PackedLinear {
                    try PackedLinear(bfloat16Weight: m.bits, outFeatures: m.shape[0], inFeatures: m.shape[1], precision: precision,
                                     calibrating: calibrating)
                }
                built.append(layer(qkv: nil, attentionOut: nil, ffnIn: nil, ffnOut: nil,
                                   packed: PackedLayer(qkv: try pack(qkv), attentionOut: try pack(out),
                                                       ffnIn: try pack(fc1), ffnOut: try pack(fc2))))
                continue
            }
            // float32 projections (widening any that were read as bf16); below fp32 packed, then dropped.
            func widened(_ m: BFloat16Tensor?, _ name: String) -> Tensor { m?.widened() ?? float(name) }
            let qkvW = Tensor(zeros: [3 * h, h])
            for (i, (m, part)) in zip([q, k, v], parts).enumerated() {
                qkvW.data.advanced(by: i * h * h).update(from: widened(m, part + "weight").data, count: h * h)
            }
            let plain = layer(qkv: qkvW, attentionOut: widened(out, p + "attention.output.dense.weight"),
                              ffnIn: widened(fc1, p + "intermediate.dense.weight"), ffnOut: widened(fc2, p + "output.dense.weight"),
                              packed: nil)
            built.append(precision == .fp32 ? plain : try Self.packed(plain, precision: precision, calibrating: calibrating))
        }
        layers = built
        self.precision = precision
    }

    /// The same frozen weights (shared, not copied) at another precision. Needs the float32
    /// projections, which only an fp32 `EncoderWeights` holds. `int8Calibration` as in `init`.
    public func converted(to precision: Precision, int8Calibration: Bool = false) throws -> EncoderWeights {
        try EncoderWeights(sharing: self, precision: precision, calibrating: precision == .int8 && int8Calibration)
    }

    private init(sharing other: EncoderWeights, precision: Precision, calibrating: Bool) throws {
        guard case .float32 = other.wordEmbeddings, other.layers.allSatisfy({ $0.qkvWeight != nil }) else {
            throw TaskLoRAError("EncoderWeights: weights held at \(other.precision) (no float32 copy) cannot be converted to \(precision); load the checkpoint at that precision")
        }
        wordEmbeddings = other.wordEmbeddings
        positionEmbeddings = other.positionEmbeddings
        tokenTypeEmbeddings = other.tokenTypeEmbeddings
        embeddingNormWeight = other.embeddingNormWeight
        embeddingNormBias = other.embeddingNormBias
        self.precision = precision
        layers = precision == .fp32 ? other.layers
            : try other.layers.map { try Self.packed($0, precision: precision, calibrating: calibrating) }
    }

    /// `layer` with its projections packed at `precision` and its float32 projections dropped.
    private static func packed(_ layer: Layer, precision: Precision, calibrating: Bool) throws -> Layer {
        let p = try PackedLayer(layer, precision: precision, calibrating: calibrating)
        return Layer(qkvWeight: nil, qkvBias: layer.qkvBias, attentionOutWeight: nil, attentionOutBias: layer.attentionOutBias,
                     attentionNormWeight: layer.attentionNormWeight, attentionNormBias: layer.attentionNormBias,
                     ffnInWeight: nil, ffnInBias: layer.ffnInBias, ffnOutWeight: nil, ffnOutBias: layer.ffnOutBias,
                     ffnNormWeight: layer.ffnNormWeight, ffnNormBias: layer.ffnNormBias, packed: p)
    }
}
