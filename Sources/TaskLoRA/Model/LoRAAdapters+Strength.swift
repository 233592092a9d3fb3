/// Adapter strength λ: the update of every trained (not frozen) adapter, ΔW = (α/r) · B · A, scaled
/// by λ. λ = 0 is the base model, λ = 1 the adapter as trained, in between the linear
/// interpolation of the weights that WiSE-FT (Wortsman et al., CVPR 2022) showed keeps most of a
/// fine-tuning's gain while giving back less of what the base did well — PEFT's adapter weights in
/// `add_weighted_adapter` and diffusers' `lora_scale` are the same knob. Scaling B is exact and
/// leaves A, the rank and alpha alone, so an adapter at strength λ is an ordinary adapter: what
/// best.h5 holds when `eval.strengths` picked λ.
extension LoRAAdapters {
    /// Scales every trained adapter's B by `strength`, for good (`--adapter-strength` of the
    /// commands that embed or export). Frozen adapters keep theirs.
    public func applyStrength(_ strength: Double) {
        let s = Float(strength)
        for m in modules where !frozen.contains(m.adapter) {
            let b = parameters + m.bOffset
            for i in 0..<m.bCount { b[i] *= s }
        }
    }

    /// Runs `body` with every trained adapter's B scaled by `strength`, then puts the exact
    /// values back. Frozen adapters (e.g. the five jina tasks while a sixth trains) keep theirs.
    public func withStrength<T>(_ strength: Double, _ body: () throws -> T) rethrows -> T {
        guard strength != 1 else { return try body() }
        let trained = modules.filter { !frozen.contains($0.adapter) }
        var saved = [Float]()
        saved.reserveCapacity(trained.reduce(0) { $0 + $1.bCount })
        for m in trained { saved.append(contentsOf: UnsafeBufferPointer(start: parameters + m.bOffset, count: m.bCount)) }
        applyStrength(strength)
        defer {
            saved.withUnsafeBufferPointer { all in
                var at = 0
                for m in trained {
                    (parameters + m.bOffset).update(from: all.baseAddress! + at, count: m.bCount)
                    at += m.bCount
                }
            }
        }
        return try body()
    }
}

extension AdapterArchive {
    /// This adapter at `strength`: every `.lora_B` tensor scaled, A and the attributes as they are
    /// (what `LoRAAdapters.applyStrength` does to the flat buffer, for an adapter read from a file).
    public func atStrength(_ strength: Double) -> AdapterArchive {
        var out = self
        let s = Float(strength)
        for (name, t) in tensors where name.hasSuffix(".lora_B") {
            out.tensors[name] = Tensor(shape: t.shape, values: t.array.map { $0 * s })
        }
        return out
    }
}
