import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif
@testable import TaskLoRA

/// Data-parallel training over MPI (`mpirun -np 2 tasklora train`), against one process with the
/// same global batch: the same adapters after K steps (to float rounding), resume across world
/// sizes, and the faults a job must survive (a rank that dies, a rank that hangs). Skipped, with a
/// message, only where `mpirun` is not installed.
final class MPITrainingTests: XCTestCase {
    typealias F = TrainerFixture

    /// Open MPI's launcher, or a skip.
    static func mpirun() throws -> [String] {
        let path = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let path else { throw XCTSkip("mpirun is not installed (apt-get install openmpi-bin libopenmpi-dev)") }
        // Root in CI; two ranks on however many cores the machine has.
        return [path, "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np", "2"]
    }

    /// The adapters of `dir/final.h5` (or a checkpoint), flattened in a fixed order.
    static func adapters(_ path: String) throws -> [Float] {
        let ckpt = try Checkpoint.read(path: path)
        var out: [Float] = []
        for name in ckpt.adapters.keys.sorted() {
            let a = ckpt.adapters[name]!
            for key in a.tensors.keys.sorted() { out += a.tensors[key]!.array }
        }
        return out
    }

    /// A recipe file: tiny-bert, one adapter without dropout, `extra` YAML lines appended.
    static func writeRecipe(output: String, train: String, dev: String? = nil, steps: Int, extra: String) throws -> String {
        let yaml = """
        model: "\(F.checkpoint)"
        output: "\(output)"
        seed: 5
        adapters:
          - name: task
            rank: 4
            alpha: 8
            dropout: 0.0
            targets: [query, value, intermediate.dense]
        data:
          train: "\(train)"
          dev: \(dev.map { "\"\($0)\"" } ?? "null")
          batch_size: 6
          max_length: 16
        schedule:
          warmup_steps: 1
          steps: \(steps)
        save:
          every: 2
          keep_last: 100
        \(extra)
        """
        let path = output + ".yaml"
        try Data(yaml.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    static let infoNCE = """
        loss:
          type: infonce
          hard_negatives: 1
          reverse: true
        optimizer:
          lr: 0.01
          grad_accumulation: 2
          gradcache_chunk: 4
        """

    static let cosent = """
        loss:
          type: cosent
          matryoshka:
            dims: [8, 16, 32]
        optimizer:
          lr: 0.01
          grad_accumulation: 2
        """

    /// Runs `tasklora train recipe` with one process and with `mpirun -np 2`; returns both run dirs.
    private func trainBoth(_ name: String, train: String, dev: String? = nil, steps: Int, extra: String) throws -> (one: String, two: String) {
        let launcher = try Self.mpirun()
        let one = F.newDirectory("\(name)-np1"), two = F.newDirectory("\(name)-np2")
        let r1 = try CLIProcess.run(["train", try Self.writeRecipe(output: one, train: train, dev: dev, steps: steps, extra: extra)],
                                    timeout: 120)
        XCTAssertEqual(r1.status, 0, r1.stderr)
        let r2 = try CLIProcess.run(["train", try Self.writeRecipe(output: two, train: train, dev: dev, steps: steps, extra: extra)],
                                    timeout: 180, launcher: launcher)
        XCTAssertEqual(r2.status, 0, r2.stdout + r2.stderr)
        XCTAssertTrue(r2.stderr.contains("ranks      2"), r2.stderr)
        return (one, two)
    }

    /// The largest |a − b| over two adapter sets, and the largest |a|.
    static func difference(_ a: [Float], _ b: [Float]) -> (maxDiff: Float, maxAbs: Float) {
        XCTAssertEqual(a.count, b.count)
        var d: Float = 0, m: Float = 0
        for (x, y) in zip(a, b) { d = max(d, abs(x - y)); m = max(m, abs(x)) }
        return (d, m)
    }

    /// Two runs' step records: the same losses to float rounding, each record naming its world size.
    private func assertSameLosses(_ one: String, _ two: String, worldSizes: (Int, Int), file: StaticString = #filePath, line: UInt = #line) throws {
        let a = try F.metrics(RunDirectory(path: one, create: false)).map(\.object).filter { $0["loss"] != nil }
        let b = try F.metrics(RunDirectory(path: two, create: false)).map(\.object).filter { $0["loss"] != nil }
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        for (x, y) in zip(a, b) {
            XCTAssertEqual(x["step"] as? Int, y["step"] as? Int, file: file, line: line)
            XCTAssertEqual(x["world_size"] as? Int, worldSizes.0, file: file, line: line)
            XCTAssertEqual(y["world_size"] as? Int, worldSizes.1, file: file, line: line)
            let lx = x["loss"] as? Double ?? .nan, ly = y["loss"] as? Double ?? .nan
            XCTAssertEqual(lx, ly, accuracy: 1e-5 * max(1, abs(lx)), "step \(x["step"] ?? "?")", file: file, line: line)
        }
    }

    /// Tolerance on adapters after a few AdamW steps at lr 0.01: the gradients of 1 and 2 ranks are
    /// sums in a different order (float rounding, ~1e-7 relative), which AdamW's normalization can
    /// magnify for coordinates whose gradient is near zero; 1e-4 is a hundredth of one step's size.
    static let tolerance: Float = 1e-4

    /// InfoNCE with hard negatives and the reverse term, GradCache on, accumulation on: after 6
    /// steps the 2-rank adapters equal the 1-process adapters.
    func testTwoRanksEqualOneProcessInfoNCEHardNegativesGradCacheAccumulation() throws {
        let train = try F.write(F.pairs(60, negatives: 2, seed: 21), name: "train.jsonl")
        let (one, two) = try trainBoth("mpi-infonce", train: train, steps: 6, extra: Self.infoNCE)
        let a = try Self.adapters(one + "/final.h5"), b = try Self.adapters(two + "/final.h5")
        let (diff, size) = Self.difference(a, b)
        XCTAssertGreaterThan(size, 0.01, "training moved nothing")
        XCTAssertLessThanOrEqual(diff, Self.tolerance, "largest adapter difference between 1 and 2 ranks")
        try assertSameLosses(one, two, worldSizes: (1, 2))
        let x = try Checkpoint.read(path: one + "/final.h5"), y = try Checkpoint.read(path: two + "/final.h5")
        XCTAssertEqual(x.trainingAttributes["sampler"], y.trainingAttributes["sampler"])
        XCTAssertEqual(x.trainingAttributes["world_size"], "1")
        XCTAssertEqual(y.trainingAttributes["world_size"], "2")
        print("MPI InfoNCE: largest adapter difference 1 vs 2 ranks \(diff) (largest value \(size))")
    }

    /// CoSENT with Matryoshka dims and accumulation, evaluated on a dev set every 3 steps (rank 0
    /// evaluates and tells the others): 2 ranks equal 1 process, the evaluations too.
    func testTwoRanksEqualOneProcessCoSENTMatryoshka() throws {
        let train = try F.write(F.scoredPairs(60, seed: 22), name: "train.jsonl")
        let dev = try F.write(F.scoredPairs(12, seed: 9), name: "dev.jsonl")
        let (one, two) = try trainBoth("mpi-cosent", train: train, dev: dev, steps: 6, extra: Self.cosent + "\neval:\n  every: 3")
        let evals = (try F.evalValues(RunDirectory(path: one, create: false)), try F.evalValues(RunDirectory(path: two, create: false)))
        XCTAssertEqual(evals.0.keys.sorted(), [0, 3, 6])
        XCTAssertEqual(evals.1.keys.sorted(), [0, 3, 6])
        for (step, value) in evals.0 { XCTAssertEqual(value, evals.1[step] ?? .nan, accuracy: 1e-4, "eval at step \(step)") }
        XCTAssertTrue(FileManager.default.fileExists(atPath: two + "/best.h5"))
        let (diff, size) = Self.difference(try Self.adapters(one + "/final.h5"), try Self.adapters(two + "/final.h5"))
        XCTAssertGreaterThan(size, 0.01, "training moved nothing")
        XCTAssertLessThanOrEqual(diff, Self.tolerance)
        try assertSameLosses(one, two, worldSizes: (1, 2))
        print("MPI CoSENT: largest adapter difference 1 vs 2 ranks \(diff) (largest value \(size))")
    }

    /// A run written by 2 ranks, cut back to its step-4 checkpoint and resumed by one process,
    /// ends as the uninterrupted 1-process run (to float rounding) at the same data position.
    func testResumeAtOneProcessFromACheckpointWrittenByTwoRanks() throws {
        let train = try F.write(F.pairs(60, negatives: 2, seed: 23), name: "train.jsonl")
        let (one, two) = try trainBoth("mpi-resume", train: train, steps: 8, extra: Self.infoNCE)
        let fm = FileManager.default
        let run = try RunDirectory(path: two, create: false)
        for path in run.checkpoints() where !path.hasSuffix("step-00000004.h5") { try fm.removeItem(atPath: path) }
        try fm.removeItem(atPath: run.finalPath)
        let resumed = try CLIProcess.run(["train", "--resume", two], timeout: 120)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("at step 4 (written by 2 ranks)"), resumed.stderr)
        let (diff, _) = Self.difference(try Self.adapters(one + "/final.h5"), try Self.adapters(two + "/final.h5"))
        XCTAssertLessThanOrEqual(diff, Self.tolerance)
        let x = try Checkpoint.read(path: one + "/final.h5"), y = try Checkpoint.read(path: two + "/final.h5")
        XCTAssertEqual(x.trainingAttributes["sampler"], y.trainingAttributes["sampler"])
        XCTAssertEqual(x.trainingAttributes["step"], y.trainingAttributes["step"])
        let sizes = try F.metrics(run).map(\.object).filter { $0["loss"] != nil }.map { $0["world_size"] as? Int ?? 0 }
        XCTAssertEqual(sizes, [2, 2, 2, 2, 1, 1, 1, 1])
    }

    /// The other way: a 1-process run cut back to its step-4 checkpoint and resumed by 2 ranks.
    func testResumeAtTwoRanksFromACheckpointWrittenByOneProcess() throws {
        let launcher = try Self.mpirun()
        let train = try F.write(F.scoredPairs(60, seed: 27), name: "train.jsonl")
        let ref = F.newDirectory("mpi-up-ref"), dir = F.newDirectory("mpi-up")
        for out in [ref, dir] {
            let r = try CLIProcess.run(["train", try Self.writeRecipe(output: out, train: train, steps: 8, extra: Self.cosent)], timeout: 120)
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let run = try RunDirectory(path: dir, create: false)
        for path in run.checkpoints() where !path.hasSuffix("step-00000004.h5") { try FileManager.default.removeItem(atPath: path) }
        try FileManager.default.removeItem(atPath: run.finalPath)
        let resumed = try CLIProcess.run(["train", "--resume", dir], timeout: 180, launcher: launcher)
        XCTAssertEqual(resumed.status, 0, resumed.stdout + resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("at step 4 (written by 1 rank)"), resumed.stderr)
        let (diff, size) = Self.difference(try Self.adapters(ref + "/final.h5"), try Self.adapters(dir + "/final.h5"))
        XCTAssertGreaterThan(size, 0.01)
        XCTAssertLessThanOrEqual(diff, Self.tolerance)
        let sizes = try F.metrics(run).map(\.object).filter { $0["loss"] != nil }.map { $0["world_size"] as? Int ?? 0 }
        XCTAssertEqual(sizes, [1, 1, 1, 1, 2, 2, 2, 2])
    }

    // MARK: - Faults

    /// A rank that dies (SIGKILL after step 5) or hangs (after step 5, with a 5 s collective time
    /// limit) ends the whole job within bounded time with an error naming it; the last checkpoint
    /// (step 4) reads back, and a 1-process resume from it ends as the uninterrupted run.
    private func checkFault(_ kind: String, rank: Int = 1, expect: String) throws {
        let launcher = try Self.mpirun()
        let train = try F.write(F.pairs(60, negatives: 2, seed: 24), name: "train.jsonl")
        let ref = F.newDirectory("mpi-\(kind)-ref"), dir = F.newDirectory("mpi-\(kind)")
        let r = try CLIProcess.run(["train", try Self.writeRecipe(output: ref, train: train, steps: 8, extra: Self.infoNCE)], timeout: 120)
        XCTAssertEqual(r.status, 0, r.stderr)
        let t0 = Date()
        let job = try CLIProcess.run(["train", try Self.writeRecipe(output: dir, train: train, steps: 8, extra: Self.infoNCE)],
                                     timeout: 120, launcher: launcher,
                                     environment: ["TASKLORA_TEST_FAULT": "\(rank):5:\(kind)", "TASKLORA_MPI_TIMEOUT": "5"])
        let seconds = Date().timeIntervalSince(t0)
        let output = job.stdout + job.stderr
        XCTAssertNotEqual(job.status, 0, output)
        XCTAssertTrue(output.contains(expect), "expected \"\(expect)\" in: \(output)")
        XCTAssertLessThan(seconds, 60, "the job took \(seconds) s to end")
        let run = try RunDirectory(path: dir, create: false)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.finalPath))
        let last = try XCTUnwrap(run.latestCheckpoint())
        XCTAssertEqual(try Checkpoint.read(path: last).trainingAttributes["step"], "4")
        let resumed = try CLIProcess.run(["train", "--resume", dir], timeout: 120)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let (diff, _) = Self.difference(try Self.adapters(ref + "/final.h5"), try Self.adapters(dir + "/final.h5"))
        XCTAssertLessThanOrEqual(diff, Self.tolerance)
        print("MPI \(kind): the job ended in \(String(format: "%.1f", seconds)) s")
    }

