import Foundation
import XCTest
@testable import TaskLoRA

/// `LineFile` with a sparse index (what `embed` streams with) must read every line exactly as the
/// full index does, in order, backwards, at random, and after its pages were handed back.
final class LineFileTests: XCTestCase {
    func testSparseIndexReadsWhatTheFullIndexReads() throws {
        let dir = try makeScratchFolder("linefile")
        defer { try? FileManager.default.removeItem(at: dir) }
        var rng = SplitMix64(seed: 3)
        // Lines of 0–40 characters, some empty, some with CRLF ends, multi-byte UTF-8; no final newline.
        var expected: [String] = []
        var content = ""
        for i in 0..<997 {
            let n = Int(rng.next() % 41)
            let text = String((0..<n).map { k in (i + k) % 13 == 0 ? "é" : Character(UnicodeScalar(97 + (i * 7 + k) % 26)!) })
            expected.append(text)
            content += text + (i == 996 ? "" : (i % 5 == 0 ? "\r\n" : "\n"))
        }
        let path = dir.appendingPathComponent("lines.txt").path
        try content.write(toFile: path, atomically: true, encoding: .utf8)
        for every in [1, 3, 64, 5000] {
            let file = try LineFile(path: path, indexEvery: every)
            XCTAssertEqual(file.count, expected.count, "indexEvery \(every)")
            XCTAssertEqual(try (0..<file.count).map { try file.text($0) }, expected, "in order, indexEvery \(every)")
            XCTAssertEqual(try (0..<file.count).reversed().map { try file.text($0) }, expected.reversed(), "backwards, indexEvery \(every)")
            for _ in 0..<200 {
                let i = Int(rng.next() % UInt64(expected.count))
                XCTAssertEqual(try file.text(i), expected[i], "line \(i), indexEvery \(every)")
            }
            file.release(before: 500)
            XCTAssertEqual(try file.text(10), expected[10], "a line read again after its pages were released")
            file.release(before: file.count)
            XCTAssertEqual(try file.text(996), expected[996])
        }
    }

    func testFinalNewlineAndEmptyFile() throws {
        let dir = try makeScratchFolder("linefile-ends")
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.txt").path, b = dir.appendingPathComponent("b.txt").path
        try "x\ny\n".write(toFile: a, atomically: true, encoding: .utf8)
        try "".write(toFile: b, atomically: true, encoding: .utf8)
        for every in [1, 2] {
            let file = try LineFile(path: a, indexEvery: every)
            XCTAssertEqual(file.count, 2)
            XCTAssertEqual(try file.text(1), "y")
            XCTAssertEqual(try LineFile(path: b, indexEvery: every).count, 0)
        }
    }
}
