import Foundation

/// A text file read one line at a time by index, without holding its texts in memory: the file is
/// memory-mapped and only the byte offset of every `indexEvery`-th line is kept.
///
/// - `indexEvery: 1` (mining's corpus, read back at random rows): 8 bytes a line, so a corpus of
///   millions of passages costs its offsets, not its text.
/// - a sparse index (`embed`, which reads front to back): a line is found from the nearest indexed
///   one, and a cursor makes reading in order O(1) a line, so memory does not grow with the file.
///
/// Mapped pages count in a process's resident memory once touched; the counting scan and
/// `release(before:)` hand the pages behind the reader back (`MappedFile.discard`), so reading a
/// 100 MB file front to back keeps a few MB of it resident, not all of it.
///
/// Lines are UTF-8 texts, or with `jsonl` JSON objects whose `"text"` field is the text (as
/// `TextLines`). A final newline does not start another line; CRLF ends are accepted.
public final class LineFile: @unchecked Sendable {
    public let path: String
    public let jsonl: Bool
    /// Lines between two indexed offsets.
    public let indexEvery: Int
    public let count: Int
    private let file: MappedFile
    /// Byte offset of line `k × indexEvery`'s first byte.
    private var starts: [Int] = []
    /// The line after the last one read and its offset: reading in order never rescans.
    private var cursor = (line: 0, offset: 0)

    public init(path: String, jsonl: Bool? = nil, indexEvery: Int = 1) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw TaskLoRAError.file(path, "no such file") }
        precondition(indexEvery >= 1, "indexEvery must be at least 1")
        self.path = path
        self.jsonl = jsonl ?? path.lowercased().hasSuffix(".jsonl")
        self.indexEvery = indexEvery
        file = try MappedFile(path: path)
        var start = 0, line = 0, released = 0
        while start < file.count {
            if line % indexEvery == 0 { starts.append(start) }
            start = Self.lineEnd(file.bytes, from: start) + 1
            line += 1
            if start - released >= MappedFile.discardStride {
                file.discard(before: start)
                released = start
            }
        }
        file.discard(before: file.count)
        count = line
    }

    /// The offset of the newline that ends the line starting at `start` (or the file's end).
    private static func lineEnd(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        guard let base = bytes.baseAddress, start < bytes.count else { return bytes.count }
        guard let hit = memchr(base + start, Int32(UInt8(ascii: "\n")), bytes.count - start) else { return bytes.count }
        return UnsafeRawPointer(hit) - base
    }

    /// Byte offset of line `i`'s first byte.
    private func offset(of i: Int) -> Int {
        var line = i - i % indexEvery, offset = starts[i / indexEvery]
        if cursor.line <= i, cursor.line > line { (line, offset) = cursor }
        while line < i {
            offset = Self.lineEnd(file.bytes, from: offset) + 1
            line += 1
        }
        return offset
    }

    /// Hands back the mapped pages of the lines before `line` (reading them again still works; they
    /// are read from the page cache or the disk again).
    public func release(before line: Int) {
        guard line > 0 else { return }
        file.discard(before: line >= count ? file.count : offset(of: line))
    }

    /// The text of line `i` (0-based); errors name the file and the 1-based line.
    public func text(_ i: Int) throws -> String {
        precondition(i >= 0 && i < count, "line \(i) of \(count)")
        let start = offset(of: i)
        let newline = Self.lineEnd(file.bytes, from: start)
        cursor = (i + 1, newline + 1)
        var end = newline
        if end > start, file.bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        let slice = UnsafeRawBufferPointer(rebasing: file.bytes[start..<end])
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
