import Foundation
import XCTest
import TaskLoRA

/// The contrastive losses: central finite differences in Double for every backward, naive
/// double-loop re-implementations of every loss value, and parity with sentence-transformers
/// (Tests/Fixtures/losses/losses.json, made by scripts/reference/make_loss_fixtures.py).
///
/// FD metric: max_i |analytic_i − fd_i| / max_i |fd_i| (relative to the largest gradient entry),
/// eps = 1e-6. At that eps the truncation error (~eps² f''') and the rounding error (~1e-16·|f|/eps)
/// are both ~1e-9 relative even at τ = 0.02, so the tolerances below (1e-6) leave a wide margin
/// while any wrong term (a missing factor, a dropped candidate) shows up as ≥ 1e-2.
final class LossTests: XCTestCase {

    // MARK: CosineSimilarity, TruncateNormalize, Pooling

    func testCosineSimilarityForwardAndGradient() throws {
        var rng = SplitMix64(seed: 1)
        let n = 3, m = 4, d = 5, ld = 7  // ld > m: S written into a wider matrix
        var e1 = ltGaussian(n * d, &rng), e2 = ltGaussian(m * d, &rng)
        let w = ltGaussian(n * ld, &rng)
        func f(_ a: [Double], _ b: [Double]) -> Double {
            var s = [Double](repeating: 0, count: n * ld)
            CosineSimilarity.forward(e1: a, e2: b, n: n, m: m, d: d, s: &s, lds: ld)
            return (0..<n).reduce(0) { acc, i in acc + (0..<m).reduce(0) { $0 + w[i * ld + $1] * s[i * ld + $1] } }
        }
        // Forward against the naive triple loop.
        var s = [Double](repeating: 0, count: n * ld)
        CosineSimilarity.forward(e1: e1, e2: e2, n: n, m: m, d: d, s: &s, lds: ld)
        for i in 0..<n {
            for j in 0..<m {
                let naive = (0..<d).reduce(0.0) { $0 + e1[i * d + $1] * e2[j * d + $1] }
                XCTAssertEqual(s[i * ld + j], naive, accuracy: 1e-14)
            }
        }
        var d1 = [Double](repeating: 0.5, count: n * d), d2 = [Double](repeating: -0.25, count: m * d)
        let start1 = d1, start2 = d2
        CosineSimilarity.backward(ds: w, e1: e1, e2: e2, n: n, m: m, d: d, ldds: ld, dE1: &d1, dE2: &d2)
        // Gradients accumulate onto what the buffers held.
        let g1 = zip(d1, start1).map { $0 - $1 }, g2 = zip(d2, start2).map { $0 - $1 }
        let err1 = ltFDError(&e1, analytic: g1) { f($0, e2) }
        let err2 = ltFDError(&e2, analytic: g2) { f(e1, $0) }
        ltReport("CosineSimilarity", max(err1, err2))
        XCTAssertLessThan(max(err1, err2), 1e-8)

        // Pairwise form.
        var p1 = ltGaussian(n * d, &rng), p2 = ltGaussian(n * d, &rng)
        let wp = ltGaussian(n, &rng)
        func fp(_ a: [Double], _ b: [Double]) -> Double {
            var s = [Double](repeating: 0, count: n)
            CosineSimilarity.pairwiseForward(e1: a, e2: b, n: n, d: d, s: &s)
            return zip(s, wp).reduce(0) { $0 + $1.0 * $1.1 }
        }
        var q1 = [Double](repeating: 0, count: n * d), q2 = q1
        CosineSimilarity.pairwiseBackward(ds: wp, e1: p1, e2: p2, n: n, d: d, dE1: &q1, dE2: &q2)
        let errP = max(ltFDError(&p1, analytic: q1) { fp($0, p2) }, ltFDError(&p2, analytic: q2) { fp(p1, $0) })
        ltReport("CosineSimilarity pairwise", errP)
        XCTAssertLessThan(errP, 1e-8)
    }

