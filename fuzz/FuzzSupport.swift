import Foundation
import TaskLoRA

/// Shared by every fuzz target (linked into each): hands the input to a reader as a file, since
/// the readers take paths, and swallows the errors they are meant to throw. A trap, a sanitizer
/// report, a hang or an allocation over libFuzzer's -malloc_limit_mb is a finding.
enum Fuzz {
    /// One scratch folder per process (libFuzzer's -jobs/-fork runs several).
    static let folder: String = {
        let base = ProcessInfo.processInfo.environment["TASKLORA_FUZZ_TMP"] ?? "/tmp"
        let path = base + "/tasklora-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    /// Writes `bytes` to a file named `name` in the scratch folder and returns its path.
    static func file(_ bytes: UnsafeRawBufferPointer, name: String) -> String {
        let path = folder + "/" + name
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    /// Like `file`, but under a new name each call (the previous one deleted): `HDF5Sandbox`
    /// remembers files it already read safely by path, size and modification time, and two inputs
    /// of one size written within a clock tick would otherwise look like one file.
    static func freshFile(_ bytes: UnsafeRawBufferPointer, name: String) -> String {
        if let previous = lastFresh { unlink(previous) }
        freshCount += 1
        let path = file(bytes, name: "\(freshCount)-\(name)")
        lastFresh = path
        return path
    }
    nonisolated(unsafe) private static var freshCount = 0
    nonisolated(unsafe) private static var lastFresh: String?

    /// Runs `body`; a thrown error is the expected answer to a bad file.
    static let verbose = ProcessInfo.processInfo.environment["TASKLORA_FUZZ_VERBOSE"] != nil

    static func run(_ body: () throws -> Void) {
        do { try body() } catch {
            if verbose { print("error: \(error)") }
            // Errors must be one line naming the problem: a multi-line or empty message is a finding.
            let message = "\(error)"
            if message.isEmpty || message.contains("\n") {
                fatalError("error message is empty or spans lines: \(message.debugDescription)")
            }
        }
    }

    /// The input as bytes.
    static func bytes(_ data: UnsafePointer<UInt8>, _ size: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: data, count: size)
    }

    /// A tokenizer on arbitrary bytes: the first byte picks a max length (0: none), the rest is the
    /// text, invalid UTF-8 included (decoded with replacement characters). Every id must be in the
    /// vocabulary and the length limit kept; the batch path must agree with the one-text path.
    static func tokenize(_ tokenizer: any TextTokenizer, _ data: UnsafePointer<UInt8>, _ size: Int) {
        guard size > 0 else { return }
        let maxLength = Int(data[0] % 40)
        let text = String(decoding: UnsafeBufferPointer(start: data + 1, count: size - 1), as: UTF8.self)
        let ids = tokenizer.encode(text, maxLength: maxLength == 0 ? nil : maxLength)
        if maxLength > 0, ids.count > maxLength { fatalError("\(ids.count) ids for maxLength \(maxLength)") }
        for id in ids where id < 0 || Int(id) >= tokenizer.vocabularySize { fatalError("id \(id) out of range") }
        // encodeAll's documented precondition is maxLength >= 2 (every CLI option and recipe checks it).
        if maxLength >= 2, tokenizer.encodeAll([text], maxLength: maxLength).ids.first != ids {
            fatalError("encodeAll disagrees with encode")
        }
    }
}
