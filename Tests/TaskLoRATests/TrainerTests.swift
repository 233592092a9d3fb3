import Foundation
import XCTest
@testable import TaskLoRA

/// The trainer end to end on tiny-bert: resume equivalence, GradCache and accumulation equivalence,
/// NaN/Inf handling, input errors, every loss, the run directory.
final class TrainerTests: XCTestCase {
    typealias F = TrainerFixture

    override class func tearDown() {
        try? FileManager.default.removeItem(at: TrainerFixture.root)
        super.tearDown()
    }

    // MARK: - Resume

    /// Stopping after step 3 (eval at 3, dropout 0.1) and resuming gives the uninterrupted run's
    /// per-step losses, evaluations and final parameters bit for bit.
    func testResumeIsBitIdenticalToAnUninterruptedRun() throws {
        try assertResumeIsBitIdentical(overrides: [], tornLatest: false)
    }

    /// The same when the newest checkpoint is torn (a crash while writing it): the run resumes from
    /// the one before, drops the metrics logged after it and logs them again, once.
    func testResumeSkipsATornCheckpoint() throws {
        try assertResumeIsBitIdentical(overrides: [], tornLatest: true)
    }

    /// The same with GradCache (chunks of 3 rows) and dropout: each chunk's masks come from the saved stream.
    func testResumeWithGradCacheAndDropout() throws {
        try assertResumeIsBitIdentical(overrides: ["optimizer.gradcache_chunk=3"], tornLatest: false)
    }

    /// The same with two micro-batches per step and length bucketing (the sampler's bucketed order
    /// and position round trip).
    func testResumeWithAccumulationAndLengthBucketing() throws {
        try assertResumeIsBitIdentical(overrides: ["optimizer.grad_accumulation=2", "data.length_bucketing=true"], tornLatest: false)
    }