    func testTruncateNormalizeGradient() throws {
        var rng = SplitMix64(seed: 2)
        let rows = 4, h = 10
        var pooled = ltGaussian(rows * h, &rng)
        for dim in [2, 3, 10] {
            let w = ltGaussian(rows * dim, &rng)
            func f(_ x: [Double]) -> Double {
                var y = [Double](repeating: 0, count: rows * dim)
                TruncateNormalize.forward(pooled: x, rows: rows, hiddenSize: h, dim: dim, out: &y)
                return zip(y, w).reduce(0) { $0 + $1.0 * $1.1 }
            }
            var y = [Double](repeating: 0, count: rows * dim)
            TruncateNormalize.forward(pooled: pooled, rows: rows, hiddenSize: h, dim: dim, out: &y)
            for r in 0..<rows {
                let norm = (0..<dim).reduce(0.0) { $0 + pooled[r * h + $1] * pooled[r * h + $1] }.squareRoot()
                for c in 0..<dim { XCTAssertEqual(y[r * dim + c], pooled[r * h + c] / norm, accuracy: 1e-14) }
            }
            var g = [Double](repeating: 0, count: rows * h)
            TruncateNormalize.backward(dout: w, out: y, pooled: pooled, rows: rows, hiddenSize: h, dim: dim, dpooled: &g)
            // Columns past `dim` must get nothing.
            for r in 0..<rows { for c in dim..<h { XCTAssertEqual(g[r * h + c], 0) } }
            let err = ltFDError(&pooled, analytic: g, f)
            ltReport("TruncateNormalize dim \(dim)", err)
            XCTAssertLessThan(err, 1e-8)
        }
    }

    func testPoolingGradient() throws {
        var rng = SplitMix64(seed: 3)
        let batch = TokenBatch(sequences: [[5, 6, 7], [8], [9, 10, 11, 12]])
        let h = 3, t = batch.tokenCount
        var hidden = ltGaussian(t * h, &rng)
        let w = ltGaussian(batch.sequenceCount * h, &rng)
        for pooling in Pooling.allCases {
            func f(_ x: [Double]) -> Double {
                var p = [Double](repeating: 0, count: batch.sequenceCount * h)
                pooling.forward(hidden: x, batch: batch, hiddenSize: h, pooled: &p)
                return zip(p, w).reduce(0) { $0 + $1.0 * $1.1 }
            }
            var g = [Double](repeating: 0, count: t * h)
            pooling.backward(dpooled: w, batch: batch, hiddenSize: h, dhidden: &g)
            let err = ltFDError(&hidden, analytic: g, f)
            ltReport("Pooling \(pooling)", err)
            XCTAssertLessThan(err, 1e-8)
        }
    }

    // MARK: InfoNCE

    func testInfoNCEValueMatchesNaiveLoops() throws {
        var rng = SplitMix64(seed: 4)
        let n = 5, d = 8
        for k in [0, 1, 3] {
            let q = ltUnitRows(n, d, &rng), p = ltUnitRows(n, d, &rng), neg = ltUnitRows(n * k, d, &rng)
            let configs: [InfoNCE] = [
                InfoNCE(temperature: 0.05), InfoNCE(temperature: 0.05, reverse: true),
                InfoNCE(temperature: 0.1, symmetric: true), InfoNCE(temperature: 0.05, reverse: true, symmetric: true),
            ] + (k > 0 ? [InfoNCE.classification, InfoNCE(temperature: 0.05, inBatchNegatives: false)] : [])
            for loss in configs {
                let value: Double = try loss.loss(anchors: q, positives: p, negatives: k > 0 ? neg : nil, n: n, k: k, d: d)
                let naive = ltNaiveInfoNCE(loss, q: q, p: p, neg: neg, n: n, k: k, d: d)
                XCTAssertEqual(value, naive, accuracy: 1e-12 * max(1, abs(naive)), "\(loss) k \(k)")
            }
        }
    }