    func testARankKilledMidRunEndsTheJobAndTheRunResumes() throws {
        try checkFault("kill", expect: "rank 1")
    }

    func testAHungRankEndsTheJobWithinTheTimeLimitNamingIt() throws {
        try checkFault("hang", expect: "rank 1 did not arrive within 5 s")
    }

    /// Rank 0 is the one that names missing ranks; when it hangs itself, rank 1 ends the job after
    /// the time limit and a grace period, and says so.
    func testAHungRankZeroEndsTheJobFromAnotherRank() throws {
        try checkFault("hang", rank: 0, expect: "rank 0 did not report; rank 0 may be the one that hangs")
    }

    /// SIGTERM to one rank (a scheduler's preemption signal may reach the ranks at different
    /// moments): every rank stops after the same step, rank 0 saves one checkpoint of it, the job
    /// exits 143, and a 1-process resume ends as the uninterrupted run.
    func testSIGTERMToOneRankStopsEveryRankAfterTheSameStepWithACheckpoint() throws {
        let launcher = try Self.mpirun()
        let train = try F.write(F.pairs(60, negatives: 2, seed: 25), name: "train.jsonl")
        let steps = 400
        let ref = F.newDirectory("mpi-term-ref"), dir = F.newDirectory("mpi-term")
        let r = try CLIProcess.run(["train", try Self.writeRecipe(output: ref, train: train, steps: steps, extra: Self.infoNCE)],
                                   timeout: 300)
        XCTAssertEqual(r.status, 0, r.stderr)
        let job = try CLIProcess(["train", try Self.writeRecipe(output: dir, train: train, steps: steps, extra: Self.infoNCE)],
                                 launcher: launcher)
        // Wait for a few steps, then signal the last rank process mpirun started.
        let deadline = Date().addingTimeInterval(60)
        while job.isRunning, Date() < deadline,
              ((try? String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8)) ?? "").split(separator: "\n").count < 20 {
            usleep(2_000)
        }
        let pgrep = Process()
        pgrep.executableURL = URL(fileURLWithPath: "/usr/bin/pgrep")
        pgrep.arguments = ["-P", String(job.pid)]
        let pipe = Pipe()
        pgrep.standardOutput = pipe
        try pgrep.run()
        pgrep.waitUntilExit()
        let ranks = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n").compactMap { Int32($0) }
        XCTAssertEqual(ranks.count, 2, "mpirun's children")
        guard let last = ranks.max() else { return }
        kill(last, SIGTERM)
        let status = job.wait(timeout: 60)
        XCTAssertEqual(status, 143, job.stdout + job.stderr)
        let run = try RunDirectory(path: dir, create: false)
        let saved = try XCTUnwrap(run.latestCheckpoint())
        let k = Int(try Checkpoint.read(path: saved).trainingAttributes["step"] ?? "") ?? 0
        XCTAssertGreaterThanOrEqual(k, 19)
        XCTAssertLessThan(k, steps)
        XCTAssertTrue(job.stdout.contains("interrupted at step \(k) of \(steps)"), job.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.finalPath))
        let resumed = try CLIProcess.run(["train", "--resume", dir], timeout: 300)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let (diff, _) = Self.difference(try Self.adapters(ref + "/final.h5"), try Self.adapters(dir + "/final.h5"))
        XCTAssertLessThanOrEqual(diff, Self.tolerance)
    }

    // MARK: - embed

    /// `mpirun -np 2 tasklora embed` (chunks of 7 lines, so shares and chunk edges disagree, and
    /// empty lines) writes one .npy in input order: the 1-process rows to float rounding.
    func testEmbedShardedOverTwoRanksWritesRowsInInputOrder() throws {
        let launcher = try Self.mpirun()
        var s = F.Sentences(seed: 26)
        let lines = (0..<31).map { i in i % 9 == 4 ? "" : s.next() }
        let input = try F.write(lines, name: "texts.txt")
        let dir = F.newDirectory("mpi-embed")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let args = ["embed", "--model", F.checkpoint, "--input", input, "--chunk", "7", "--output"]
        let one = try CLIProcess.run(args + [dir + "/one.npy"])
        XCTAssertEqual(one.status, 0, one.stderr)
        let two = try CLIProcess.run(args + [dir + "/two.npy"], launcher: launcher)
        XCTAssertEqual(two.status, 0, two.stdout + two.stderr)
        XCTAssertTrue(two.stderr.contains("embedded 31 texts") && two.stderr.contains("on 2 ranks"), two.stderr)
        XCTAssertTrue(two.stderr.contains("3 empty input line(s)"), two.stderr)
        let a = try NPY.read(path: dir + "/one.npy"), b = try NPY.read(path: dir + "/two.npy")
        XCTAssertEqual(a.shape, [31, 32])
        XCTAssertEqual(b.shape, a.shape)
        let (diff, size) = Self.difference(a.array, b.array)
        XCTAssertGreaterThan(size, 0.1)
        XCTAssertLessThanOrEqual(diff, 1e-5)
        // Rows are distinct texts' embeddings, so a swapped order could not pass the comparison above.
        XCTAssertNotEqual(Array(a.array[0..<32]), Array(a.array[32..<64]))
    }

    // MARK: - mine

    /// `mpirun -np 2 tasklora mine` embeds the corpus and the anchors in shares (corpus chunks that
    /// do not split evenly) and writes what one process writes: the same negatives for every pair.
    func testMineShardedOverTwoRanksChoosesTheSameNegatives() throws {
        let launcher = try Self.mpirun()
        var s = F.Sentences(seed: 41)
        let corpus = (0..<45).map { _ in s.next() }
        let pairs = (0..<13).map { i in "{\"anchor\": \"\(s.next())\", \"positive\": \"\(corpus[i * 3])\"}" }
        let corpusPath = try F.write(corpus, name: "mine-corpus.txt"), pairsPath = try F.write(pairs, name: "mine-pairs.jsonl")
        let dir = F.newDirectory("mpi-mine")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let args = ["mine", "--model", F.checkpoint, "--pairs", pairsPath, "--corpus", corpusPath, "--num-negatives", "3",
                    "--range-max", "10", "--output"]
        let one = try CLIProcess.run(args + [dir + "/one.jsonl"])
        XCTAssertEqual(one.status, 0, one.stderr)
        let two = try CLIProcess.run(args + [dir + "/two.jsonl"], launcher: launcher)
        XCTAssertEqual(two.status, 0, two.stdout + two.stderr)
        let a = try String(contentsOfFile: dir + "/one.jsonl", encoding: .utf8)
        let b = try String(contentsOfFile: dir + "/two.jsonl", encoding: .utf8)
        XCTAssertEqual(a.split(separator: "\n").count, 13)
        XCTAssertEqual(b, a)
        // Only rank 0 reports.
        XCTAssertEqual(two.stderr.components(separatedBy: "mined 13 examples").count - 1, 1, two.stderr)
    }
}
