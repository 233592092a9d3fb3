import Foundation
import XCTest
import TaskLoRA

/// Per-op gradient checks, as ggml's test-grad0: each op's backward against central finite
/// differences of L = Σ G ⊙ op(x) for a random upstream gradient G, all in Double.
final class GradientCheckTests: XCTestCase {
    var rng = SplitMix64(seed: 7)

    func random(_ n: Int, scale: Double = 1) -> [Double] { (0..<n).map { _ in (rng.nextUnit() * 2 - 1) * scale } }

    /// Compares `analytic` with finite differences of `loss` w.r.t. every element of `x`.
    func assertGradient(_ name: String, x: inout [Double], analytic: [Double], tolerance: Double = 1e-7,
                        eps: Double = 1e-5, loss: ([Double]) -> Double,
                        file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(x.count, analytic.count, file: file, line: line)
        var worst = 0.0
        for i in x.indices {
            let keep = x[i]
            x[i] = keep + eps; let up = loss(x)
            x[i] = keep - eps; let down = loss(x)
            x[i] = keep
            let numeric = (up - down) / (2 * eps)
            let err = abs(numeric - analytic[i]) / max(1, abs(numeric), abs(analytic[i]))
            worst = max(worst, err)
        }
        XCTAssertLessThanOrEqual(worst, tolerance, "\(name): worst relative error \(worst)", file: file, line: line)
        XCTAssertTrue(analytic.contains { $0 != 0 }, "\(name): gradient is all zero, the check proves nothing",
                      file: file, line: line)
    }

    func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

    func testLinearInputGradient() {
        let t = 3, i = 5, o = 4
        var x = random(t * i)
        let w = random(o * i), b = random(o), g = random(t * o)
        func f(_ x: [Double]) -> Double {
            var y = [Double](repeating: 0, count: t * o)
            Linear.forward(x: x, rows: t, inFeatures: i, outFeatures: o, weight: w, bias: b, y: &y)
            return dot(y, g)
        }
        var dx = [Double](repeating: 0, count: t * i)
        Linear.backward(dy: g, rows: t, inFeatures: i, outFeatures: o, weight: w, dx: &dx)
        assertGradient("Linear dx", x: &x, analytic: dx, loss: f)
    }

    func testLoRALinearGradients() {
        let t = 4, i = 6, o = 5, r = 2, ldy = 9, col = 3
        var x = random(t * i), a = random(r * i), b = random(o * r)
        let g = random(t * ldy), s = 0.7
        func f(_ x: [Double], _ a: [Double], _ b: [Double]) -> Double {
            var y = [Double](repeating: 0, count: t * ldy), xa = [Double](repeating: 0, count: t * r)
            y.withUnsafeMutableBufferPointer { yp in
                LoRALinear.forward(x: x, rows: t, inFeatures: i, outFeatures: o, rank: r, a: a, b: b, scale: s,
                                   xa: &xa, y: yp.baseAddress! + col, ldy: ldy)
            }
            // Only the LoRA columns carry gradient; the rest of y stays zero.
            return dot(y, g)
        }
        var xa = [Double](repeating: 0, count: t * r), y = [Double](repeating: 0, count: t * ldy)
        y.withUnsafeMutableBufferPointer { yp in
            LoRALinear.forward(x: x, rows: t, inFeatures: i, outFeatures: o, rank: r, a: a, b: b, scale: s,
                               xa: &xa, y: yp.baseAddress! + col, ldy: ldy)
        }
        var da = [Double](repeating: 0, count: r * i), db = [Double](repeating: 0, count: o * r)
        var dx = [Double](repeating: 0, count: t * i), dxa = [Double](repeating: 0, count: t * r)
        g.withUnsafeBufferPointer { gp in
            LoRALinear.backward(dy: gp.baseAddress! + col, ldy: ldy, x: x, rows: t, inFeatures: i, outFeatures: o,
                                rank: r, a: a, b: b, scale: s, xa: xa, da: &da, db: &db, dx: &dx, dxa: &dxa)
        }
        let a0 = a, b0 = b, x0 = x
        assertGradient("LoRA dx", x: &x, analytic: dx) { f($0, a0, b0) }
        assertGradient("LoRA dA", x: &a, analytic: da) { f(x0, $0, b0) }
        assertGradient("LoRA dB", x: &b, analytic: db) { f(x0, a0, $0) }
    }

