import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif
@testable import TaskLoRA

/// Resource faults: a full disk during a save, a file-size limit hit by a training save, an
/// unwritable output folder, an out-of-range batch size, and exports of NaN/Inf weights. Each is
/// one clear error line naming the file, and the files written before are untouched.
final class ResourceFaultTests: XCTestCase {
    typealias F = TrainerFixture

    private func checkpoint(floats: Int, value: Float) -> Checkpoint {
        let t = Tensor(shape: [floats], values: [Float](repeating: value, count: floats))
        return Checkpoint(configJSON: "{}", weights: ["w": t])
    }

    private func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    private func temporaries(in dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.contains(".tmp-") }
    }

    /// The last non-empty line of a child's stderr, and how many "Error:" lines it printed.
    private func errorLine(_ stderr: String) -> (line: String, count: Int) {
        let lines = stderr.split(separator: "\n").map(String.init)
        let errors = lines.filter { $0.hasPrefix("Error: ") }
        return (errors.first ?? lines.last ?? "", errors.count)
    }

    // MARK: - Full disk

    /// A real full disk (a 512 KiB tmpfs, filled): saving a bigger checkpoint over a good one fails
    /// with ENOSPC named in one line; the old file is byte-identical and loads, no temporary is left.
    /// Skipped where the test may not mount a tmpfs (not root); the size-limit test covers the same path.
    func testFullDiskDuringCheckpointSaveKeepsThePreviousFile() throws {
        guard let fs = ScratchFilesystem.mount(bytes: 512 * 1024) else {
            throw XCTSkip("cannot mount a tmpfs here (needs root); see testFileSizeLimitDuringATrainingSave")
        }
        defer { fs.unmount() }
        let path = fs.path + "/model.h5"
        try checkpoint(floats: 1000, value: 1).write(to: path)
        let before = bytes(path)
        try fs.fill(leaving: 64 * 1024)
        XCTAssertLessThan(fs.freeBytes, 100 * 1024)
        XCTAssertThrowsError(try checkpoint(floats: 100_000, value: 2).write(to: path)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix(path + ": "), message)
            XCTAssertFalse(message.contains("\n"), message)
            XCTAssertTrue(message.lowercased().contains("no space") || message.contains("write failed")
                          || message.contains("cannot"), message)
        }
        XCTAssertEqual(bytes(path), before)
        XCTAssertEqual(try Checkpoint.read(path: path).weights["w"]?.array.first, 1)
        XCTAssertEqual(temporaries(in: fs.path), [])
        // Whole-file outputs (metrics, reports, token ids) fail the same way.
        let json = fs.path + "/report.json"
        try fs.fill(leaving: 0)
        XCTAssertThrowsError(try OutputFile.write(Data(count: 256 * 1024), to: json)) {
            XCTAssertTrue("\($0)".hasPrefix(json + ": "), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: json))
        XCTAssertEqual(temporaries(in: fs.path), [])
    }

    /// `tasklora train --resume` under `ulimit -f 16` (16 KiB per file, SIGXFSZ ignored) on a run
    /// whose checkpoints are larger: the first save fails with one error line naming the checkpoint
    /// and "File too large", the exit status is non-zero, and the earlier checkpoints and final.h5
    /// are byte-identical, with no temporary file left.
    func testFileSizeLimitDuringATrainingSave() throws {
        if ProcessInfo.processInfo.environment["TASKLORA_SANITIZER"] == "thread" {
            // TSan's runtime in the child faults (SIGBUS) under a 16 KiB file-size limit before tasklora runs.
            throw XCTSkip("ThreadSanitizer's runtime does not run under ulimit -f 16")
        }
        let d = try KillResumeTests.data()
        let dir = F.newDirectory("fsize")
        let recipe = try KillResumeTests.writeRecipe(output: dir, steps: 4, saveEvery: 2, evalEvery: 0, train: d.train, dev: d.dev)
        let first = try CLIProcess.run(["train", recipe])
        XCTAssertEqual(first.status, 0, first.stderr)
        let run = try RunDirectory(path: dir, create: false)
        let kept = [run.checkpointPath(step: 2), run.checkpointPath(step: 4), run.finalPath]
        let before = kept.map(bytes)
        XCTAssertGreaterThan(before[1]?.count ?? 0, 16 * 1024, "the checkpoint must exceed the limit for this test to mean anything")

        let r = try CLIProcess.run(["train", "--resume", dir, "--set", "schedule.steps=8"], fileSizeLimit: 16 * 1024)
        XCTAssertNotEqual(r.status, 0)
        let (line, count) = errorLine(r.stderr)
        XCTAssertEqual(count, 1, r.stderr)
        XCTAssertTrue(line.hasPrefix("Error: \(run.checkpointPath(step: 6)): "), r.stderr)
        XCTAssertTrue(line.contains("File too large"), line)
        XCTAssertEqual(kept.map(bytes), before)
        XCTAssertEqual(temporaries(in: dir + "/checkpoints"), [])
        XCTAssertEqual(temporaries(in: dir), [])
        XCTAssertEqual(try Checkpoint.read(path: run.checkpointPath(step: 4)).trainingAttributes["step"], "4")
    }

    // MARK: - Unwritable output

    /// Training into a folder that cannot be written (read-only, or a file where a folder should be)
    /// and exporting into one: one error line naming the path, non-zero exit, nothing changed.
    func testUnwritableOutputFolder() throws {
        let d = try KillResumeTests.data()
        // A file in the way of the run directory: refused, the file untouched.
        let blocker = F.newDirectory("blocker")
        try Data("not a folder".utf8).write(to: URL(fileURLWithPath: blocker))
        let recipe1 = try KillResumeTests.writeRecipe(output: blocker + "/run", steps: 4, saveEvery: 2, evalEvery: 0,
                                                      train: d.train, dev: d.dev, file: F.newDirectory("recipe1") + ".yaml")
        let r1 = try CLIProcess.run(["train", recipe1])
        XCTAssertNotEqual(r1.status, 0)
        XCTAssertEqual(errorLine(r1.stderr).count, 1, r1.stderr)
        XCTAssertTrue(errorLine(r1.stderr).line.hasPrefix("Error: \(blocker)/run: "), r1.stderr)
        XCTAssertEqual(bytes(blocker), Data("not a folder".utf8))

        // A read-only folder: a read-only tmpfs when the test may mount (root ignores chmod),
        // otherwise a chmod 0555 folder.
        var readOnly: String
        var fs: ScratchFilesystem?
        if geteuid() == 0 {
            guard let mounted = ScratchFilesystem.mount(bytes: 64 * 1024, readOnly: true) else {
                throw XCTSkip("root without mount permission: no way to make an unwritable folder")
            }
            fs = mounted
            readOnly = mounted.path
        } else {
            readOnly = F.newDirectory("readonly")
            try FileManager.default.createDirectory(atPath: readOnly, withIntermediateDirectories: true)
            chmod(readOnly, 0o555)
        }
        defer {
            fs?.unmount()
            chmod(readOnly, 0o755)
        }
        let recipe2 = try KillResumeTests.writeRecipe(output: readOnly + "/run", steps: 4, saveEvery: 2, evalEvery: 0,
                                                      train: d.train, dev: d.dev, file: F.newDirectory("recipe2") + ".yaml")
        let r2 = try CLIProcess.run(["train", recipe2])
        XCTAssertNotEqual(r2.status, 0)
        XCTAssertEqual(errorLine(r2.stderr).count, 1, r2.stderr)
        XCTAssertTrue(errorLine(r2.stderr).line.hasPrefix("Error: \(readOnly)/run"), r2.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: readOnly), [])

        let model = F.newDirectory("export") + ".h5"
        try ExportTests.makeCheckpoint(at: model)
        let before = bytes(model)
        let r3 = try CLIProcess.run(["export", "--model", model, "--task", "fused", "--format", "hdf5", "--out", readOnly + "/merged.h5"])
        XCTAssertNotEqual(r3.status, 0)
        XCTAssertEqual(errorLine(r3.stderr).count, 1, r3.stderr)
        XCTAssertTrue(errorLine(r3.stderr).line.hasPrefix("Error: \(readOnly)/merged.h5: "), r3.stderr)
        XCTAssertEqual(bytes(model), before)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: readOnly), [])
    }

    // MARK: - Batch size

    /// Out-of-range batch sizes: `embed`/`eval --batch-size 0 | 5000` and a training batch of 0 or
    /// larger than the data are refused with one error line, before any output is written.
    func testOutOfRangeBatchSize() throws {
        let model = F.newDirectory("batch") + ".h5"
        try ExportTests.makeCheckpoint(at: model)
        let texts = TestPaths.fixture("text/multilingual.txt")
        for size in ["0", "-3", "5000"] {
            let out = F.newDirectory("emb") + ".npy"
            let r = try CLIProcess.run(["embed", "--model", model, "--batch-size", size, "--input", texts, "--output", out])
            XCTAssertNotEqual(r.status, 0, size)
            let first = r.stderr.split(separator: "\n").first.map(String.init) ?? ""
            XCTAssertTrue(first.hasPrefix("Error: ") && first.contains("batch-size"), "\(size): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        }
        let d = try KillResumeTests.data()
        for (value, expected) in [("0", "data.batch_size"), ("1000", "fewer than one batch of 1000")] {
            let dir = F.newDirectory("train-batch")
            let recipe = try KillResumeTests.writeRecipe(output: dir, steps: 4, saveEvery: 2, evalEvery: 0, train: d.train, dev: d.dev)
            let r = try CLIProcess.run(["train", recipe, "--set", "data.batch_size=\(value)"])
            XCTAssertNotEqual(r.status, 0, value)
            let (line, count) = errorLine(r.stderr)
            XCTAssertEqual(count, 1, r.stderr)
            XCTAssertTrue(line.contains(expected), "\(value): \(r.stderr)")
            XCTAssertTrue((try? RunDirectory(path: dir, create: false))?.checkpoints().isEmpty ?? true)
        }
    }

    // MARK: - NaN / Inf exports

    /// Exports refuse NaN/Inf: in an adapter (merged, PEFT and the stacked jina layout) and in the
    /// base model's own weights; nothing is written.
    func testExportsRefuseNonFiniteWeights() throws {
        let dir = F.newDirectory("nan-export")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let poisoned = dir + "/poisoned-adapter.h5"
        try ExportTests.makeCheckpoint(at: poisoned, poison: true)
        XCTAssertThrowsError(try ExportSource.stackedCheckpoint(model: poisoned)) {
            XCTAssertTrue("\($0)".contains("holds NaN or Inf"), "\($0)")
        }
        let base = dir + "/poisoned-base.h5"
        try ExportTests.makeCheckpoint(at: base)
        let ckpt = try Checkpoint.read(path: base)
        let name = ckpt.weights.keys.sorted().first { $0.hasSuffix("output.dense.weight") }!
        ckpt.weights[name]!.data[3] = .infinity
        try ckpt.write(to: base)
        XCTAssertThrowsError(try ExportSource.load(model: base, task: nil)) {
            XCTAssertEqual("\($0)", "\(base): weight \(name) holds NaN or Inf; refusing to export it")
        }
        for (format, task) in [("hdf5", "fused"), ("hf", ""), ("peft", "fused"), ("jina", "")] {
            let out = dir + "/out-\(format)" + (format == "hdf5" ? ".h5" : "")
            var args = ["export", "--model", format == "peft" ? poisoned : base, "--format", format, "--out", out]
            if !task.isEmpty { args += ["--task", task] }
            let r = try CLIProcess.run(args)
            XCTAssertNotEqual(r.status, 0, format)
            XCTAssertTrue(errorLine(r.stderr).line.contains("holds NaN or Inf"), "\(format): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), format)
        }
    }
}
