import Foundation
import XCTest
@testable import TaskLoRA

/// A run's adapter files find their base from any working directory, and after the run folder and
/// the base moved together; a base replaced by another model is refused by its checksum; older
/// files (only `base_model`) still load; a missing base is one line naming every place looked.
final class BaseModelReferenceTests: XCTestCase {
    typealias F = TrainerFixture

    private var scratch: URL!
    private var originalDirectory: String!

    override func setUpWithError() throws {
        scratch = F.root.appendingPathComponent("base-ref-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        originalDirectory = FileManager.default.currentDirectoryPath
    }

    override func tearDownWithError() throws {
        FileManager.default.changeCurrentDirectoryPath(originalDirectory)
        try? FileManager.default.removeItem(at: scratch)
    }

    /// A fresh folder under this test's scratch folder.
    private func folder(_ name: String) throws -> String {
        let path = scratch.appendingPathComponent(name).path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Runs `body` with `directory` as the working directory, as a user who `cd`s there.
    private func inDirectory<T>(_ directory: String, _ body: () throws -> T) throws -> T {
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(directory), directory)
        defer { FileManager.default.changeCurrentDirectoryPath(originalDirectory) }
        return try body()
    }

    /// A user's project folder holding `checkpoints/base.h5` and a 4-step run trained from inside
    /// it with the recipe's paths relative to it (`model: checkpoints/base.h5`, `output: runs/x`).
    private func trainInProject() throws -> (project: String, base: String, run: RunDirectory) {
        let project = try folder("project")
        try FileManager.default.createDirectory(atPath: project + "/checkpoints", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: F.checkpoint, toPath: project + "/checkpoints/base.h5")
        let train = try F.write(F.pairs(16), name: "train.jsonl")
        var recipe = try F.recipe(train: train, dev: nil, output: "runs/x", overrides: ["schedule.steps=4"])
        recipe.model = "checkpoints/base.h5"
        try inDirectory(project) { try Trainer(recipe: recipe).train() }
        return (project, project + "/checkpoints/base.h5", try RunDirectory(path: project + "/runs/x", create: false))
    }

    private let texts = ["bab dak fal", "gel kem lop nur", "pis tad"]

    /// The `task` adapter's embeddings of `texts` through `adapterFile` (found as the CLI finds it).
    private func embeddings(_ adapterFile: String, extra: [String] = []) throws -> [Float] {
        let (embedder, _) = try LoadedModel.loadEmbedder(checkpoint: adapterFile, adapterFiles: extra)
        let index = try XCTUnwrap(embedder.adapters?.adapterIndex("task"))
        return try embedder.embed(texts, options: .init(adapter: index)).embeddings.array
    }

    private func error(_ body: () throws -> Void) -> String { F.error(body) }

    func testAdapterFilesRecordTheBasePathsSizeAndChecksum() throws {
        let (project, base, run) = try trainInProject()
        let baseCheckpoint = try Checkpoint.read(path: base, loadWeights: false)
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: base)[.size] as? NSNumber).uint64Value
        for (file, relative) in [(run.finalPath, "../../checkpoints/base.h5"),
                                 (run.checkpointPath(step: 4), "../../../checkpoints/base.h5")] {
            let metadata = try Checkpoint.read(path: file).metadata
            XCTAssertEqual(metadata["base_model"], "checkpoints/base.h5", file)
            XCTAssertEqual(metadata["base_model_absolute"], base, file)
            XCTAssertEqual(metadata["base_model_relative"], relative, file)
            XCTAssertEqual(metadata["base_model_size"], String(size), file)
            XCTAssertEqual(metadata["base_model_checksum"], BaseModelReference.checksum(of: baseCheckpoint.weightChecksums), file)
        }
        XCTAssertFalse(baseCheckpoint.weightChecksums.isEmpty)
        XCTAssertEqual(baseCheckpoint.weightChecksums, try Checkpoint.read(path: base).weightChecksums,
                       "the checksums read without the weights equal those verified with them")
        _ = project
    }

    /// The digest is what docs/checkpoint-format.md says, so h5py alone can check a base.
    func testChecksumFollowsTheDocumentedFormula() throws {
        let script = """
        import sys, zlib, h5py
        f = h5py.File(sys.argv[1], "r")
        crc = 0
        for name in sorted(f["weights"], key=lambda n: n.encode()):
            crc = zlib.crc32(name.encode() + b"\\0" + int(f["weights"][name].attrs["checksum"]).to_bytes(4, "little"), crc)
        print("weights-crc32:%08x" % crc)
        """
        let python = try TestPaths.runPythonCode(script, [F.checkpoint]).trimmingCharacters(in: .whitespacesAndNewlines)
        let swift = BaseModelReference.checksum(of: try Checkpoint.read(path: F.checkpoint, loadWeights: false).weightChecksums)
        XCTAssertEqual(swift, python)
        // One changed CRC changes the digest.
        var changed = try Checkpoint.read(path: F.checkpoint, loadWeights: false).weightChecksums
        changed["pooler.dense.bias", default: 0] ^= 1
        XCTAssertNotEqual(BaseModelReference.checksum(of: changed), swift)
    }

    func testFoundFromAnotherFolderAndAfterMovingSideBySide() throws {
        let (project, base, run) = try trainInProject()
        let reference = try inDirectory(project) { try embeddings("runs/x/final.h5") }
        let elsewhere = try folder("elsewhere")

        try inDirectory(elsewhere) {
            XCTAssertEqual(try embeddings(run.finalPath), reference)
            let adapters = try Checkpoint.read(path: run.finalPath, loadWeights: false)
            XCTAssertEqual(try BaseModelReference.openBase(of: adapters, adapterPath: run.finalPath).path, base)
            XCTAssertNotNil(try LoadedModel.loadTokenizer(checkpoint: run.finalPath))
        }

        // The whole project moves: the absolute path is gone, the relative one still fits.
        let moved = scratch.appendingPathComponent("moved").path
        try FileManager.default.moveItem(atPath: project, toPath: moved)
        XCTAssertFalse(FileManager.default.fileExists(atPath: base))
        let movedFinal = moved + "/runs/x/final.h5"
        try inDirectory(elsewhere) {
            XCTAssertEqual(try embeddings(movedFinal), reference)
            let adapters = try Checkpoint.read(path: movedFinal, loadWeights: false)
            let found = try BaseModelReference.openBase(of: adapters, adapterPath: movedFinal)
            XCTAssertEqual(BaseModelReference.absolutePath(found.path), moved + "/checkpoints/base.h5")
            XCTAssertEqual(try ExportSource.load(model: movedFinal, task: "task").basePath, found.path)
        }
        // A relative adapter path works too: the base is looked for relative to the file, not to here.
        try inDirectory(moved + "/runs") { XCTAssertEqual(try embeddings("x/final.h5"), reference) }
    }

    func testBaseReplacedByAnotherModelIsRefusedByItsChecksum() throws {
        let (project, base, run) = try trainInProject()
        // A copy of the project whose base stays the original: found through its relative path
        // after the recorded absolute path proves to be another model.
        let copy = scratch.appendingPathComponent("copy").path
        try FileManager.default.copyItem(atPath: project, toPath: copy)
        let reference = try embeddings(run.finalPath)

        // Same shape, same metadata, one weight changed: only the checksum tells them apart.
        var other = try Checkpoint.read(path: base)
        other.weights["encoder.layer.0.attention.self.query.weight"]!.data[0] += 0.5
        let sizeBefore = try FileManager.default.attributesOfItem(atPath: base)[.size] as? NSNumber
        try other.write(to: base)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: base)[.size] as? NSNumber, sizeBefore,
                       "the replacement must have the same size, so that the checksum is what refuses it")

        let elsewhere = try folder("elsewhere")
        try inDirectory(elsewhere) {
            let message = error { _ = try embeddings(run.finalPath) }
            XCTAssertTrue(message.hasPrefix(run.finalPath + ": the adapters' base model checkpoints/base.h5 was replaced by a different model"), message)
            XCTAssertTrue(message.contains("\(base) (recorded absolute path) is a different model (checksum weights-crc32:"), message)
            XCTAssertTrue(message.contains("name the base explicitly with --model BASE.h5 --adapters \(run.finalPath)"), message)
            XCTAssertFalse(message.contains("\n"), message)
            XCTAssertEqual(error { _ = try ExportSource.load(model: run.finalPath, task: "task") }, message)

            // The copy's own base is the original one; the replaced one at the absolute path is passed over.
            XCTAssertEqual(try embeddings(copy + "/runs/x/final.h5"), reference)
            // Naming the base explicitly is the user's decision: it is used (its shape still checked).
            XCTAssertNotEqual(try embeddings(base, extra: [run.finalPath]), reference)

            // Another size is refused before the file is read.
            try other.write(to: base, storage: .float16)
            let bySize = error { _ = try embeddings(run.finalPath) }
            XCTAssertTrue(bySize.contains("\(base) (recorded absolute path) is a different model ("), bySize)
            XCTAssertTrue(bySize.contains(" bytes, the adapters were trained on \(sizeBefore!.uint64Value))"), bySize)
        }
    }

    func testOldCheckpointWithOnlyBaseModelStillLoads() throws {
        let (project, base, run) = try trainInProject()
        var old = try Checkpoint.read(path: run.finalPath)
        for key in BaseModelReference.metadataKeys where key != "base_model" { old.metadata[key] = nil }
        let oldPath = run.path + "/old.h5"
        try old.write(to: oldPath)
        let reference = try inDirectory(project) { try embeddings("runs/x/final.h5") }

        XCTAssertEqual(try inDirectory(project) { try embeddings("runs/x/old.h5") }, reference)
        let elsewhere = try folder("elsewhere")
        try inDirectory(elsewhere) {
            let message = error { _ = try embeddings(oldPath) }
            XCTAssertEqual(message, "\(oldPath): the adapters' base model checkpoints/base.h5 is missing: no file at "
                           + "\(elsewhere)/checkpoints/base.h5 (as given, from the working directory); "
                           + "name the base explicitly with --model BASE.h5 --adapters \(oldPath)")
            XCTAssertEqual(try embeddings(base, extra: [oldPath]), reference)
        }
    }

    func testMissingBaseNamesEveryPlaceLookedInOneLine() throws {
        let (project, base, run) = try trainInProject()
        let kept = scratch.appendingPathComponent("kept-base.h5").path
        try FileManager.default.moveItem(atPath: base, toPath: kept)
        let elsewhere = try folder("elsewhere")
        let expected = "\(run.finalPath): the adapters' base model checkpoints/base.h5 is missing: "
            + "no file at \(base) (recorded absolute path); "
            + "no file at \(elsewhere)/checkpoints/base.h5 (as given, from the working directory); "
            + "name the base explicitly with --model BASE.h5 --adapters \(run.finalPath)"
        // The file's relative path leads to the recorded absolute one here, so it is looked at once.
        try inDirectory(elsewhere) {
            XCTAssertEqual(error { _ = try embeddings(run.finalPath) }, expected)
            XCTAssertEqual(error { _ = try LoadedModel.loadTokenizer(checkpoint: run.finalPath) }, expected)
        }

        // The run folder moved without its base: three places, each named.
        let movedRun = try folder("runs") + "/x"
        try FileManager.default.moveItem(atPath: run.path, toPath: movedRun)
        try inDirectory(elsewhere) {
            let message = error { _ = try embeddings(movedRun + "/final.h5") }
            XCTAssertTrue(message.contains("no file at \(base) (recorded absolute path)"), message)
            XCTAssertTrue(message.contains("no file at \(scratch.path)/checkpoints/base.h5 (relative to the adapter file)"), message)
            XCTAssertTrue(message.contains("no file at \(elsewhere)/checkpoints/base.h5 (as given, from the working directory)"), message)
            // Named explicitly, it loads.
            XCTAssertEqual(try embeddings(kept, extra: [movedRun + "/final.h5"]).count, texts.count * 32)
        }
        _ = project
    }

    /// The CLI as a new user runs it: from another folder, and with the base named explicitly.
    func testEmbedCommandFromAnotherFolder() throws {
        let (_, base, run) = try trainInProject()
        let elsewhere = try folder("elsewhere")
        try Data(texts.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: elsewhere + "/texts.txt"))

        let found = try CLIProcess.run(["embed", "--model", run.finalPath, "--task", "task", "--input", "texts.txt",
                                        "--output", "e.npy"], directory: elsewhere)
        XCTAssertEqual(found.status, 0, found.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: elsewhere + "/e.npy"))

        let kept = scratch.appendingPathComponent("kept-base.h5").path
        try FileManager.default.moveItem(atPath: base, toPath: kept)
        let missing = try CLIProcess.run(["embed", "--model", run.finalPath, "--task", "task", "--input", "texts.txt",
                                          "--output", "f.npy"], directory: elsewhere)
        XCTAssertNotEqual(missing.status, 0)
        let line = missing.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertFalse(line.contains("\n"), line)
        XCTAssertTrue(line.contains("\(run.finalPath): the adapters' base model checkpoints/base.h5 is missing"), line)
        XCTAssertTrue(line.contains("--model BASE.h5 --adapters \(run.finalPath)"), line)

        let explicit = try CLIProcess.run(["embed", "--model", kept, "--adapters", run.finalPath, "--task", "task",
                                           "--input", "texts.txt", "--output", "g.npy"], directory: elsewhere)
        XCTAssertEqual(explicit.status, 0, explicit.stderr)
        XCTAssertEqual(FileManager.default.contents(atPath: elsewhere + "/g.npy"),
                       FileManager.default.contents(atPath: elsewhere + "/e.npy"))
    }
}
