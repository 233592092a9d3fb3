import Foundation

/// A text file read one line at a time by index, without holding its texts in memory: the file is
/// memory-mapped and only the byte offset of each line is kept (8 bytes a line), so a corpus of
/// millions of passages costs its offsets, not its text.
///
/// Lines are UTF-8 texts, or with `jsonl` JSON objects whose `"text"` field is the text (as
/// `TextLines`). A final newline does not start another line; CRLF ends are accepted.
public final class LineFile: @unchecked Sendable {
    public let path: String
    public let jsonl: Bool
    private let file: MappedFile
    /// Byte offset of line i's first byte; `starts[count]` is one past the last line's end.
    private var starts: [Int] = []

    public init(path: String, jsonl: Bool? = nil) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw TaskLoRAError.file(path, "no such file") }
        self.path = path
        self.jsonl = jsonl ?? path.lowercased().hasSuffix(".jsonl")
        file = try MappedFile(path: path)
        let bytes = file.bytes
        var start = 0
        while start < bytes.count {
            starts.append(start)
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: "\n") { end += 1 }
            start = end + 1
        }
        starts.append(min(start, bytes.count + 1))
    }

    public var count: Int { starts.count - 1 }

    /// The text of line `i` (0-based); errors name the file and the 1-based line.
    public func text(_ i: Int) throws -> String {
        var end = starts[i + 1] - 1   // the newline, or the end of the file
        end = min(end, file.bytes.count)
        if end > starts[i], file.bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        let slice = UnsafeRawBufferPointer(rebasing: file.bytes[starts[i]..<end])
        guard let line = String(validating: slice, as: UTF8.self) else {
            throw TaskLoRAError.file(path, "line \(i + 1) is not valid UTF-8")
        }
        guard jsonl else { return line }
        if line.allSatisfy(\.isWhitespace) {
            throw TaskLoRAError.file(path, "line \(i + 1) is empty (JSON Lines needs one object per line)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(slice)) as? [String: Any] else {
            throw TaskLoRAError.file(path, "line \(i + 1) is not a JSON object")
        }
        guard let text = object["text"] as? String else {
            throw TaskLoRAError.file(path, "line \(i + 1) has no string field \"text\"")
        }
        return text
    }
}
