import Foundation
import XCTest
@testable import TaskLoRA

/// `tasklora embed` streams: the input is read and the output written --chunk lines at a time.
/// Chunked output equals one-chunk output and the library's embeddings; .jsonl rows equal .npy
/// rows; a bad line part-way stops with one line and leaves no output file.
final class EmbedStreamingTests: XCTestCase {
    var scratch: URL!
    override func setUpWithError() throws { scratch = try makeScratchFolder("embed-stream") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    func embed(_ input: String, _ output: String, chunk: Int) throws -> CLIProcess {
        let cli = try CLIProcess(["embed", "--model", TrainerFixture.checkpoint, "--input", input, "--output", output,
                                  "--chunk", String(chunk), "--batch-size", "4", "--max-length", "16"])
        _ = cli.wait()
        return cli
    }

    func testChunkedOutputEqualsWholeAndLibrary() throws {
        var s = TrainerFixture.Sentences(seed: 31)
        var texts = (0..<50).map { _ in s.next() }
        texts[17] = ""
        let input = scratch.appendingPathComponent("in.txt").path
        try (texts.joined(separator: "\n") + "\n").write(toFile: input, atomically: true, encoding: .utf8)
        let chunked = scratch.appendingPathComponent("chunked.npy").path, whole = scratch.appendingPathComponent("whole.npy").path
        let jsonl = scratch.appendingPathComponent("chunked.jsonl").path
        let c = try embed(input, chunked, chunk: 7)
        XCTAssertEqual(c.process.terminationStatus, 0, c.stderr)
        XCTAssertTrue(c.stderr.contains("warning: 1 empty input line(s)"), c.stderr)
        XCTAssertEqual(try embed(input, whole, chunk: 1000).process.terminationStatus, 0)
        XCTAssertEqual(try embed(input, jsonl, chunk: 3).process.terminationStatus, 0)
        let a = try NPY.read(path: chunked), b = try NPY.read(path: whole)
        XCTAssertEqual(a.shape, [50, 32])
        XCTAssertLessThan(maxAbsDiff(a.data, b.data, count: a.count), 1e-5)
        let library = try LoadedModel.loadEmbedder(checkpoint: TrainerFixture.checkpoint).0
            .embed(texts, options: .init(batchSize: 4, maxLength: 16)).embeddings
        XCTAssertLessThan(maxAbsDiff(a.data, library.data, count: a.count), 1e-5)
        let rows = try String(contentsOfFile: jsonl, encoding: .utf8).split(separator: "\n").map { line -> [Float] in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            return (object["embedding"] as! [Double]).map(Float.init)
        }
        XCTAssertEqual(rows.count, 50)
        XCTAssertLessThan(maxAbsDiff(rows.flatMap { $0 }, a.array, count: a.count), 1e-5)
    }

    func testABadLinePartWayLeavesNoOutput() throws {
        var s = TrainerFixture.Sentences(seed: 32)
        var data = Data((0..<30).map { _ in s.next() + "\n" }.joined().utf8)
        data.append(contentsOf: [0xFF, 0xFE, 0x0A])
        data.append(Data("last line\n".utf8))
        let input = scratch.appendingPathComponent("bad.txt").path
        try data.write(to: URL(fileURLWithPath: input))
        let output = scratch.appendingPathComponent("out.npy").path
        let cli = try embed(input, output, chunk: 8)
        XCTAssertEqual(cli.process.terminationStatus, 1)
        XCTAssertEqual(cli.stderr.split(separator: "\n").filter { $0.hasPrefix("Error: ") }, ["Error: \(input): line 31 is not valid UTF-8"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: output))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter { $0.contains(".tmp-") }, [])
    }
}