    func testLoRAEmbeddingGradients() {
        let v = 7, h = 5, r = 3, t = 6
        let ids: [Int32] = [1, 4, 4, 0, 6, 1]  // repeated ids must accumulate
        var a = random(v * r), b = random(r * h)
        let g = random(t * h), s = 0.5
        func f(_ a: [Double], _ b: [Double]) -> Double {
            var y = [Double](repeating: 0, count: t * h), xa = [Double](repeating: 0, count: t * r)
            LoRAEmbedding.forward(ids: ids, rows: t, hidden: h, rank: r, a: a, b: b, scale: s, xa: &xa, y: &y)
            return dot(y, g)
        }
        var xa = [Double](repeating: 0, count: t * r), y = [Double](repeating: 0, count: t * h)
        LoRAEmbedding.forward(ids: ids, rows: t, hidden: h, rank: r, a: a, b: b, scale: s, xa: &xa, y: &y)
        var da = [Double](repeating: 0, count: v * r), db = [Double](repeating: 0, count: r * h)
        var dxa = [Double](repeating: 0, count: t * r)
        LoRAEmbedding.backward(dy: g, ids: ids, rows: t, hidden: h, rank: r, b: b, scale: s, xa: xa,
                               da: &da, db: &db, dxa: &dxa)
        let a0 = a, b0 = b
        // Rows of A for ids never used (2, 3, 5) must have zero gradient.
        for unused in [2, 3, 5] { XCTAssertEqual(Array(da[(unused * r)..<((unused + 1) * r)]), [0, 0, 0]) }
        assertGradient("LoRA embedding dA", x: &a, analytic: da) { f($0, b0) }
        assertGradient("LoRA embedding dB", x: &b, analytic: db) { f(a0, $0) }
    }

    func testLayerNormGradientWithResidual() {
        let t = 3, c = 7
        var x = random(t * c, scale: 2), res = random(t * c)
        let gamma = random(c), beta = random(c), g = random(t * c), eps = 1e-5
        func f(_ x: [Double], _ res: [Double]) -> Double {
            var y = x
            LayerNorm.forward(x: &y, residual: res, gamma: gamma, beta: beta, rows: t, cols: c, eps: eps)
            return dot(y, g)
        }
        var y = x, xhat = [Double](repeating: 0, count: t * c), rstd = [Double](repeating: 0, count: t)
        LayerNorm.forward(x: &y, residual: res, gamma: gamma, beta: beta, rows: t, cols: c, eps: eps,
                          xhat: &xhat, rstd: &rstd)
        var dz = [Double](repeating: 0, count: t * c)
        LayerNorm.backward(dy: g, xhat: xhat, rstd: rstd, gamma: gamma, rows: t, cols: c, dz: &dz)
        let x0 = x, r0 = res
        // z = x + residual, so both inputs get dz.
        assertGradient("LayerNorm dx", x: &x, analytic: dz) { f($0, r0) }
        assertGradient("LayerNorm dresidual", x: &res, analytic: dz) { f(x0, $0) }
    }

    func testGELUGradient() {
        let n = 40
        var x = random(n, scale: 4)
        let g = random(n)
        func f(_ x: [Double]) -> Double {
            var y = [Double](repeating: 0, count: n)
            GELU.forward(x: x, y: &y, count: n)
            return dot(y, g)
        }
        var dx = [Double](repeating: 0, count: n)
        GELU.backward(dy: g, x: x, dx: &dx, count: n)
        assertGradient("GELU dx", x: &x, analytic: dx, loss: f)
    }

