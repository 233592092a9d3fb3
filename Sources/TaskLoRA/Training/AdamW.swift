import Foundation

/// AdamW over one flat parameter buffer, step for step as `torch.optim.AdamW` (single-tensor path):
///
///     p ← p · (1 − lr·wd)                      decoupled weight decay, at the scheduled lr
///     m ← m + (1 − β1)(g − m)                  torch's lerp
///     v ← β2·v + (1 − β2)·g²
///     p ← p − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + eps)
///
/// Scalars are formed in Double and applied in Float, as torch does with Python floats.
/// Ranges listed in `frozen` are skipped entirely (parameters, m and v unchanged).
public final class AdamW: @unchecked Sendable {
    public let count: Int
    public var beta1: Double
    public var beta2: Double
    public var eps: Double
    public var weightDecay: Double
    /// Updates done so far; bias correction uses `step` after incrementing (1 on the first update).
    public private(set) var step: Int = 0
    /// First and second moments, same layout as the parameters; exposed for checkpointing.
    public let m: UnsafeMutablePointer<Float>
    public let v: UnsafeMutablePointer<Float>
    /// Parameter index ranges that do not train.
    public var frozen: [Range<Int>] = []

    public init(count: Int, beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8, weightDecay: Double = 0.01) {
        self.count = count
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
        m = .allocate(capacity: max(count, 1))
        m.initialize(repeating: 0, count: max(count, 1))
        v = .allocate(capacity: max(count, 1))
        v.initialize(repeating: 0, count: max(count, 1))
    }

    /// An optimizer with a recipe's settings (the learning rate comes with each update).
    public convenience init(count: Int, settings: Recipe.Optimizer) {
        self.init(count: count, beta1: settings.beta1, beta2: settings.beta2, eps: settings.eps,
                  weightDecay: settings.weightDecay)
    }

    deinit {
        m.deallocate()
        v.deallocate()
    }

    /// One update of `count` parameters with their gradients at learning rate `lr`.
    public func update(parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>, lr: Double) {
        step += 1
        let t = Double(step)
        let bc1 = 1 - pow(beta1, t), bc2 = 1 - pow(beta2, t)
        let k = Constants(decay: Float(1 - lr * weightDecay), w1: Float(1 - beta1), beta2: Float(beta2),
                          w2: Float(1 - beta2), negStep: Float(-(lr / bc1)), bc2Sqrt: Float(bc2.squareRoot()),
                          eps: Float(eps))
        let (m, v) = (self.m, self.v)
        for range in trainableRanges() {
            Parallel.forEachChunk(range.count, minChunk: 1 << 14) { chunk in
                AdamW.kernel(parameters, gradients, m, v,
                             range.lowerBound + chunk.lowerBound, range.lowerBound + chunk.upperBound, k)
            }
        }
    }

    /// Updates an adapter set in place, skipping its frozen adapters.
    public func update(_ adapters: LoRAAdapters, lr: Double) {
        precondition(adapters.parameterCount == count, "AdamW was built for \(count) parameters, adapters have \(adapters.parameterCount)")
        frozen = AdamW.frozenRanges(adapters)
        update(parameters: adapters.parameters, gradients: adapters.gradients, lr: lr)
    }