    func testInfoNCEGradients() throws {
        var rng = SplitMix64(seed: 5)
        let n = 4, d = 6
        var worst = 0.0
        for k in [0, 2, 7] {
            let configs: [InfoNCE] = [
                InfoNCE(temperature: 0.05), InfoNCE.retrieval, InfoNCE(temperature: 0.05, symmetric: true),
                InfoNCE(temperature: 0.02, reverse: true),
            ] + (k > 0 ? [InfoNCE.classification] : [])
            for loss in configs {
                var q = ltUnitRows(n, d, &rng), p = ltUnitRows(n, d, &rng), neg = ltUnitRows(n * k, d, &rng)
                func f(_ q: [Double], _ p: [Double], _ neg: [Double]) -> Double {
                    try! loss.loss(anchors: q, positives: p, negatives: k > 0 ? neg : nil, n: n, k: k, d: d)
                }
                var dq = [Double](repeating: 0, count: n * d), dp = dq, dn = [Double](repeating: 0, count: n * k * d)
                let value: Double = try loss.loss(anchors: q, positives: p, negatives: k > 0 ? neg : nil, n: n, k: k, d: d,
                                                  dAnchors: &dq, dPositives: &dp, dNegatives: &dn)
                XCTAssertEqual(value, f(q, p, neg), accuracy: 1e-14)
                var err = ltFDError(&q, analytic: dq) { f($0, p, neg) }
                err = max(err, ltFDError(&p, analytic: dp) { f(q, $0, neg) })
                if k > 0 { err = max(err, ltFDError(&neg, analytic: dn) { f(q, p, $0) }) }
                ltReport("InfoNCE τ \(loss.temperature) rev \(loss.reverse) sym \(loss.symmetric) " +
                       "inBatch \(loss.inBatchNegatives) k \(k)", err)
                XCTAssertLessThan(err, 1e-6)
                worst = max(worst, err)
            }
        }
        ltReport("InfoNCE worst", worst)
    }

    func testInfoNCEPartialGradientsAndAccumulation() throws {
        // Only dPositives requested: the same numbers as the full run, added onto existing contents.
        var rng = SplitMix64(seed: 6)
        let n = 3, d = 4, k = 2
        let q = ltUnitRows(n, d, &rng), p = ltUnitRows(n, d, &rng), neg = ltUnitRows(n * k, d, &rng)
        var dq = [Double](repeating: 0, count: n * d), dp = dq, dn = [Double](repeating: 0, count: n * k * d)
        _ = try InfoNCE.retrieval.loss(anchors: q, positives: p, negatives: neg, n: n, k: k, d: d,
                                       dAnchors: &dq, dPositives: &dp, dNegatives: &dn)
        var only = [Double](repeating: 1, count: n * d)
        _ = try InfoNCE.retrieval.loss(anchors: q, positives: p, negatives: neg, n: n, k: k, d: d, dPositives: &only)
        for i in 0..<(n * d) { XCTAssertEqual(only[i], 1 + dp[i], accuracy: 1e-15) }
    }

    func testInfoNCEInvalidSettingsThrow() {
        let x = [Double](repeating: 0.5, count: 8)
        func attempt(_ loss: InfoNCE, k: Int, negatives: [Double]? = nil) -> Bool {
            do {
                let _: Double = try loss.loss(anchors: x, positives: x, negatives: negatives, n: 2, k: k, d: 2)
                return false
            } catch { return error is TaskLoRAError }
        }
        XCTAssertTrue(attempt(InfoNCE(temperature: 0), k: 0))
        XCTAssertTrue(attempt(InfoNCE(temperature: -1), k: 0))
        XCTAssertTrue(attempt(InfoNCE(temperature: .nan), k: 0))
        XCTAssertTrue(attempt(InfoNCE(), k: 1))                                  // k > 0 but no negatives
        XCTAssertTrue(attempt(InfoNCE(), k: -1))
        XCTAssertTrue(attempt(InfoNCE.classification, k: 0))                    // one candidate only
        XCTAssertTrue(attempt(InfoNCE(reverse: true, inBatchNegatives: false), k: 1, negatives: x))
        XCTAssertFalse(attempt(InfoNCE.classification, k: 1, negatives: x))
    }

    // MARK: CoSENT

    func testCoSENTValueMatchesNaivePairs() throws {
        var rng = SplitMix64(seed: 7)
        let n = 7, d = 5
        let e1 = ltUnitRows(n, d, &rng), e2 = ltUnitRows(n, d, &rng)
        let scores: [Double] = [3, 1, 4, 1, 5, 0, 3]  // ties on purpose
        for cosent in [CoSENT(), CoSENT.separation, CoSENT(temperature: 1)] {
            let value: Double = try cosent.loss(e1: e1, e2: e2, scores: scores, d: d)
            let s = (0..<n).map { i in (0..<d).reduce(0.0) { $0 + e1[i * d + $1] * e2[i * d + $1] } }
            let naive = ltNaiveCoSENT(s, scores, cosent.temperature)
            XCTAssertEqual(value, naive, accuracy: 1e-12 * max(1, naive))
        }
        // All gold equal: no ordered pair, L = log 1 = 0 and no gradient.
        var g1 = [Double](repeating: 0, count: n * d), g2 = g1
        let flat: Double = try CoSENT().loss(e1: e1, e2: e2, scores: Array(repeating: 2, count: n), d: d,
                                             dE1: &g1, dE2: &g2)
        XCTAssertEqual(flat, 0)
        XCTAssertEqual(g1.map(abs).max(), 0)
    }

