import Foundation
import XCTest
@testable import TaskLoRA

/// `loss.base_consistency`: the op's gradient by central finite differences in Double, its value
/// and gradient against PyTorch autograd (the base side detached), and its place in training.
final class BaseConsistencyLossTests: XCTestCase {
    static func gaussian(_ count: Int, seed: UInt64) -> [Double] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in rng.nextGaussian() }
    }

    func testFiniteDifferenceGradient() {
        let rows = 5, h = 7
        var pooled = Self.gaussian(rows * h, seed: 1)
        // Rows near the base too, where 1 − cos is small, and one far from it.
        let base = zip(pooled, Self.gaussian(rows * h, seed: 2)).enumerated().map { i, p in
            i / h == 4 ? -p.0 + 0.3 * p.1 : p.0 + (i / h == 0 ? 0.01 : 0.5) * p.1
        }
        for dim in [3, 7] {
            func f(_ x: [Double]) -> Double {
                BaseConsistencyLoss.loss(pooled: x, base: base, rows: rows, hiddenSize: h, dim: dim, weight: 0.7, gradient: nil)
            }
            var g = [Double](repeating: 0.25, count: rows * h)
            let start = g
            _ = BaseConsistencyLoss.loss(pooled: pooled, base: base, rows: rows, hiddenSize: h, dim: dim, weight: 0.7, gradient: &g)
            let analytic = zip(g, start).map { $0 - $1 }
            // Columns past `dim` get nothing.
            for r in 0..<rows { for c in dim..<h { XCTAssertEqual(analytic[r * h + c], 0) } }
            var maxDiff = 0.0, maxFD = 0.0
            for i in pooled.indices {
                let saved = pooled[i]
                pooled[i] = saved + 1e-6
                let plus = f(pooled)
                pooled[i] = saved - 1e-6
                let minus = f(pooled)
                pooled[i] = saved
                let fd = (plus - minus) / 2e-6
                maxDiff = max(maxDiff, abs(fd - analytic[i]))
                maxFD = max(maxFD, abs(fd))
            }
            print("[BaseConsistencyLossTests] FD dim \(dim): \(maxDiff / maxFD)")
            XCTAssertLessThan(maxDiff / maxFD, 1e-7)
        }
        // Identical embeddings (up to scale): zero loss, zero gradient.
        var g = [Double](repeating: 0, count: rows * h)
        let same = BaseConsistencyLoss.loss(pooled: pooled, base: pooled.map { 3 * $0 }, rows: rows, hiddenSize: h, dim: h,
                                            weight: 1, gradient: &g)
        XCTAssertEqual(same, 0, accuracy: 1e-14)
        XCTAssertLessThan(g.map(abs).max()!, 1e-14)
    }

    func testMatchesPyTorch() throws {
        let rows = 6, h = 8, dim = 8
        let pooled = Self.gaussian(rows * h, seed: 3)
        let base = zip(pooled, Self.gaussian(rows * h, seed: 4)).map { $0 + 0.8 * $1 }
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("base-consistency-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: ["pooled": pooled, "base": base, "rows": rows, "h": h, "weight": 0.3])
            .write(to: input)
        defer { try? FileManager.default.removeItem(at: input) }
        let script = """
        import json, sys, torch
        d = json.load(open(sys.argv[1]))
        e = torch.tensor(d["pooled"], dtype=torch.float64).reshape(d["rows"], d["h"]).requires_grad_(True)
        b = torch.tensor(d["base"], dtype=torch.float64).reshape(d["rows"], d["h"])
        cos = torch.nn.functional.cosine_similarity(e, b.detach(), dim=-1)
        loss = d["weight"] * ((1 - cos) ** 2).mean()
        loss.backward()
        print(json.dumps({"loss": loss.item(), "grad": e.grad.reshape(-1).tolist()}))
        """
        let out = try TestPaths.runPythonCode(script, [input.path])
        let ref = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        let refLoss = try XCTUnwrap(ref["loss"] as? Double), refGrad = try XCTUnwrap(ref["grad"] as? [Double])
        var g = [Double](repeating: 0, count: rows * h)
        let loss = BaseConsistencyLoss.loss(pooled: pooled, base: base, rows: rows, hiddenSize: h, dim: dim, weight: 0.3, gradient: &g)
        XCTAssertGreaterThan(refLoss, 1e-3, "the reference case is not trivial")
        XCTAssertEqual(loss, refLoss, accuracy: 1e-12 * max(1, refLoss))
        let scale = refGrad.map(abs).max()!
        XCTAssertLessThan(zip(g, refGrad).map { abs($0 - $1) }.max()! / scale, 1e-10)
        // The training precision: the same op in Float.
        var gf = [Float](repeating: 0, count: rows * h)
        let lossF = BaseConsistencyLoss.loss(pooled: pooled.map { Float($0) }, base: base.map { Float($0) }, rows: rows,
                                             hiddenSize: h, dim: dim, weight: 0.3, gradient: &gf)
        XCTAssertEqual(Double(lossF), refLoss, accuracy: 1e-5 * max(1, refLoss))
        XCTAssertLessThan(zip(gf, refGrad).map { abs(Double($0) - $1) }.max()! / scale, 1e-4)
    }

    // MARK: In training

    /// One batch's loss and gradients from fixed non-zero adapters.
    private func gradients(_ recipe: Recipe) throws -> (loss: Double, gradients: [Float]) {
        let t = try Trainer(recipe: recipe)
        TrainerFixture.randomize(t.adapters, seed: 11)
        t.adapters.zeroGradients()
        var sampler = t.sampler
        let texts = t.data.train.textBatch(try sampler.next().indices, prefixes: t.recipe.prefixes)
        let batch = try TrainingBatch.make(texts, recipe: t.recipe, anchorAdapter: t.anchorAdapter, positiveAdapter: t.positiveAdapter)
        let loss = try t.forwardBackward(t.tokenize(batch.texts), adapterIDs: batch.adapters, loss: batch.loss, scale: 1)
        return (loss, TrainerFixture.gradients(t.adapters))
    }

    /// The term adds to the task loss, changes the gradient, and GradCache gives the plain pass's
    /// loss and gradient with it (Matryoshka dims on, 10 rows in chunks of 3).
    func testInTrainingWithGradCacheAndMatryoshka() throws {
        let train = try TrainerFixture.write(TrainerFixture.pairs(16), name: "train.jsonl")
        let common = ["adapters.0.dropout=0", "loss.matryoshka.dims=[16, 32]", "data.batch_size=5"]
        func recipe(_ extra: [String]) throws -> Recipe {
            try TrainerFixture.recipe(train: train, dev: nil, output: TrainerFixture.newDirectory("bc"), overrides: common + extra)
        }
        let off = try gradients(try recipe([]))
        let on = try gradients(try recipe(["loss.base_consistency=2"]))
        XCTAssertGreaterThan(on.loss - off.loss, 1e-6, "randomized adapters move the embeddings away from the base")
        XCTAssertNotEqual(on.gradients, off.gradients)
        let cached = try gradients(try recipe(["loss.base_consistency=2", "optimizer.gradcache_chunk=3"]))
        XCTAssertEqual(cached.loss, on.loss, accuracy: 1e-6 * max(1, abs(on.loss)))
        let scale = on.gradients.map(abs).max()!
        XCTAssertLessThanOrEqual(zip(cached.gradients, on.gradients).map { abs($0 - $1) }.max()!, 1e-5 * scale)
    }

    /// Trained with a heavy consistency weight, the adapter's embeddings of the training texts stay
    /// nearer the base's than trained without it.
    func testAHeavyWeightKeepsTheEmbeddingsNearTheBase() throws {
        let train = try TrainerFixture.write(TrainerFixture.pairs(32), name: "train.jsonl")
        func distance(_ extra: [String]) throws -> Double {
            let t = try Trainer(recipe: try TrainerFixture.recipe(train: train, dev: nil, output: TrainerFixture.newDirectory("bcd"),
                                                                  overrides: ["adapters.0.dropout=0", "optimizer.lr=0.05", "schedule.steps=10"] + extra))
            try t.train()
            guard case .pairs(let rows) = t.data.train.examples else { throw XCTSkip("not pairs") }
            let ids = t.tokenize(rows.prefix(16).map(\.anchor))
            let batch = TokenBatch(sequences: ids, adapters: [Int](repeating: 0, count: ids.count))
            let h = t.encoder.config.hiddenSize
            let adapted = Tensor(zeros: [ids.count, h])
            t.pooling.forward(hidden: t.encoder.forward(batch, adapters: t.adapters).data, batch: batch, hiddenSize: h, pooled: adapted.data)
            let base = t.basePooledEmbeddings([batch])
            return Double(BaseConsistencyLoss.loss(pooled: adapted.data, base: base.data, rows: ids.count, hiddenSize: h, dim: h,
                                                   weight: 1, gradient: nil))
        }
        let free = try distance([]), held = try distance(["loss.base_consistency=20"])
        print("[BaseConsistencyLossTests] mean (1 - cos)^2 to the base: without \(free), with weight 20 \(held)")
        XCTAssertGreaterThan(free, 0)
        XCTAssertLessThan(held, free / 2)
    }
}
