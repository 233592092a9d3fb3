import Foundation
import XCTest
@testable import TaskLoRA

/// `data.batches: per_source`: every batch from one training file, the file mix following the
/// weights (or the files' sizes) over an epoch, the unique-texts rule kept, resume mid-epoch
/// continuing identically; and the recipe keys and their errors.
final class PerSourceBatchTests: XCTestCase {
    /// Three "files" of 40, 80 and 24 pairs. With `repeatEvery` anchors repeat inside a file (so the
    /// unique-texts rule has work to do; batch counts then depend on it), never across files.
    func threeFiles(repeatEvery: Int = .max) -> (TrainingDataset, ExampleSources) {
        var pairs: [PairExample] = []
        var sourceOf: [Int] = []
        for (s, n) in [40, 80, 24].enumerated() {
            for i in 0..<n {
                pairs.append(PairExample(anchor: "f\(s) query \(i % repeatEvery)", positive: "f\(s) passage \(i)"))
                sourceOf.append(s)
            }
        }
        return (TrainingDataset(examples: .pairs(pairs), source: "mem"),
                ExampleSources(sourceOfExample: sourceOf, names: ["a.jsonl", "b.jsonl", "c.jsonl"]))
    }

    func sampler(weights: [Double]? = nil, seed: UInt64 = 3, batchSize: Int = 8, repeatEvery: Int = .max) throws -> BatchSampler {
        let (d, sources) = threeFiles(repeatEvery: repeatEvery)
        return try BatchSampler(dataset: d, config: BatchSamplerConfig(batchSize: batchSize, seed: seed,
                                perSource: PerSourceBatches(weights: weights)), sources: sources)
    }

    func testEveryBatchFromOneFileAndEachFileOncePerEpochByDefault() throws {
        let (d, sources) = threeFiles()
        let s = try sampler()
        for epoch in 0..<3 {
            let plan = try s.batches(epoch: epoch)
            var perSource = [0, 0, 0]
            for batch in plan {
                XCTAssertEqual(batch.count, 8)
                let from = Set(batch.map { sources.sourceOfExample[$0] })
                XCTAssertEqual(from.count, 1, "batch \(batch) mixes files \(from)")
                perSource[from.first!] += 1
                let texts = batch.flatMap { d.texts(of: $0) }
                XCTAssertEqual(Set(texts).count, texts.count, "a text repeats in \(batch)")
            }
            // In proportion to size: 40, 80 and 24 examples give 5, 10 and 3 batches.
            XCTAssertEqual(perSource, [5, 10, 3], "epoch \(epoch)")
            XCTAssertEqual(Set(plan.flatMap { $0 }).count, plan.count * 8, "an example twice in epoch \(epoch)")
        }
        // The files are interleaved, not run one after the other.
        let order = try s.batches(epoch: 0).map { sources.sourceOfExample[$0[0]] }
        XCTAssertNotEqual(order, order.sorted(), "\(order)")
        XCTAssertNotEqual(try s.batches(epoch: 0), try s.batches(epoch: 1))

        // With repeated anchors inside each file no batch holds a text twice, and batches stay single-file.
        let (r, rSources) = threeFiles(repeatEvery: 30)
        for batch in try sampler(weights: [1, 2, 1], repeatEvery: 30).batches(epoch: 0) {
            let texts = batch.flatMap { r.texts(of: $0) }
            XCTAssertEqual(Set(texts).count, texts.count, "a text repeats in \(batch)")
            XCTAssertEqual(Set(batch.map { rSources.sourceOfExample[$0] }).count, 1)
        }
    }

    func testFileMixFollowsTheWeights() throws {
        let (_, sources) = threeFiles()
        // 18 batches an epoch split 1 : 1 : 2 → 4.5, 4.5, 9 → largest remainders (ties to the first): 5, 4, 9.
        let s = try sampler(weights: [1, 1, 2])
        let plan = try s.batches(epoch: 0)
        XCTAssertEqual(plan.count, 18)
        let counts = (0..<3).map { f in plan.filter { sources.sourceOfExample[$0[0]] == f }.count }
        XCTAssertEqual(counts, [5, 4, 9])
        // File c (24 examples, 3 batches a pass) gives 9 batches: three passes, each example 3 times.
        let cExamples = plan.filter { sources.sourceOfExample[$0[0]] == 2 }.flatMap { $0 }
        XCTAssertEqual(Dictionary(grouping: cExamples, by: { $0 }).values.map(\.count).sorted(), Array(repeating: 3, count: 24))
        // Weight 0 leaves a file out: the epoch is a pass over the other two (5 + 3 batches, split 1 : 1).
        let without = try sampler(weights: [1, 0, 1]).batches(epoch: 0)
        XCTAssertEqual((0..<3).map { f in without.filter { sources.sourceOfExample[$0[0]] == f }.count }, [4, 0, 4])
        XCTAssertEqual(PerSourceBatches.apportion(10, weights: [1, 1, 1]), [4, 3, 3])
        XCTAssertEqual(PerSourceBatches.apportion(7, weights: [0.5, 0.25, 0.25]), [3, 2, 2])   // 3.5, 1.75, 1.75
    }

