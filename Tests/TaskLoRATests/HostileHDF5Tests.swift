import Foundation
import XCTest
@testable import TaskLoRA

/// HDF5 checkpoints that are well-formed HDF5 but wrong for tasklora: a tensor of the wrong element
/// type, and a model weight of the wrong rank. (Truncated files, missing datasets, non-HDF5 files,
/// absurd shapes and checksum failures are in CheckpointTests.)
final class HostileHDF5Tests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("tasklora-h5-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    /// A weight stored as uint32 instead of a float type: refused by name, not reinterpreted.
    func testWrongElementTypeIsNamed() throws {
        let path = dir.appendingPathComponent("uint32.h5").path
        let h5 = try HDF5File.create(path)
        let root = try h5.root()
        try root.setAttribute("format", Checkpoint.formatName)
        try root.setAttribute("format_version", Int64(Checkpoint.currentFormatVersion))
        try root.setAttribute("created_by", "hand")
        try root.createGroup("config").setAttribute("json", "{}")
        let weights = try root.createGroup("weights")
        try weights.setAttribute("tensor_count", 1)
        let dataset = try weights.createDataset("a.weight", values: [UInt32](repeating: 7, count: 6), shape: [2, 3])
        try dataset.setAttribute("checksum", Int64(0), as: .uint32)
        try h5.commit()
        XCTAssertThrowsError(try Checkpoint.read(path: path)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix(path + ": "), message)
            XCTAssertTrue(message.contains("a.weight"), message)
            XCTAssertTrue(message.contains("uint32"), message)
        }
    }

    /// A model checkpoint whose word embeddings were flattened to rank 1: the checkpoint reads (it is
    /// valid HDF5 with intact checksums) but loading the model names the tensor and both shapes.
    func testWrongRankIsNamedWhenTheModelLoads() throws {
        let path = dir.appendingPathComponent("flat.h5").path
        var ckpt = try ModelImporter.load(source: TestPaths.fixture("tiny-bert")).checkpoint()
        let name = "embeddings.word_embeddings.weight"
        let table = try XCTUnwrap(ckpt.weights[name])
        XCTAssertEqual(table.shape, [120, 32])
        ckpt.weights[name] = Tensor(shape: [120 * 32], values: table.array)
        try ckpt.write(to: path)
        let read = try Checkpoint.read(path: path)
        XCTAssertThrowsError(try LoadedModel.loadEncoder(read, path: path)) { error in
            XCTAssertEqual("\(error)", "\(path): tensor \(name) has shape [3840], expected [120, 32]")
        }
    }
}
