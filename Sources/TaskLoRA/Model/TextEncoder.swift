/// The one transformer encoder of tasklora (post-LayerNorm BERT / XLM-RoBERTa, optionally with
/// rotary positions). Inference and training run this same forward pass: with a `Tape` each op
/// also keeps what its backward needs and records its vector-Jacobian product, right after its
/// forward call, so the two read side by side.
///
/// Base weights are frozen: backward computes input gradients through them and gradients for the
/// LoRA matrices only. The frozen projections run at `weights.precision`; their backward uses the
/// float32 weights for now (bf16 backward comes with bf16 training), and int8 is inference only.
public final class TextEncoder: @unchecked Sendable {
    public let config: EncoderConfig
    public let weights: EncoderWeights
    /// Activation buffers of untaped (inference) passes, reused from call to call.
    private let arena = ActivationArena()
    /// RoPE base used at run time (jina-embeddings-v3 trains at 10,000 and infers at 20,000).
    public var rotaryBase: Float
    /// Seeds LoRA dropout masks; advanced once per taped pass.
    public var dropoutRNG = SplitMix64(seed: 0)

    public init(config: EncoderConfig, weights: EncoderWeights) {
        self.config = config
        self.weights = weights
        self.rotaryBase = config.rotaryEmbBase
    }