    func testResumeMidEpochContinuesIdentically() throws {
        var straight = try sampler(weights: [2, 1, 1], seed: 11)
        let all = try (0..<40).map { _ in try straight.next() }
        var first = try sampler(weights: [2, 1, 1], seed: 11)
        _ = try (0..<13).map { _ in try first.next() }
        let saved = try JSONDecoder().decode(BatchSamplerState.self, from: JSONEncoder().encode(first.state))
        var resumed = try sampler(weights: [2, 1, 1], seed: 11)
        try resumed.restore(saved)
        XCTAssertEqual(try (0..<27).map { _ in try resumed.next() }, Array(all[13...]))
        // Other weights are other settings: refused.
        var reweighted = try sampler(weights: [1, 1, 1], seed: 11)
        XCTAssertTrue(message { try reweighted.restore(saved) }.contains("other settings"))
        // The same texts split into other files are other data: refused.
        let (d, sources) = threeFiles()
        var moved = sources
        moved.sourceOfExample[0] = 1
        var regrouped = try BatchSampler(dataset: d, config: saved.config, sources: moved)
        XCTAssertTrue(message { try regrouped.restore(saved) }.contains("other data"))
    }

    func testAFileSmallerThanABatchIsNamed() throws {
        let text = message { try self.sampler(batchSize: 32) }
        XCTAssertTrue(text.hasPrefix("c.jsonl: has 24 examples, fewer than one batch of 32"), text)
        XCTAssertTrue(text.contains("data.batches: mixed"), text)
    }

    // MARK: Recipe and TrainingData

    func write(_ lines: [String], to path: String) throws {
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    func testRecipeKeysReachTheSampler() throws {
        let dir = try makeScratchFolder("per-source")
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.jsonl").path, b = dir.appendingPathComponent("b.jsonl").path
        try write((0..<20).map { "{\"anchor\": \"a q\($0)\", \"positive\": \"a p\($0)\"}" }, to: a)
        try write((0..<12).map { "{\"anchor\": \"b q\($0)\", \"positive\": \"b p\($0)\"}" }, to: b)
        let yaml = """
            model: m.h5
            output: \(dir.path)/run
            adapters: [{name: t}]
            data: {train: [\(a), \(b)], batch_size: 4, batches: per_source, weights: [1, 3]}
            """
        let recipe = try Recipe.parse(yaml: yaml, source: "r.yaml")
        XCTAssertEqual(recipe.data.batches, .perSource)
        XCTAssertEqual(recipe.data.weights, [1, 3])
        XCTAssertEqual(try Recipe.parse(yaml: recipe.resolvedYAML(), source: "r.yaml"), recipe)
        let data = try TrainingData.load(recipe: recipe)
        XCTAssertEqual(data.trainSources.sourceOfExample, Array(repeating: 0, count: 20) + Array(repeating: 1, count: 12))
        let plan = try data.makeSampler(recipe: recipe).batches(epoch: 0)
        // 5 + 3 = 8 batches an epoch, split 1 : 3.
        XCTAssertEqual(plan.map { data.trainSources.sourceOfExample[$0[0]] }.sorted(), [0, 0, 1, 1, 1, 1, 1, 1])
        for batch in plan { XCTAssertEqual(Set(batch.map { data.trainSources.sourceOfExample[$0] }).count, 1) }
        // Mixed (the default) is unchanged by the new keys: the same plan as a sampler without sources.
        let mixed = try Recipe.parse(yaml: yaml, source: "r.yaml", overrides: ["data.batches=mixed", "data.weights=null"])
        XCTAssertEqual(try TrainingData.load(recipe: mixed).makeSampler(recipe: mixed).batches(epoch: 0),
                       try BatchSampler(dataset: data.train, config: BatchSamplerConfig(batchSize: 4, seed: 42)).batches(epoch: 0))
        // Held-out rows leave the per-example sources aligned with the training rows.
        let held = try Recipe.parse(yaml: yaml, source: "r.yaml", overrides: ["data.held_out=0.25"])
        let split = try TrainingData.load(recipe: held)
        XCTAssertEqual(split.trainSources.sourceOfExample.count, split.train.count)
        for i in 0..<split.train.count {
            XCTAssertEqual(split.train.texts(of: i)[0].first, split.trainSources.sourceOfExample[i] == 0 ? "a" : "b")
        }
    }

    func testWeightsThatDoNotMatchTheFilesAreOneLine() {
        let base = "model: m.h5\noutput: runs/x\nadapters: [{name: t}]\ndata: {train: [a.jsonl, b.jsonl], batches: per_source}\n"
        func fails(_ overrides: [String], _ fragment: String, line: UInt = #line) {
            let text = message { try Recipe.parse(yaml: base, source: "r.yaml", overrides: overrides) }
            XCTAssertTrue(text.hasPrefix("r.yaml: "), text, line: line)
            XCTAssertTrue(text.contains(fragment), "\"\(text)\" lacks \"\(fragment)\"", line: line)
            XCTAssertFalse(text.contains("\n"), line: line)
        }
        fails(["data.weights=[1, 2, 3]"], "data.weights has 3 weights for 2 training files")
        fails(["data.weights=[1, -1]"], "data.weights must be non-negative numbers")
        fails(["data.weights=[0, 0]"], "not all 0")
        fails(["data.batches=mixed", "data.weights=[1, 1]"], "data.weights applies to data.batches: per_source")
        fails(["data.batches=by_file"], "data.batches must be one of mixed, per_source")
    }
}