    func testSeparationValueMatchesNaivePairsOfPairs() throws {
        var rng = SplitMix64(seed: 8)
        let n = 7, d = 5
        let x = ltUnitRows(n, d, &rng)
        let labels = [2, 0, 2, 1, 0, 2, 5]
        for cosent in [CoSENT.separation, CoSENT(temperature: 0.3)] {
            let value: Double = try cosent.separationLoss(x: x, labels: labels, d: d)
            var s: [Double] = [], gold: [Double] = []
            for i in 0..<n {
                for j in (i + 1)..<n {
                    s.append((0..<d).reduce(0.0) { $0 + x[i * d + $1] * x[j * d + $1] })
                    gold.append(labels[i] == labels[j] ? 1 : 0)
                }
            }
            let naive = ltNaiveCoSENT(s, gold, cosent.temperature)
            XCTAssertEqual(value, naive, accuracy: 1e-12 * max(1, naive))
        }
    }

    func testCoSENTGradients() throws {
        var rng = SplitMix64(seed: 9)
        let n = 6, d = 5
        var worst = 0.0
        for cosent in [CoSENT.textMatching, CoSENT.separation] {
            var e1 = ltUnitRows(n, d, &rng), e2 = ltUnitRows(n, d, &rng)
            let scores: [Double] = [0.5, 2, 2, 4.5, 1, 3]
            func f(_ a: [Double], _ b: [Double]) -> Double { try! cosent.loss(e1: a, e2: b, scores: scores, d: d) }
            var g1 = [Double](repeating: 0, count: n * d), g2 = g1
            _ = try cosent.loss(e1: e1, e2: e2, scores: scores, d: d, dE1: &g1, dE2: &g2)
            let err = max(ltFDError(&e1, analytic: g1) { f($0, e2) }, ltFDError(&e2, analytic: g2) { f(e1, $0) })
            ltReport("CoSENT τ \(cosent.temperature)", err)
            XCTAssertLessThan(err, 1e-6)
            worst = max(worst, err)

            var x = ltUnitRows(n, d, &rng)
            let labels = [0, 1, 0, 2, 1, 0]
            var gx = [Double](repeating: 0, count: n * d)
            _ = try cosent.separationLoss(x: x, labels: labels, d: d, dX: &gx)
            let errS = ltFDError(&x, analytic: gx) { try! cosent.separationLoss(x: $0, labels: labels, d: d) }
            ltReport("separation τ \(cosent.temperature)", errS)
            XCTAssertLessThan(errS, 1e-6)
            worst = max(worst, errS)
        }
        ltReport("CoSENT worst", worst)
    }

    func testCoSENTInvalidSettingsThrow() {
        let x = [Double](repeating: 0.5, count: 4)
        XCTAssertThrowsError(try CoSENT(temperature: 0).loss(e1: x, e2: x, scores: [1, 2], d: 2) as Double)
        XCTAssertThrowsError(try CoSENT().loss(e1: x, e2: x, scores: [1, .nan], d: 2) as Double)
        XCTAssertThrowsError(try CoSENT(temperature: .infinity).separationLoss(x: x, labels: [0, 1], d: 2) as Double)
        XCTAssertThrowsError(try CoSENT().loss(e1: x, e2: x, scores: [], d: 2) as Double)
        XCTAssertThrowsError(try CoSENT().separationLoss(x: x, labels: [], d: 2) as Double)
        // One item / one row: no ordered pair, L = 0.
        XCTAssertEqual(try CoSENT().separationLoss(x: x, labels: [3], d: 2) as Double, 0)
    }

    // MARK: Matryoshka