    /// Runs the encoder over a packed batch and returns the last hidden states (T, H).
    /// `adapters` applies LoRA to the sequences `batch.adapters` routes to them. With a `tape`,
    /// the pass is recorded for `backward(tape:dHidden:)`.
    /// `observeHiddenState(i, states)` sees the embedding output (i = 0) and every layer's output.
    /// `training` (default: whether there is a tape) turns on LoRA dropout; GradCache's first,
    /// untaped pass sets it so both passes draw the same masks.
    public func forward(_ batch: TokenBatch, adapters: LoRAAdapters? = nil, tape: Tape? = nil, training: Bool? = nil,
                        observeHiddenState: ((Int, UnsafePointer<Float>) -> Void)? = nil) -> Tensor {
        precondition(tape == nil || weights.precision != .int8, "TextEncoder: int8 weights are for inference only")
        let training = training ?? (tape != nil)
        let c = config, t = batch.tokenCount, h = c.hiddenSize, f = c.intermediateSize
        let heads = c.numAttentionHeads, d = c.headDim, eps = c.layerNormEps
        let runs = adapters == nil ? [] : batch.adapterRuns
        // Taped passes keep one buffer per layer; inference reuses one set for all layers.
        func buffer(_ layer: Int, _ name: String, _ count: Int) -> UnsafeMutablePointer<Float> {
            if let tape { return tape.saved("l\(layer).\(name)", count: count) }
            return arena.buffer(name, count: count)
        }
        // Gradients: one set of buffers for all layers (a layer's are dead once backward moves on
        // to the layer below), except the gradient of each layer's input, which the layer below
        // reads; those alternate between two buffers.
        func grad(_ layer: Int, _ name: String, _ count: Int) -> UnsafeMutablePointer<Float> {
            tape!.gradient("l\(layer).\(name)", storage: Self.gradientStorage(layer, name), count: count)
        }

        // Embeddings (+ LoRA on the tables), then LayerNorm.
        let x0 = buffer(0, "in", t * h)
        Embedding.forward(batch: batch, weights: weights, config: c, x: x0)
        for run in runs { applyEmbeddingLoRA(batch: batch, run: run, adapters: adapters!, x: x0, tape: tape) }
        let xhat0 = tape.map { _ in buffer(0, "xhat0", t * h) }, rstd0 = tape.map { _ in buffer(0, "rstd0", t) }
        LayerNorm.forward(x: x0, residual: nil, gamma: weights.embeddingNormWeight.data,
                          beta: weights.embeddingNormBias.data, rows: t, cols: h, eps: eps, xhat: xhat0, rstd: rstd0)
        if let tape {
            let gamma = weights.embeddingNormWeight.data
            tape.record {
                let dz = grad(0, "embedding", t * h)
                LayerNorm.backward(dy: grad(0, "in", t * h), xhat: xhat0!, rstd: rstd0!, gamma: gamma, rows: t, cols: h, dz: dz)
                for run in runs { self.embeddingLoRABackward(batch: batch, run: run, adapters: adapters!, dEmbedding: dz, tape: tape) }
            }
        }
        observeHiddenState?(0, x0)

        let rope: (cos: [Float], sin: [Float])? =
            c.isRotary ? RoPE.tables(length: batch.maxLength, headDim: d, base: rotaryBase) : nil
        var x = x0
        for (l, layer) in weights.layers.enumerated() {
            let xin = x
            // Attention block: qkv projection (+ LoRA), RoPE, attention, output projection (+ LoRA).
            let qkv = buffer(l, "qkv", t * 3 * h)
            Linear.forward(x: xin, rows: t, inFeatures: h, outFeatures: 3 * h, weight: layer.qkvWeight?.data,
                           packed: layer.packed?.qkv, bias: layer.qkvBias.data, y: qkv)
            let qkvWeight = layer.qkvWeight?.data, packedQkv = layer.packed?.qkv
            tape?.record {
                Linear.backward(dy: grad(l, "qkv", t * 3 * h), rows: t, inFeatures: h, outFeatures: 3 * h,
                                weight: qkvWeight, packed: packedQkv, dx: grad(l, "in", t * h))
            }
            for target in [LoRATarget.qkv, .query, .key, .value] {
                linearLoRA(l, target, runs: runs, adapters: adapters, x: xin, inF: h, y: qkv, ldy: 3 * h, tape: tape, training: training,
                           dy: { grad(l, "qkv", t * 3 * h) }, dx: { grad(l, "in", t * h) })
            }
            if let rope {
                // q and k are the first 2H columns of each row: rotate them as 2·heads heads.
                RoPE.apply(x: qkv, stride: 3 * h, heads: 2 * heads, headDim: d, batch: batch, cos: rope.cos, sin: rope.sin)
                tape?.record {
                    RoPE.apply(x: grad(l, "qkv", t * 3 * h), stride: 3 * h, heads: 2 * heads, headDim: d, batch: batch,
                               cos: rope.cos, sin: rope.sin, inverse: true)
                }
            }
            let context = buffer(l, "context", t * h)
            Attention.forward(qkv: qkv, context: context, batch: batch, heads: heads, headDim: d)
            tape?.record {
                Attention.backward(dcontext: grad(l, "context", t * h), qkv: qkv, dqkv: grad(l, "qkv", t * 3 * h),
                                   batch: batch, heads: heads, headDim: d)
            }
            let projected = arena.buffer("projected", count: t * h)
            Linear.forward(x: context, rows: t, inFeatures: h, outFeatures: h, weight: layer.attentionOutWeight?.data,
                           packed: layer.packed?.attentionOut, bias: layer.attentionOutBias.data, y: projected)
            let outWeight = layer.attentionOutWeight?.data, packedAttentionOut = layer.packed?.attentionOut
            tape?.record {
                Linear.backward(dy: grad(l, "attention", t * h), rows: t, inFeatures: h, outFeatures: h,
                                weight: outWeight, packed: packedAttentionOut, dx: grad(l, "context", t * h))
            }
            linearLoRA(l, .attentionOutput, runs: runs, adapters: adapters, x: context, inF: h, y: projected, ldy: h,
                       tape: tape, training: training, dy: { grad(l, "attention", t * h) }, dx: { grad(l, "context", t * h) })
            // x1 = LN(xin + attention)
            let x1 = buffer(l, "x1", t * h)
            if x1 != xin { x1.update(from: xin, count: t * h) }
            let xhat1 = tape.map { _ in buffer(l, "xhat1", t * h) }, rstd1 = tape.map { _ in buffer(l, "rstd1", t) }
            LayerNorm.forward(x: x1, residual: projected, gamma: layer.attentionNormWeight.data,
                              beta: layer.attentionNormBias.data, rows: t, cols: h, eps: eps, xhat: xhat1, rstd: rstd1)
            let gamma1 = layer.attentionNormWeight.data
            tape?.record {
                // z1 = xin + attention: the residual and the branch both receive dz1.
                let dz = grad(l, "attention", t * h)
                LayerNorm.backward(dy: grad(l, "x1", t * h), xhat: xhat1!, rstd: rstd1!, gamma: gamma1, rows: t, cols: h, dz: dz)
                VectorMath.add(grad(l, "in", t * h), dz, count: t * h)
            }

            // Feed-forward block: fc1 (+ LoRA), GELU, fc2 (+ LoRA).
            let pre = buffer(l, "pre", t * f)
            Linear.forward(x: x1, rows: t, inFeatures: h, outFeatures: f, weight: layer.ffnInWeight?.data,
                           packed: layer.packed?.ffnIn, bias: layer.ffnInBias.data, y: pre)
            let ffnInWeight = layer.ffnInWeight?.data, packedFfnIn = layer.packed?.ffnIn
            tape?.record {
                Linear.backward(dy: grad(l, "pre", t * f), rows: t, inFeatures: h, outFeatures: f,
                                weight: ffnInWeight, packed: packedFfnIn, dx: grad(l, "x1", t * h))
            }
            linearLoRA(l, .ffnIn, runs: runs, adapters: adapters, x: x1, inF: h, y: pre, ldy: f, tape: tape, training: training,
                       dy: { grad(l, "pre", t * f) }, dx: { grad(l, "x1", t * h) })
            // The GELU output is recomputed in backward (cheap) rather than kept.
            let activated = arena.buffer("activated", count: t * f)
            GELU.forward(x: pre, y: activated, count: t * f)
            tape?.record {
                GELU.backward(dy: grad(l, "activated", t * f), x: pre, dx: grad(l, "pre", t * f), count: t * f)
            }
            Linear.forward(x: activated, rows: t, inFeatures: f, outFeatures: h, weight: layer.ffnOutWeight?.data,
                           packed: layer.packed?.ffnOut, bias: layer.ffnOutBias.data, y: projected)
            let ffnOutWeight = layer.ffnOutWeight?.data, packedFfnOut = layer.packed?.ffnOut
            tape?.record {
                Linear.backward(dy: grad(l, "ffn", t * h), rows: t, inFeatures: f, outFeatures: h,
                                weight: ffnOutWeight, packed: packedFfnOut, dx: grad(l, "activated", t * f))
            }
            linearLoRA(l, .ffnOut, runs: runs, adapters: adapters, x: activated, inF: f, y: projected, ldy: h, tape: tape,
                       training: training,
                       dy: { grad(l, "ffn", t * h) }, dx: { grad(l, "activated", t * f) },
                       recomputeX: { scratch, rows in
                           GELU.forward(x: pre + rows.lowerBound * f, y: scratch, count: rows.count * f)
                       })
            // x2 = LN(x1 + ffn): the next layer's input.
            let x2 = buffer(l + 1, "in", t * h)
            if x2 != x1 { x2.update(from: x1, count: t * h) }
            let xhat2 = tape.map { _ in buffer(l, "xhat2", t * h) }, rstd2 = tape.map { _ in buffer(l, "rstd2", t) }
            LayerNorm.forward(x: x2, residual: projected, gamma: layer.ffnNormWeight.data,
                              beta: layer.ffnNormBias.data, rows: t, cols: h, eps: eps, xhat: xhat2, rstd: rstd2)
            let gamma2 = layer.ffnNormWeight.data
            tape?.record {
                let dz = grad(l, "ffn", t * h)
                LayerNorm.backward(dy: grad(l + 1, "in", t * h), xhat: xhat2!, rstd: rstd2!, gamma: gamma2, rows: t, cols: h, dz: dz)
                VectorMath.add(grad(l, "x1", t * h), dz, count: t * h)
            }
            x = x2
            observeHiddenState?(l + 1, x)
        }
        let out = Tensor(zeros: [t, h])
        out.data.update(from: x, count: t * h)
        return out
    }