    func testAttentionGradientOverPackedSequences() {
        let heads = 2, d = 4, h = heads * d
        let batch = TokenBatch(sequences: [[0, 0, 0], [0, 0, 0, 0, 0], [0]])
        let t = batch.tokenCount
        var qkv = random(t * 3 * h)
        let g = random(t * h)
        func f(_ qkv: [Double]) -> Double {
            var ctx = [Double](repeating: 0, count: t * h)
            Attention.forward(qkv: qkv, context: &ctx, batch: batch, heads: heads, headDim: d)
            return dot(ctx, g)
        }
        var dqkv = [Double](repeating: 0, count: t * 3 * h)
        Attention.backward(dcontext: g, qkv: qkv, dqkv: &dqkv, batch: batch, heads: heads, headDim: d)
        assertGradient("Attention dqkv", x: &qkv, analytic: dqkv, loss: f)
    }

    func testAttentionTiledOverRowBlocksOfALongSequence() {
        // L > Attention.rowBlock: forward against a naive implementation, backward against finite
        // differences on sampled elements (including rows of the second block).
        let heads = 1, d = 4, h = 4, len = Attention.rowBlock + 44
        let batch = TokenBatch(sequences: [[Int32](repeating: 0, count: len)])
        var qkv = random(len * 3 * h, scale: 0.5)
        let g = random(len * h)
        var ctx = [Double](repeating: 0, count: len * h)
        Attention.forward(qkv: qkv, context: &ctx, batch: batch, heads: heads, headDim: d)
        var worst = 0.0
        for i in Swift.stride(from: 0, to: len, by: 37) {
            var scores = (0..<len).map { j in (0..<d).reduce(0.0) { $0 + qkv[i * 12 + $1] * qkv[j * 12 + 4 + $1] } / 2 }
            let m = scores.max()!
            scores = scores.map { Foundation.exp($0 - m) }
            let z = scores.reduce(0, +)
            for c in 0..<d {
                let ref = (0..<len).reduce(0.0) { $0 + scores[$1] / z * qkv[$1 * 12 + 8 + c] }
                worst = max(worst, abs(ref - ctx[i * h + c]))
            }
        }
        XCTAssertLessThan(worst, 1e-12)
        var dqkv = [Double](repeating: 0, count: len * 3 * h)
        Attention.backward(dcontext: g, qkv: qkv, dqkv: &dqkv, batch: batch, heads: heads, headDim: d)
        func f(_ x: [Double]) -> Double {
            var c = [Double](repeating: 0, count: len * h)
            Attention.forward(qkv: x, context: &c, batch: batch, heads: heads, headDim: d)
            return dot(c, g)
        }
        var maxErr = 0.0
        for i in Swift.stride(from: 3, to: qkv.count, by: 97) {
            let keep = qkv[i], eps = 1e-5
            qkv[i] = keep + eps; let up = f(qkv)
            qkv[i] = keep - eps; let down = f(qkv)
            qkv[i] = keep
            let numeric = (up - down) / (2 * eps)
            maxErr = max(maxErr, abs(numeric - dqkv[i]) / max(1, abs(numeric)))
        }
        XCTAssertLessThan(maxErr, 1e-7)
    }

    func testAttentionIsolatesSequences() {
        // Changing the second sequence must not change the first one's context.
        let heads = 1, d = 4, h = 4
        let batch = TokenBatch(sequences: [[0, 0], [0, 0, 0]])
        var qkv = random(batch.tokenCount * 3 * h)
        var before = [Double](repeating: 0, count: batch.tokenCount * h)
        Attention.forward(qkv: qkv, context: &before, batch: batch, heads: heads, headDim: d)
        for i in (2 * 3 * h)..<qkv.count { qkv[i] += 1 }
        var after = [Double](repeating: 0, count: batch.tokenCount * h)
        Attention.forward(qkv: qkv, context: &after, batch: batch, heads: heads, headDim: d)
        XCTAssertEqual(Array(before[0..<(2 * h)]), Array(after[0..<(2 * h)]))
        XCTAssertNotEqual(Array(before[(2 * h)...]), Array(after[(2 * h)...]))
    }