    /// The parameter ranges of the adapters in `adapters.frozen` (each adapter is contiguous).
    public static func frozenRanges(_ adapters: LoRAAdapters) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        for module in adapters.modules where adapters.frozen.contains(module.adapter) {
            let r = module.aOffset..<(module.bOffset + module.bCount)
            if let last = ranges.last, last.upperBound == r.lowerBound {
                ranges[ranges.count - 1] = last.lowerBound..<r.upperBound
            } else {
                ranges.append(r)
            }
        }
        return ranges
    }

    /// The complement of `frozen` within 0..<count.
    func trainableRanges() -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var start = 0
        for r in frozen.map({ $0.clamped(to: 0..<count) }).sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if r.lowerBound > start { ranges.append(start..<r.lowerBound) }
            start = max(start, r.upperBound)
        }
        if start < count { ranges.append(start..<count) }
        return ranges
    }

    struct Constants {
        var decay, w1, beta2, w2, negStep, bc2Sqrt, eps: Float
    }

    /// Elements lo..<hi, sixteen at a time. The arithmetic order matches torch's scalar CPU
    /// kernels (lerp, mul then addcmul, sqrt/div/add, addcdiv).
    @inline(__always)
    static func kernel(_ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>,
                       _ v: UnsafeMutablePointer<Float>, _ lo: Int, _ hi: Int, _ k: Constants) {
        typealias V = SIMD16<Float>
        // lerp(m, g, w) = m + w·(g − m) for w < 0.5, else g − (g − m)·(1 − w).
        let smallW = k.w1 < 0.5
        let w1 = V(repeating: k.w1), oneMinusW1 = V(repeating: 1 - k.w1)
        let decay = V(repeating: k.decay), beta2 = V(repeating: k.beta2), w2 = V(repeating: k.w2)
        let negStep = V(repeating: k.negStep), bc2Sqrt = V(repeating: k.bc2Sqrt), eps = V(repeating: k.eps)
        var i = lo
        while i + 16 <= hi {
            let pp = UnsafeMutableRawPointer(p + i), mp = UnsafeMutableRawPointer(m + i), vp = UnsafeMutableRawPointer(v + i)
            let gi = UnsafeRawPointer(g + i).loadUnaligned(as: V.self)
            var pi = pp.loadUnaligned(as: V.self), mi = mp.loadUnaligned(as: V.self), vi = vp.loadUnaligned(as: V.self)
            pi = pi * decay
            mi = smallW ? mi + w1 * (gi - mi) : gi - (gi - mi) * oneMinusW1
            vi = vi * beta2 + (w2 * gi) * gi
            let denom = vi.squareRoot() / bc2Sqrt + eps
            pi = pi + negStep * (mi / denom)
            pp.storeBytes(of: pi, as: V.self)
            mp.storeBytes(of: mi, as: V.self)
            vp.storeBytes(of: vi, as: V.self)
            i += 16
        }
        while i < hi {
            let gi = g[i]
            var pi = p[i] * k.decay
            let mi = smallW ? m[i] + k.w1 * (gi - m[i]) : gi - (gi - m[i]) * (1 - k.w1)
            let vi = v[i] * k.beta2 + (k.w2 * gi) * gi
            pi = pi + k.negStep * (mi / (vi.squareRoot() / k.bc2Sqrt + k.eps))
            p[i] = pi; m[i] = mi; v[i] = vi
            i += 1
        }
    }

    // MARK: Checkpointing

    /// Everything needed to continue bit for bit: the step count and both moments.
    public struct State: Equatable, Sendable {
        public var step: Int
        public var m: [Float]
        public var v: [Float]
        public init(step: Int, m: [Float], v: [Float]) {
            self.step = step
            self.m = m
            self.v = v
        }
    }

    public var state: State {
        State(step: step, m: Array(UnsafeBufferPointer(start: m, count: count)),
              v: Array(UnsafeBufferPointer(start: v, count: count)))
    }

    /// Restores a saved state; the moments must have this optimizer's parameter count.
    public func restore(_ state: State) throws {
        guard state.m.count == count, state.v.count == count else {
            throw TaskLoRAError("optimizer state holds \(state.m.count)/\(state.v.count) moments, the adapters have \(count) parameters")
        }
        guard state.step >= 0 else { throw TaskLoRAError("optimizer state has a negative step count \(state.step)") }
        step = state.step
        guard count > 0 else { return }
        state.m.withUnsafeBufferPointer { m.update(from: $0.baseAddress!, count: count) }
        state.v.withUnsafeBufferPointer { v.update(from: $0.baseAddress!, count: count) }
    }
}