    func testMatryoshkaDefaultsAndValidation() throws {
        XCTAssertEqual(Matryoshka.defaultDims(hiddenSize: 1024), [32, 64, 128, 256, 512, 1024])
        XCTAssertEqual(Matryoshka.defaultDims(hiddenSize: 384), [32, 64, 128, 256, 384])
        XCTAssertEqual(Matryoshka.defaultDims(hiddenSize: 16), [16])
        XCTAssertEqual(try Matryoshka(hiddenSize: 64).weights, [1, 1])
        XCTAssertThrowsError(try Matryoshka(dims: []))
        XCTAssertThrowsError(try Matryoshka(dims: [0, 4]))
        XCTAssertThrowsError(try Matryoshka(dims: [4, 8], weights: [1]))
        XCTAssertThrowsError(try Matryoshka(dims: [4]).loss(CoSENT().batch(scores: []), pooled: [Double](), rows: 0,
                                                            hiddenSize: 16) as Double)
        let m = try Matryoshka(dims: [4, 32])
        let pooled = [Double](repeating: 1, count: 6 * 16)
        // dim 32 > H 16
        XCTAssertThrowsError(try m.loss(CoSENT().batch(scores: [1, 2, 3]), pooled: pooled, rows: 6, hiddenSize: 16) as Double)
        // rows 6 but the loss reads 2·2
        XCTAssertThrowsError(try Matryoshka(dims: [4]).loss(CoSENT().batch(scores: [1, 2]), pooled: pooled, rows: 6,
                                                            hiddenSize: 16) as Double)
    }

    func testMatryoshkaValueAndGradients() throws {
        var rng = SplitMix64(seed: 10)
        let h = 12, n = 4, k = 2
        let matryoshka = try Matryoshka(dims: [12, 8, 3], weights: [1, 0.5, 0.25])
        let inners: [(String, any EmbeddingLoss)] = [
            ("InfoNCE retrieval", InfoNCE.retrieval.batch(pairs: n, negativesPerAnchor: k)),
            ("InfoNCE classification", InfoNCE.classification.batch(pairs: n, negativesPerAnchor: k)),
            ("CoSENT", CoSENT.textMatching.batch(scores: [1, 4, 2, 2])),
            ("separation", CoSENT.separation.separationBatch(labels: [0, 1, 1, 0, 2, 1])),
        ]
        for (name, inner) in inners {
            let rows = inner.rows
            // Unnormalized, with norms far from 1, as pooled outputs are.
            var pooled = ltGaussian(rows * h, &rng).map { $0 * 3 }
            func f(_ x: [Double]) -> Double { try! ltMatryoshkaLoss(matryoshka, inner, x, rows, h, nil) }
            // Value: Σ_m w_m · inner(normalize(x[:, :d_m])), written out.
            var expected = 0.0
            for (d, w) in zip(matryoshka.dims, matryoshka.weights) {
                var y = [Double](repeating: 0, count: rows * d)
                for r in 0..<rows {
                    let norm = (0..<d).reduce(0.0) { $0 + pooled[r * h + $1] * pooled[r * h + $1] }.squareRoot()
                    for c in 0..<d { y[r * d + c] = pooled[r * h + c] / norm }
                }
                expected += w * (try ltInnerLoss(inner, y, d))
            }
            var g = [Double](repeating: 0.125, count: rows * h)
            let value = try ltMatryoshkaLoss(matryoshka, inner, pooled, rows, h, &g)
            XCTAssertEqual(value, expected, accuracy: 1e-12 * max(1, abs(expected)), name)
            g = g.map { $0 - 0.125 }  // accumulated onto the initial contents
            let err = ltFDError(&pooled, analytic: g, f)
            ltReport("Matryoshka \(name)", err)
            XCTAssertLessThan(err, 1e-6)
        }
    }

    // MARK: sentence-transformers parity