    private func assertResumeIsBitIdentical(overrides: [String], tornLatest: Bool,
                                            file: StaticString = #filePath, line: UInt = #line) throws {
        let train = try F.write(F.pairs(24), name: "train.jsonl")
        let dev = try F.write(F.pairs(8, seed: 9), name: "dev.jsonl")
        let whole = try F.recipe(train: train, dev: dev, output: F.newDirectory("whole"), overrides: overrides)
        let reference = try Trainer(recipe: whole)
        try reference.train()

        let split = try F.recipe(train: train, dev: dev, output: F.newDirectory("split"), overrides: overrides)
        let first = try Trainer(recipe: split)
        first.stopAfterStep = 3
        try first.train()
        XCTAssertEqual(first.step, 3, file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: first.run.finalPath), "an interrupted run has no final.h5",
                       file: file, line: line)
        XCTAssertEqual(first.run.checkpoints(), [first.run.checkpointPath(step: 2), first.run.checkpointPath(step: 3)],
                       file: file, line: line)
        // The interrupted run's parameters differ from the finished one's: the comparison below means something.
        XCTAssertNotEqual(F.parameters(first.adapters), F.parameters(reference.adapters), file: file, line: line)
        if tornLatest {
            let path = first.run.checkpointPath(step: 3)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path))
        }

        var logged: [String] = []
        let second = try Trainer(recipe: split, resume: true, log: { logged.append($0) })
        XCTAssertEqual(second.step, tornLatest ? 2 : 3, file: file, line: line)
        if tornLatest {
            XCTAssertTrue(logged.contains { $0.hasPrefix("skipping \(first.run.checkpointPath(step: 3))") }, "\(logged)",
                          file: file, line: line)
        } else {
            XCTAssertEqual(F.parameters(second.adapters), F.parameters(first.adapters), file: file, line: line)
        }
        try second.train()
        XCTAssertEqual(second.step, 8, file: file, line: line)

        let expected = try F.rawLosses(reference.run), got = try F.rawLosses(second.run)
        XCTAssertEqual(Set(expected.keys), Set(1...8), file: file, line: line)
        XCTAssertEqual(got, expected, file: file, line: line)
        let expectedEvals = try F.evalValues(reference.run), gotEvals = try F.evalValues(second.run)
        XCTAssertEqual(Set(expectedEvals.keys), [0, 3, 6, 8], file: file, line: line)
        XCTAssertEqual(gotEvals, expectedEvals, file: file, line: line)
        // One line per step and per evaluation: nothing logged twice across the interruption.
        XCTAssertEqual(try F.metrics(second.run).count, 8 + 4, file: file, line: line)
        let a = F.parameters(reference.adapters), b = F.parameters(second.adapters)
        XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern), file: file, line: line)
        XCTAssertEqual(reference.optimizer.step, second.optimizer.step, file: file, line: line)
        XCTAssertEqual(reference.encoder.dropoutRNG, second.encoder.dropoutRNG, file: file, line: line)
        XCTAssertEqual(reference.sampler.state, second.sampler.state, file: file, line: line)
        XCTAssertEqual(reference.best?.step, second.best?.step, file: file, line: line)
        XCTAssertEqual(reference.best?.value, second.best?.value, file: file, line: line)
        // Dropout really ran: the RNG moved from its seed.
        XCTAssertNotEqual(reference.encoder.dropoutRNG, SplitMix64(seed: 7 ^ 0xD809_0D0F), file: file, line: line)
    }

    // MARK: - GradCache and accumulation

    /// One batch's loss and gradients, from fixed non-zero adapter parameters.
    private func gradients(_ recipe: Recipe) throws -> (loss: Double, gradients: [Float]) {
        let t = try Trainer(recipe: recipe)
        F.randomize(t.adapters, seed: 11)
        t.adapters.zeroGradients()
        var sampler = t.sampler
        let texts = t.data.train.textBatch(try sampler.next().indices, prefixes: recipe.prefixes)
        let batch = try TrainingBatch.make(texts, recipe: recipe, anchorAdapter: t.anchorAdapter, positiveAdapter: t.positiveAdapter)
        let loss = try t.forwardBackward(t.tokenize(batch.texts), adapterIDs: batch.adapters, loss: batch.loss, scale: 1)
        return (loss, F.gradients(t.adapters))
    }

    private func assertClose(_ a: [Float], _ b: [Float], relative: Float, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        let scale = a.map(abs).max() ?? 0
        XCTAssertGreaterThan(scale, 0, "all-zero gradients compare trivially", file: file, line: line)
        let diff = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(diff, relative * scale, "max difference \(diff) vs scale \(scale)", file: file, line: line)
    }

    /// GradCache (chunks of 3 and of 4 rows, the last one short) gives the plain pass's loss and
    /// gradients: InfoNCE with a hard negative (5 examples, 15 rows) and Matryoshka dims.
    func testGradCacheMatchesThePlainPass() throws {
        let train = try F.write(F.pairs(16, negatives: 1), name: "train.jsonl")
        let base = ["adapters.0.dropout=0", "loss.hard_negatives=1", "loss.matryoshka.dims=[16, 32]", "data.batch_size=5"]
        let plain = try gradients(try F.recipe(train: train, dev: nil, output: F.newDirectory("gc0"), overrides: base))
        for chunk in [3, 4] {
            let cached = try gradients(try F.recipe(train: train, dev: nil, output: F.newDirectory("gc\(chunk)"),
                                                    overrides: base + ["optimizer.gradcache_chunk=\(chunk)"]))
            XCTAssertEqual(cached.loss, plain.loss, accuracy: 1e-6 * max(1, abs(plain.loss)))
            assertClose(cached.gradients, plain.gradients, relative: 1e-5)
        }
    }

    /// With dropout GradCache's gradient is still the gradient of the loss it reports: pass 2
    /// replays pass 1's masks. Checked along the gradient against central differences of the
    /// loss at the same dropout stream.
    func testGradCacheWithDropoutIsTheGradientOfItsLoss() throws {
        let train = try F.write(F.pairs(16, negatives: 1), name: "train.jsonl")
        for chunk in [0, 3] {
            let recipe = try F.recipe(train: train, dev: nil, output: F.newDirectory("gcd\(chunk)"),
                                      overrides: ["adapters.0.dropout=0.3", "loss.hard_negatives=1", "optimizer.gradcache_chunk=\(chunk)"])
            let t = try Trainer(recipe: recipe)
            F.randomize(t.adapters, seed: 3)
            let texts = t.data.train.textBatch(try t.sampler.next().indices, prefixes: recipe.prefixes)
            let batch = try TrainingBatch.make(texts, recipe: recipe, anchorAdapter: 0, positiveAdapter: 0)
            let ids = t.tokenize(batch.texts), rng = t.encoder.dropoutRNG
            func loss() throws -> Double {
                t.encoder.dropoutRNG = rng
                t.adapters.zeroGradients()
                return try t.forwardBackward(ids, adapterIDs: batch.adapters, loss: batch.loss, scale: 1)
            }
            _ = try loss()
            let g = F.gradients(t.adapters), p = F.parameters(t.adapters)
            let norm = Double(g.reduce(0) { $0 + $1 * $1 }).squareRoot()
            XCTAssertGreaterThan(norm, 0)
            let eps = 1e-3
            func shifted(_ sign: Double) throws -> Double {
                for i in 0..<p.count { t.adapters.parameters[i] = p[i] + Float(sign * eps * Double(g[i]) / norm) }
                return try loss()
            }
            let numeric = (try shifted(1) - (try shifted(-1))) / (2 * eps)
            XCTAssertEqual(numeric, norm, accuracy: 0.02 * norm, "chunk \(chunk)")
        }
    }

    /// With `grad_accumulation` 2 one step's gradient is the mean of its two micro-batches'
    /// gradients and its loss the mean of their losses.
    func testGradientAccumulationAveragesMicroBatches() throws {
        let train = try F.write(F.pairs(16), name: "train.jsonl")
        let base = ["adapters.0.dropout=0", "optimizer.grad_clip=0"]
        let accumulated = try Trainer(recipe: try F.recipe(train: train, dev: nil, output: F.newDirectory("acc2"),
                                                           overrides: base + ["optimizer.grad_accumulation=2"]))
        F.randomize(accumulated.adapters, seed: 5)
        let step = try accumulated.trainStep()
        XCTAssertFalse(step.skipped)
        let g = F.gradients(accumulated.adapters)

        let single = try Trainer(recipe: try F.recipe(train: train, dev: nil, output: F.newDirectory("acc1"), overrides: base))
        F.randomize(single.adapters, seed: 5)
        var losses: [Double] = [], grads: [[Float]] = []
        for _ in 0..<2 {   // the same sampler settings, so the same two batches in order
            single.adapters.zeroGradients()
            let texts = single.data.train.textBatch(try single.sampler.next().indices, prefixes: single.recipe.prefixes)
            let batch = try TrainingBatch.make(texts, recipe: single.recipe, anchorAdapter: 0, positiveAdapter: 0)
            losses.append(try single.forwardBackward(single.tokenize(batch.texts), adapterIDs: batch.adapters,
                                                     loss: batch.loss, scale: 1))
            grads.append(F.gradients(single.adapters))
        }
        XCTAssertNotEqual(losses[0], losses[1], "two different micro-batches")
        XCTAssertEqual(step.loss, (losses[0] + losses[1]) / 2, accuracy: 1e-6)
        assertClose(g, zip(grads[0], grads[1]).map { ($0 + $1) / 2 }, relative: 1e-5)
    }

    // MARK: - NaN/Inf

    func testANonFiniteStepIsSkippedAndTrainingContinues() throws {
        let train = try F.write(F.pairs(24), name: "train.jsonl")
        let t = try Trainer(recipe: try F.recipe(train: train, dev: nil, output: F.newDirectory("nan1"),
                                                 overrides: ["schedule.steps=6"]))
        t.injectNonFiniteAt = [3]
        var after: [Int: [Float]] = [:]
        var skipped: [Int: Bool] = [:]
        try t.train(progress: { p in
            after[p.step] = F.parameters(t.adapters)
            skipped[p.step] = p.skipped
        })
        XCTAssertEqual(t.step, 6)
        XCTAssertEqual(t.skippedSteps, 1)
        XCTAssertEqual(skipped, [1: false, 2: false, 3: true, 4: false, 5: false, 6: false])
        XCTAssertEqual(after[3], after[2], "the skipped step left the parameters alone")
        XCTAssertNotEqual(after[2], after[1])
        XCTAssertNotEqual(after[4], after[3], "training went on after the skipped step")
        XCTAssertEqual(t.optimizer.step, 5, "AdamW counted only the 5 real updates")
        let lines = try F.metrics(t.run).filter { $0.object["eval"] == nil }
        XCTAssertEqual(lines.count, 6)
        for (raw, object) in lines {
            let step = object["step"] as? Int
            XCTAssertEqual(object["skipped"] as? Bool, step == 3, raw)
            if step == 3 { XCTAssertTrue(object["loss"] is NSNull, raw) } else { XCTAssertNotNil(object["loss"] as? Double, raw) }
        }
    }

    func testConsecutiveNonFiniteStepsStopWithTheLastGoodCheckpoint() throws {
        let train = try F.write(F.pairs(24), name: "train.jsonl")
        let t = try Trainer(recipe: try F.recipe(train: train, dev: nil, output: F.newDirectory("nan5"),
                                                 overrides: ["schedule.steps=10"]))
        t.injectNonFiniteAt = [3, 4, 5, 6, 7]
        var good: [Float] = []
        let message = F.error {
            try t.train(progress: { p in if p.step == 2 { good = F.parameters(t.adapters) } })
        }
        XCTAssertEqual(t.step, 7)
        XCTAssertTrue(message.contains("5 steps in a row"), message)
        let latest = try XCTUnwrap(t.run.latestCheckpoint())
        XCTAssertTrue(message.contains(latest), message)
        XCTAssertFalse(FileManager.default.fileExists(atPath: t.run.finalPath))
        let ckpt = try Checkpoint.read(path: latest)
        XCTAssertNotNil(ckpt.adapters["task"])
        // It resumes, with the parameters of the last finite step.
        let resumed = try Trainer(recipe: t.recipe, resume: true)
        XCTAssertEqual(F.parameters(resumed.adapters), good)
        XCTAssertFalse(good.isEmpty)
    }

    // MARK: - Bad input

    func testTooFewRowsForOneBatch() throws {
        let train = try F.write(F.pairs(3), name: "small.jsonl")
        let message = F.error { _ = try Trainer(recipe: try F.recipe(train: train, dev: nil, output: F.newDirectory("few"))) }
        XCTAssertTrue(message.contains(train), message)
        XCTAssertTrue(message.contains("fewer than one batch of 4"), message)
    }

    func testJSONLLineThatIsNotAnObject() throws {
        var lines = F.pairs(12)
        lines[4] = "[\"anchor\", \"positive\"]"
        let train = try F.write(lines, name: "broken.jsonl")
        let message = F.error { _ = try Trainer(recipe: try F.recipe(train: train, dev: nil, output: F.newDirectory("broken"))) }
        XCTAssertTrue(message.contains(train), message)
        XCTAssertTrue(message.contains("line 5"), message)
        XCTAssertTrue(message.contains("not a JSON object"), message)
    }

    func testRecipeErrors() throws {
        let train = try F.write(F.pairs(12), name: "train.jsonl")
        let unknown = F.error { _ = try F.recipe(train: train, dev: nil, output: F.newDirectory("x"), overrides: ["optimizer.lrr=0.1"]) }
        XCTAssertTrue(unknown.contains("unknown key \"optimizer.lrr\""), unknown)
        let overlap = F.error {
            _ = try F.recipe(train: train, dev: nil, output: F.newDirectory("x"), overrides: ["adapters.0.targets=[qkv, query]"])
        }
        XCTAssertTrue(overlap.contains("adapters.0.targets"), overlap)
        XCTAssertTrue(overlap.contains("qkv"), overlap)
        // Checks against the model run when the trainer opens it: tiny-bert has hidden size 32 and 40 positions.
        let rank = F.error {
            _ = try Trainer(recipe: try F.recipe(train: train, dev: nil, output: F.newDirectory("x"), overrides: ["adapters.0.rank=64"]))
        }
        XCTAssertTrue(rank.contains("64") && rank.contains("32"), rank)
        let length = F.error {
            _ = try Trainer(recipe: try F.recipe(train: train, dev: nil, output: F.newDirectory("x"), overrides: ["data.max_length=64"]))
        }
        XCTAssertTrue(length.contains("max_length"), length)
    }

    /// Data that lacks what the loss reads is refused when the trainer starts, naming the file.
    func testDataThatDoesNotFitTheLoss() throws {
        let pairs = try F.write(F.pairs(12), name: "pairs.jsonl")
        func start(_ train: String, _ overrides: [String]) -> String {
            F.error { _ = try Trainer(recipe: try F.recipe(train: train, dev: nil, output: F.newDirectory("fit"), overrides: overrides)) }
        }
        let hard = start(pairs, ["loss.hard_negatives=1"])
        XCTAssertTrue(hard.contains(pairs) && hard.contains("loss.hard_negatives is 1"), hard)
        let tuples = try F.write(F.pairs(12, negatives: 1), name: "tuples.jsonl")
        let tooFew = start(tuples, ["loss.hard_negatives=2"])
        XCTAssertTrue(tooFew.contains(tuples) && tooFew.contains("example 1 has 1 negatives"), tooFew)
        let cosent = start(pairs, ["loss.type=cosent"])
        XCTAssertTrue(cosent.contains(pairs) && cosent.contains("scored pairs"), cosent)
        let classification = start(pairs, ["loss.type=classification"])
        XCTAssertTrue(classification.contains(pairs) && classification.contains("negatives"), classification)
        let labeled = try F.write(F.labeled(12), name: "labeled.jsonl")
        let infonce = start(labeled, [])
        XCTAssertTrue(infonce.contains(labeled) && infonce.contains("infonce"), infonce)
        let separation = start(pairs, ["loss.type=separation"])
        XCTAssertTrue(separation.contains(pairs) && separation.contains("labeled texts"), separation)
        let oneLabel = try F.write(F.labeled(12).map { $0.replacingOccurrences(of: "green", with: "red")
            .replacingOccurrences(of: "blue", with: "red") }, name: "one-label.jsonl")
        let single = start(oneLabel, ["loss.type=separation"])
        XCTAssertTrue(single.contains(oneLabel) && single.contains("only one label"), single)
    }

    // MARK: - Every loss

    private func assertTrains(_ name: String, rows: [String], overrides: [String],
                              file: StaticString = #filePath, line: UInt = #line) throws {
        let train = try F.write(rows, name: "\(name).jsonl")
        let t = try Trainer(recipe: try F.recipe(train: train, dev: nil, output: F.newDirectory(name),
                                                 overrides: ["schedule.steps=3", "schedule.warmup_steps=0", "save.every=0"] + overrides))
        let before = F.parameters(t.adapters)
        var losses: [Double] = []
        try t.train(progress: { losses.append($0.loss) })
        XCTAssertEqual(losses.count, 3, name, file: file, line: line)
        XCTAssertTrue(losses.allSatisfy { $0.isFinite && $0 > 0 }, "\(name): \(losses)", file: file, line: line)
        XCTAssertEqual(t.skippedSteps, 0, name, file: file, line: line)
        let after = F.parameters(t.adapters)
        XCTAssertTrue(after.allSatisfy(\.isFinite), name, file: file, line: line)
        XCTAssertNotEqual(after, before, name, file: file, line: line)
    }

    func testEveryLossTypeTrains() throws {
        try assertTrains("infonce", rows: F.pairs(16), overrides: [])
        try assertTrains("infonce-hard", rows: F.pairs(16, negatives: 1), overrides: ["loss.hard_negatives=1"])
        try assertTrains("cosent", rows: F.scoredPairs(16), overrides: ["loss.type=cosent", "loss.matryoshka.dims=[8, 16, 32]"])
        try assertTrains("separation", rows: F.labeled(18), overrides: ["loss.type=separation", "data.batch_size=6"])
        try assertTrains("classification", rows: F.pairs(16, negatives: 3), overrides: ["loss.type=classification"])
    }

    // MARK: - Run directory

    func testRunDirectory() throws {
        let train = try F.write(F.pairs(24), name: "train.jsonl")
        let dev = try F.write(F.pairs(8, seed: 9), name: "dev.jsonl")
        let recipe = try F.recipe(train: train, dev: dev, output: F.newDirectory("run"),
                                  overrides: ["schedule.steps=5", "save.every=1", "save.keep_last=2", "eval.every=2"])
        let t = try Trainer(recipe: recipe)
        try t.train()
        let run = t.run
        for path in [run.recipePath, run.metricsPath, run.finalPath, run.bestPath] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: path), path)
        }
        XCTAssertEqual(run.checkpoints(), [run.checkpointPath(step: 4), run.checkpointPath(step: 5)])
        // The stored recipe is what ran: the left-out prefix resolved to the base's native prompt
        // (tiny-bert's family has none).
        XCTAssertNil(recipe.adapters[0].prefix)
        XCTAssertEqual(t.recipe.adapters[0].prefix, "")
        XCTAssertEqual(try Recipe.load(path: run.recipePath), t.recipe)
        let final = try Checkpoint.read(path: run.finalPath)
        XCTAssertEqual(final.metadata["base_model"], F.checkpoint)
        XCTAssertNotNil(final.adapters["task"])
        XCTAssertEqual(Set(try F.evalValues(run).keys), [0, 2, 4, 5])
        XCTAssertEqual(Set(try F.rawLosses(run).keys), Set(1...5))

        let again = F.error { _ = try Trainer(recipe: recipe) }
        XCTAssertTrue(again.contains(run.path) && again.contains("resume"), again)
        // The refused start left the run as it was.
        XCTAssertEqual(Set(try F.rawLosses(run).keys), Set(1...5))
        let resumed = try Trainer(recipe: recipe, resume: true)
        XCTAssertEqual(resumed.step, 5)

        var fresh = recipe
        fresh.output = F.newDirectory("empty")
        let nothing = F.error { _ = try Trainer(recipe: fresh, resume: true) }
        XCTAssertTrue(nothing.contains(fresh.output) && nothing.contains("no complete checkpoint"), nothing)
    }

    /// `data.held_out` without a dev file: a quarter of the rows become a retrieval dev set,
    /// evaluated before the first step and at the end, and are not trained on.
    func testHeldOutRowsAreTheDevSet() throws {
        let train = try F.write(F.pairs(24), name: "train.jsonl")
        let t = try Trainer(recipe: try F.recipe(train: train, dev: nil, output: F.newDirectory("held"),
                                                 overrides: ["data.held_out=0.25", "schedule.steps=3", "save.every=0"]))
        XCTAssertEqual(t.data.dev.map(\.name), ["held-out"])
        guard case .retrieval(let queries, let corpus, _, _)? = t.data.dev.first?.set else { return XCTFail("no retrieval dev set") }
        XCTAssertEqual(queries.count, 6)
        XCTAssertEqual(t.data.train.count, 18)
        guard case .pairs(let rows) = t.data.train.examples else { return XCTFail("not pairs") }
        XCTAssertTrue(Set(rows.map(\.positive)).isDisjoint(with: corpus))
        try t.train()
        XCTAssertEqual(Set(try F.evalValues(t.run).keys), [0, 3])
    }

    /// Early stopping: evaluation every step, patience 2, a learning rate high enough to get worse.
    /// The run stops at an evaluation 2 evaluations after its best, with a checkpoint and final.h5.
    func testEarlyStopping() throws {
        let train = try F.write(F.pairs(24), name: "train.jsonl")
        let dev = try F.write(F.pairs(8, seed: 9), name: "dev.jsonl")
        let t = try Trainer(recipe: try F.recipe(train: train, dev: dev, output: F.newDirectory("early"), overrides: [
            "schedule.steps=20", "schedule.warmup_steps=0", "optimizer.lr=0.5", "eval.every=1",
            "eval.early_stopping_patience=2", "save.every=0"]))
        var reports: [EvalReport] = []
        try t.train(evaluated: { reports.append($0) })
        XCTAssertLessThan(t.step, 20, "values \(reports.map(\.value))")
        let best = try XCTUnwrap(t.best)
        XCTAssertEqual(reports.last?.step, t.step)
        XCTAssertEqual(t.step - best.step, 2, "stopped two evaluations after the best (\(reports.map(\.value)))")
        XCTAssertEqual(reports.filter { $0.step > best.step }.allSatisfy { $0.value <= best.value }, true)
        XCTAssertEqual(t.run.latestCheckpoint(), t.run.checkpointPath(step: t.step))
        XCTAssertTrue(FileManager.default.fileExists(atPath: t.run.finalPath))
        XCTAssertTrue(FileManager.default.fileExists(atPath: t.run.bestPath))
        XCTAssertEqual(try Checkpoint.read(path: t.run.bestPath).trainingAttributes["step"], String(best.step))
    }
}