    /// Runs the recorded backward pass from dHidden (T, H), the gradient of the last hidden states,
    /// accumulating into `adapters.gradients`.
    public func backward(tape: Tape, dHidden: UnsafePointer<Float>, tokenCount t: Int) {
        let top = config.numHiddenLayers
        let dx = tape.gradient("l\(top).in", storage: Self.gradientStorage(top, "in"), count: t * config.hiddenSize)
        VectorMath.add(dx, dHidden, count: t * config.hiddenSize)
        tape.backward()
    }

    /// Where the gradient of layer `layer`'s activation `name` lives (see `forward`).
    static func gradientStorage(_ layer: Int, _ name: String) -> String {
        name == "in" ? "in.\(layer % 2)" : name
    }

    // MARK: - LoRA application per adapter run

    /// Adds the LoRA update of (`layer`, `target`) to y for every run whose adapter has that module,
    /// and records its backward. `dy`/`dx` fetch the gradient buffers at backward time. `recomputeX`
    /// rebuilds the given rows of an input that is not kept (the GELU output) into scratch for backward.
    private func linearLoRA(_ layer: Int, _ target: LoRATarget, runs: [(adapter: Int, rows: Range<Int>)],
                            adapters: LoRAAdapters?, x: UnsafeMutablePointer<Float>, inF: Int,
                            y: UnsafeMutablePointer<Float>, ldy: Int, tape: Tape?, training: Bool,
                            dy: @escaping () -> UnsafeMutablePointer<Float>,
                            dx: @escaping () -> UnsafeMutablePointer<Float>,
                            recomputeX: ((UnsafeMutablePointer<Float>, Range<Int>) -> Void)? = nil) {
        guard let adapters else { return }
        for (ri, run) in runs.enumerated() {
            guard let m = adapters.module(adapter: run.adapter, layer: layer, target: target) else { continue }
            let rows = run.rows.count, r0 = run.rows.lowerBound
            let key = "l\(layer).\(target.rawValue).run\(ri)"
            let xa = tape?.saved(key + ".xa", count: rows * m.rank) ?? arena.buffer("lora.xa", count: rows * m.rank)
            var input = UnsafePointer(x + r0 * inF)
            var mask: UnsafeMutablePointer<Float>? = nil
            if training, m.dropout > 0 {
                // Dropout only while training; the dropped input is kept for dA.
                let dropped = tape?.saved(key + ".dropped", count: rows * inF) ?? arena.buffer("lora.dropped", count: rows * inF)
                mask = tape?.saved(key + ".mask", count: rows * inF) ?? arena.buffer("lora.mask", count: rows * inF)
                Dropout.forward(x: input, count: rows * inF, p: m.dropout, rng: &dropoutRNG, mask: mask!, y: dropped)
                input = UnsafePointer(dropped)
            }
            let p = adapters.parameters
            LoRALinear.forward(x: input, rows: rows, inFeatures: m.inFeatures, outFeatures: m.outFeatures, rank: m.rank,
                               a: p + m.aOffset, b: p + m.bOffset, scale: m.scale, xa: xa,
                               y: y + r0 * ldy + m.outputColumn, ldy: ldy)
            guard let tape else { continue }
            let frozen = adapters.frozen.contains(run.adapter)
            let keptInput = input, ownsInput = mask != nil
            tape.record {
                let g = adapters.gradients
                let dxa = self.arena.buffer("lora.dxa", count: rows * m.rank)
                var xForGrad = keptInput
                if !ownsInput, let recomputeX {
                    // Only this run's rows of the input are rebuilt.
                    let scratch = self.arena.buffer("lora.recomputed", count: rows * inF)
                    recomputeX(scratch, run.rows)
                    xForGrad = UnsafePointer(scratch)
                }
                let dIn: UnsafeMutablePointer<Float>
                if mask != nil {
                    dIn = self.arena.buffer("lora.dropped.grad", count: rows * inF)
                    dIn.update(repeating: 0, count: rows * inF)
                } else {
                    dIn = dx() + r0 * inF
                }
                // Frozen adapters still pass input gradients but their own gradients go to scratch.
                let da = frozen ? self.arena.buffer("lora.frozen.da", count: m.aCount) : g + m.aOffset
                let db = frozen ? self.arena.buffer("lora.frozen.db", count: m.bCount) : g + m.bOffset
                LoRALinear.backward(dy: dy() + r0 * ldy + m.outputColumn, ldy: ldy, x: xForGrad, rows: rows,
                                    inFeatures: m.inFeatures, outFeatures: m.outFeatures, rank: m.rank,
                                    a: p + m.aOffset, b: p + m.bOffset, scale: m.scale, xa: xa,
                                    da: da, db: db, dx: dIn, dxa: dxa)
                if let mask { Dropout.backward(dy: dIn, mask: mask, count: rows * inF, dx: dx() + r0 * inF) }
            }
        }
    }