    func testParityWithSentenceTransformers() throws {
        let path = TestPaths.fixture("losses/losses.json")
        try TestPaths.require(path)
        let json = try XCTUnwrap(try readJSON(path) as? [String: Any])
        let n = json["n"] as! Int, d = json["d"] as! Int, k = json["k"] as! Int
        let a = json["anchors"] as! [Double], p = json["positives"] as! [Double], neg = json["negatives"] as! [Double]
        let scores = json["scores"] as! [Double], labels = json["labels"] as! [Int]
        let cases = json["cases"] as! [String: [String: Any]]
        XCTAssertEqual(cases.count, 9)
        var worstDouble = (loss: 0.0, grad: 0.0), worstFloat = (loss: 0.0, grad: 0.0)
        for (name, c) in cases.sorted(by: { $0.key < $1.key }) {
            let tau = c["temperature"] as! Double
            let dims = c["dims"] as? [Int] ?? [d]
            let weights = c["weights"] as? [Double]
            let matryoshka = try Matryoshka(dims: dims, weights: weights)
            let inner: any EmbeddingLoss
            var pooled: [Double], expected: [Double]
            let da = c["d_anchors"] as! [Double], dp = c["d_positives"] as! [Double], dn = c["d_negatives"] as! [Double]
            switch c["kind"] as! String {
            case "infonce":
                let kk = c["k"] as! Int
                let loss = InfoNCE(temperature: tau, reverse: c["reverse"] as! Bool, symmetric: c["symmetric"] as! Bool)
                inner = loss.batch(pairs: n, negativesPerAnchor: kk)
                pooled = a + p + (kk > 0 ? neg : [])
                expected = da + dp + (kk > 0 ? dn : [])
            case "classification":
                inner = InfoNCE(temperature: tau, inBatchNegatives: false).batch(pairs: n, negativesPerAnchor: k)
                pooled = a + p + neg
                expected = da + dp + dn
            case "cosent":
                inner = CoSENT(temperature: tau).batch(scores: scores)
                pooled = a + p
                expected = da + dp
            case "separation":
                inner = CoSENT(temperature: tau).separationBatch(labels: labels)
                pooled = a
                expected = da
            default:
                XCTFail("unknown kind in \(name)")
                continue
            }
            let rows = inner.rows
            let reference = c["loss"] as! Double
            let gradScale = expected.map(abs).max()!

            var g = [Double](repeating: 0, count: rows * d)
            let value = try ltMatryoshkaLoss(matryoshka, inner, pooled, rows, d, &g)
            let lossErr = abs(value - reference) / max(1, abs(reference))
            let gradErr = zip(g, expected).map { abs($0 - $1) }.max()! / gradScale
            XCTAssertLessThan(lossErr, 1e-6, name)
            XCTAssertLessThan(gradErr, 1e-6, name)
            worstDouble = (max(worstDouble.loss, lossErr), max(worstDouble.grad, gradErr))

            // The training precision: the same op code in Float.
            var gf = [Float](repeating: 0, count: rows * d)
            let valueF = try ltMatryoshkaLoss(matryoshka, inner, pooled.map { Float($0) }, rows, d, &gf)
            let lossErrF = abs(Double(valueF) - reference) / max(1, abs(reference))
            let gradErrF = zip(gf, expected).map { abs(Double($0) - $1) }.max()! / gradScale
            XCTAssertLessThan(lossErrF, 1e-5, name)
            XCTAssertLessThan(gradErrF, 1e-5, name)
            worstFloat = (max(worstFloat.loss, lossErrF), max(worstFloat.grad, gradErrF))
            print("[LossTests] parity \(name): loss \(value) (reference \(reference)); " +
                  "Double: loss \(ltSci(lossErr)) grad \(ltSci(gradErr)); Float: loss \(ltSci(lossErrF)) grad \(ltSci(gradErrF))")
        }
        ltReport("parity Double loss", worstDouble.loss)
        ltReport("parity Double grad", worstDouble.grad)
        ltReport("parity Float loss", worstFloat.loss)
        ltReport("parity Float grad", worstFloat.grad)
    }

    /// A training-sized batch in Float agrees with Double (no overflow at τ = 0.02, no cancellation).
    func testFloatMatchesDoubleAtTrainingScale() throws {
        var rng = SplitMix64(seed: 11)
        let n = 32, k = 7, h = 64
        let inner = InfoNCE(temperature: 0.02, reverse: true).batch(pairs: n, negativesPerAnchor: k)
        let matryoshka = try Matryoshka(hiddenSize: h)
        let pooled = ltGaussian(inner.rows * h, &rng)
        var gd = [Double](repeating: 0, count: inner.rows * h)
        var gf = [Float](repeating: 0, count: inner.rows * h)
        let ld = try ltMatryoshkaLoss(matryoshka, inner, pooled, inner.rows, h, &gd)
        let lf = try ltMatryoshkaLoss(matryoshka, inner, pooled.map { Float($0) }, inner.rows, h, &gf)
        let gradErr = zip(gf, gd).map { abs(Double($0) - $1) }.max()! / gd.map(abs).max()!
        ltReport("Float vs Double (N 32, k 7, H 64, τ 0.02) loss", abs(Double(lf) - ld) / ld)
        ltReport("Float vs Double (N 32, k 7, H 64, τ 0.02) grad", gradErr)
        XCTAssertEqual(Double(lf), ld, accuracy: 1e-5 * ld)
        XCTAssertLessThan(gradErr, 1e-4)
    }
}

