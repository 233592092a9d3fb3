import Foundation
import XCTest
@testable import TaskLoRA

/// Every input the fuzzers (fuzz/, scripts/fuzz.sh) found to crash or misbehave, kept under
/// Tests/Fixtures/fuzz/<target>/ and replayed here through the same reader.
final class FuzzRegressionTests: XCTestCase {
    private func inputs(_ target: String) throws -> [String] {
        let dir = TestPaths.fixture("fuzz/" + target)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        XCTAssertFalse(names.isEmpty, "no regression inputs in \(dir)")
        return names.map { dir + "/" + $0 }
    }

    /// The reader must throw one error line naming the file.
    private func assertOneLineError(_ path: String, file: StaticString = #filePath, line: UInt = #line,
                                    _ body: () throws -> Void) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix(path + ": "), message, file: file, line: line)
            XCTAssertFalse(message.contains("\n") || message.contains("\t"), message.debugDescription, file: file, line: line)
        }
    }

    /// A safetensors header whose tensor name holds tabs and a newline: the error quoted it raw and
    /// spanned two lines (a hostile file could forge log lines). Now escaped.
    func testSafeTensorsNameWithNewlineGivesOneLine() throws {
        for path in try inputs("safetensors") {
            assertOneLineError(path) { _ = try SafeTensorsFile(path: path).allTensors() }
        }
    }

    /// An E5S1 tensor directory entry named "l0.v.\n": same fault, same fix.
    func testE5S1NameWithNewlineGivesOneLine() throws {
        for path in try inputs("e5s1") {
            assertOneLineError(path) { _ = try E5S1File(path: path).canonicalWeights() }
            XCTAssertThrowsError(try E5S1File(path: path).canonicalWeights()) {
                XCTAssertTrue("\($0)".contains("tensor l0.v.\\n data [0, +576) lies outside the data region"), "\($0)")
            }
        }
    }

    /// Control characters become escapes; plain text is untouched.
    func testErrorMessagesEscapeControlCharacters() {
        XCTAssertEqual(TaskLoRAError("a\nb\tc\r\u{1B}[31m\u{7}").message, "a\\nb\\tc\\r\\u{1B}[31m\\u{7}")
        XCTAssertEqual(TaskLoRAError.file("x.json", "émoji 日本 ok").message, "x.json: émoji 日本 ok")
    }

    /// A checkpoint whose /adapters/task group has a corrupt fractal heap: libhdf5 1.10.8 frees a
    /// wild pointer while giving up on it (AddressSanitizer: SEGV in H5MM_xfree under H5Literate).
    /// Without ASan the free happens to be harmless and tasklora reports the damage; the library fault
    /// itself is upstream (see docs/reliability.md). Run in a child so a crash cannot take the runner down.
    func testCorruptFractalHeapIsAnErrorNotACrash() throws {
        if ProcessInfo.processInfo.environment["TASKLORA_SANITIZER"] == "address" {
            throw XCTSkip("libhdf5 1.10.8 frees a wild pointer on this input; ASan stops the child there (upstream, see docs/reliability.md)")
        }
        for path in try inputs("checkpoint") {
            let r = try CLIProcess.run(["inspect", path])
            XCTAssertEqual(r.status, 1, r.stderr)
            let lines = r.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, r.stderr)
            XCTAssertTrue(lines.first?.hasPrefix("Error: \(path): ") ?? false, r.stderr)
            XCTAssertTrue(r.stderr.contains("cannot list the group"), r.stderr)
        }
    }
}