    private func applyEmbeddingLoRA(batch: TokenBatch, run: (adapter: Int, rows: Range<Int>), adapters: LoRAAdapters,
                                    x: UnsafeMutablePointer<Float>, tape: Tape?) {
        let h = config.hiddenSize, rows = run.rows.count, r0 = run.rows.lowerBound
        for target in [LoRATarget.wordEmbeddings, .tokenTypeEmbeddings] {
            guard let m = adapters.module(adapter: run.adapter, layer: -1, target: target) else { continue }
            let ids = embeddingIDs(batch: batch, target: target, rows: run.rows)
            let key = "emb.\(target.rawValue).\(r0)"
            let xa = tape?.saved(key + ".xa", count: rows * m.rank) ?? arena.buffer("lora.xa", count: rows * m.rank)
            let p = adapters.parameters
            ids.withUnsafeBufferPointer { idp in
                LoRAEmbedding.forward(ids: idp.baseAddress!, rows: rows, hidden: h, rank: m.rank, a: p + m.aOffset,
                                      b: p + m.bOffset, scale: m.scale, xa: xa, y: x + r0 * h)
            }
        }
    }

    private func embeddingLoRABackward(batch: TokenBatch, run: (adapter: Int, rows: Range<Int>), adapters: LoRAAdapters,
                                       dEmbedding: UnsafeMutablePointer<Float>, tape: Tape) {
        let h = config.hiddenSize, rows = run.rows.count, r0 = run.rows.lowerBound
        guard !adapters.frozen.contains(run.adapter) else { return }
        for target in [LoRATarget.wordEmbeddings, .tokenTypeEmbeddings] {
            guard let m = adapters.module(adapter: run.adapter, layer: -1, target: target) else { continue }
            let ids = embeddingIDs(batch: batch, target: target, rows: run.rows)
            let xa = tape.saved("emb.\(target.rawValue).\(r0).xa", count: rows * m.rank)
            let dxa = arena.buffer("lora.dxa", count: rows * m.rank)
            let p = adapters.parameters, g = adapters.gradients
            ids.withUnsafeBufferPointer { idp in
                LoRAEmbedding.backward(dy: dEmbedding + r0 * h, ids: idp.baseAddress!, rows: rows, hidden: h, rank: m.rank,
                                       b: p + m.bOffset, scale: m.scale, xa: xa, da: g + m.aOffset, db: g + m.bOffset,
                                       dxa: dxa)
            }
        }
    }

    private func embeddingIDs(batch: TokenBatch, target: LoRATarget, rows: Range<Int>) -> [Int32] {
        if target == .wordEmbeddings { return Array(batch.ids[rows]) }
        return batch.tokenTypes.map { Array($0[rows]) } ?? [Int32](repeating: 0, count: rows.count)
    }
}