// MARK: - Helpers (file-private: other test files define their own)

private func ltGaussian(_ count: Int, _ rng: inout SplitMix64) -> [Double] {
    (0..<count).map { _ in rng.nextGaussian() }
}

/// `rows` random unit vectors of dimension d, (rows, d).
private func ltUnitRows(_ rows: Int, _ d: Int, _ rng: inout SplitMix64) -> [Double] {
    var x = ltGaussian(rows * d, &rng)
    for r in 0..<rows {
        let norm = (0..<d).reduce(0.0) { $0 + x[r * d + $1] * x[r * d + $1] }.squareRoot()
        for c in 0..<d { x[r * d + c] /= norm }
    }
    return x
}

/// Central differences of f at x (restored afterwards) against `analytic`:
/// max_i |analytic_i − fd_i| / max_i |fd_i|.
private func ltFDError(_ x: inout [Double], analytic: [Double], eps: Double = 1e-6,
                     _ f: ([Double]) -> Double) -> Double {
    precondition(analytic.count == x.count)
    var maxDiff = 0.0, maxFD = 0.0
    for i in x.indices {
        let saved = x[i]
        x[i] = saved + eps
        let plus = f(x)
        x[i] = saved - eps
        let minus = f(x)
        x[i] = saved
        let fd = (plus - minus) / (2 * eps)
        maxDiff = max(maxDiff, abs(fd - analytic[i]))
        maxFD = max(maxFD, abs(fd))
    }
    return maxDiff / max(maxFD, 1e-300)
}

private func ltReport(_ what: String, _ err: Double) { print("[LossTests] \(what): \(ltSci(err))") }

private func ltSci(_ x: Double) -> String { String(format: "%.2e", x) }

/// Opens the existential so the generic `Matryoshka.loss` can run on it.
private func ltMatryoshkaLoss<S: Real>(_ m: Matryoshka, _ inner: any EmbeddingLoss, _ pooled: [S], _ rows: Int,
                                     _ h: Int, _ g: UnsafeMutablePointer<S>?) throws -> S {
    try m.loss(inner, pooled: pooled, rows: rows, hiddenSize: h, dPooled: g)
}

private func ltInnerLoss(_ inner: any EmbeddingLoss, _ y: [Double], _ d: Int) throws -> Double {
    try inner.loss(embeddings: y, dim: d, gradient: nil)
}

private func ltDot(_ x: [Double], _ i: Int, _ y: [Double], _ j: Int, _ d: Int) -> Double {
    (0..<d).reduce(0.0) { $0 + x[i * d + $1] * y[j * d + $1] }
}

/// InfoNCE by definition: one softmax per anchor over its candidate list, one per positive over the
/// anchors, plain log(Σ exp) with no max shift (values here are small), combined by the documented weights.
private func ltNaiveInfoNCE(_ loss: InfoNCE, q: [Double], p: [Double], neg: [Double], n: Int, k: Int, d: Int) -> Double {
    let t = loss.temperature
    var forward = 0.0, reverse = 0.0
    for i in 0..<n {
        var candidates: [Double] = []
        if loss.inBatchNegatives {
            for j in 0..<n { candidates.append(ltDot(q, i, p, j, d)) }
            for j in 0..<(n * k) { candidates.append(ltDot(q, i, neg, j, d)) }
        } else {
            candidates.append(ltDot(q, i, p, i, d))
            for c in 0..<k { candidates.append(ltDot(q, i, neg, i * k + c, d)) }
        }
        let positive = ltDot(q, i, p, i, d)
        forward += -log(exp(positive / t) / candidates.reduce(0) { $0 + exp($1 / t) })
        var back = 0.0
        for j in 0..<n { back += exp(ltDot(p, i, q, j, d) / t) }
        reverse += -log(exp(positive / t) / back)
    }
    forward /= Double(n)
    reverse /= Double(n)
    if loss.symmetric { return (forward + reverse) / 2 }
    return loss.reverse ? forward + reverse : forward
}

/// CoSENT by definition: log(1 + Σ over ordered pairs with gold_i > gold_j of exp((s_j − s_i)/τ)).
private func ltNaiveCoSENT(_ s: [Double], _ gold: [Double], _ t: Double) -> Double {
    var sum = 1.0
    for i in s.indices {
        for j in s.indices where gold[i] > gold[j] { sum += exp((s[j] - s[i]) / t) }
    }
    return log(sum)
}
