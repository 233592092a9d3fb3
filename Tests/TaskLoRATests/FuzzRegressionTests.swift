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
            // libhdf5 frees a wild pointer here: whether that crashes depends on the heap, so the
            // probe child either dies (reported as such) or gets libhdf5's error.
            XCTAssertTrue(r.stderr.contains("cannot list the group") || r.stderr.contains("the HDF5 library crashed"), r.stderr)
        }
    }

    /// libhdf5 1.10.8 segfaults, aborts, allocates gigabytes or hangs on these fuzzer finds. The
    /// CLI reads an HDF5 file's structure in a child process first (`HDF5Probe`), so each ends in
    /// one error line and exit status 1, and this process never runs libhdf5 on them.
    func testLibHDF5CrashAbortHugeAllocationAndHangAreOneErrorLine() throws {
        if ProcessInfo.processInfo.environment["TASKLORA_SANITIZER"] != nil {
            throw XCTSkip("the probe child runs under the sanitizer too, which reports libhdf5's faults in its own words")
        }
        setenv("TASKLORA_HDF5_PROBE_TIMEOUT", "5", 1)
        defer { unsetenv("TASKLORA_HDF5_PROBE_TIMEOUT") }
        // Whether libhdf5 faults on the crash and oom inputs depends on the heap (wild frees), so
        // their message is either the probe's "crashed (signal N)" or libhdf5's own error; the hang
        // is deterministic. Every one must be exit status 1 with one line, never a death by signal.
        let paths = try inputs("checkpoint-libhdf5")
        XCTAssertEqual(paths.count, 4)
        for path in paths {
            let started = Date()
            let r = try CLIProcess.run(["inspect", path], timeout: 30)
            XCTAssertEqual(r.status, 1, r.stderr)
            let lines = r.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, r.stderr)
            XCTAssertTrue(lines.first?.hasPrefix("Error: \(path): ") ?? false, r.stderr)
            if path.contains("/timeout-") {
                XCTAssertTrue(r.stderr.contains("reading its HDF5 structure did not finish in 5 s"), r.stderr)
            }
            XCTAssertLessThan(Date().timeIntervalSince(started), 20, path)
        }
        // A sound checkpoint passes the probe and reads as usual.
        let ok = try CLIProcess.run(["inspect", TrainerFixture.checkpoint])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(ok.stdout.contains("architecture"), ok.stdout)
    }
}