    func testRoPEBackwardIsTheTransposeRotation() {
        let heads = 2, d = 6, stride = 15
        let batch = TokenBatch(sequences: [[0, 0, 0, 0], [0, 0]])
        let t = batch.tokenCount
        let (cos, sin) = RoPE.tables(length: 4, headDim: d, base: 10_000, as: Double.self)
        var x = random(t * stride)
        let g = random(t * stride)
        func f(_ x: [Double]) -> Double {
            var y = x
            RoPE.apply(x: &y, stride: stride, heads: heads, headDim: d, batch: batch, cos: cos, sin: sin)
            return dot(y, g)
        }
        // Backward of a linear op: dx = Rᵀ g, and columns past the rotated heads pass through.
        var dx = g
        RoPE.apply(x: &dx, stride: stride, heads: heads, headDim: d, batch: batch, cos: cos, sin: sin, inverse: true)
        assertGradient("RoPE dx", x: &x, analytic: dx, loss: f)
        // Position 0 is the identity.
        var y = x
        RoPE.apply(x: &y, stride: stride, heads: heads, headDim: d, batch: batch, cos: cos, sin: sin)
        XCTAssertEqual(Array(y[0..<stride]), Array(x[0..<stride]))
    }

    func testPoolingAndTruncateNormalizeGradients() {
        let h = 6, dim = 4
        let batch = TokenBatch(sequences: [[0, 0, 0], [0], [0, 0]])
        let t = batch.tokenCount, b = batch.sequenceCount
        for pooling in Pooling.allCases {
            var hidden = random(t * h)
            let g = random(b * dim)
            func f(_ hidden: [Double]) -> Double {
                var pooled = [Double](repeating: 0, count: b * h), out = [Double](repeating: 0, count: b * dim)
                pooling.forward(hidden: hidden, batch: batch, hiddenSize: h, pooled: &pooled)
                TruncateNormalize.forward(pooled: pooled, rows: b, hiddenSize: h, dim: dim, out: &out)
                return dot(out, g)
            }
            var pooled = [Double](repeating: 0, count: b * h), out = [Double](repeating: 0, count: b * dim)
            pooling.forward(hidden: hidden, batch: batch, hiddenSize: h, pooled: &pooled)
            TruncateNormalize.forward(pooled: pooled, rows: b, hiddenSize: h, dim: dim, out: &out)
            var dpooled = [Double](repeating: 0, count: b * h), dhidden = [Double](repeating: 0, count: t * h)
            TruncateNormalize.backward(dout: g, out: out, pooled: pooled, rows: b, hiddenSize: h, dim: dim, dpooled: &dpooled)
            // Components past `dim` are cut away: their gradient must be exactly zero.
            for r in 0..<b { XCTAssertEqual(Array(dpooled[(r * h + dim)..<((r + 1) * h)]), [0, 0]) }
            pooling.backward(dpooled: dpooled, batch: batch, hiddenSize: h, dhidden: &dhidden)
            assertGradient("\(pooling) pooling + truncate-normalize", x: &hidden, analytic: dhidden, loss: f)
        }
    }

    func testDropoutBackwardUsesTheSameMask() {
        let n = 50
        let x = random(n), g = random(n)
        var mask = [Double](repeating: 0, count: n), y = [Double](repeating: 0, count: n)
        var r = SplitMix64(seed: 3)
        Dropout.forward(x: x, count: n, p: 0.3, rng: &r, mask: &mask, y: &y)
        XCTAssertTrue(mask.contains(0) && mask.contains { abs($0 - 1 / 0.7) < 1e-12 })
        var dx = [Double](repeating: 0, count: n)
        Dropout.backward(dy: g, mask: mask, count: n, dx: &dx)
        for i in 0..<n { XCTAssertEqual(dx[i], g[i] * mask[i]) }
    }
}
