import Foundation

/// Reads the texts of an input file: UTF-8 plain text with one text per line, or JSON Lines
/// (`.jsonl`) with a `"text"` field per line.
///
/// An empty line is an empty text (it keeps its row, so output row i always belongs to input line i);
/// a final newline does not start another text. CRLF line ends are accepted.
public enum TextLines {
    public static func read(path: String) throws -> [String] {
        guard FileManager.default.fileExists(atPath: path) else {
            throw TaskLoRAError.file(path, "no such file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TaskLoRAError.file(path, "cannot read file")
        }
        return try parse(data, path: path, jsonl: path.lowercased().hasSuffix(".jsonl"))
    }

    public static func parse(_ data: Data, path: String, jsonl: Bool) throws -> [String] {
        var lines: [String] = []
        var lineNumber = 0
        var start = data.startIndex
        let newline = UInt8(ascii: "\n")
        while start < data.endIndex {
            lineNumber += 1
            let end = data[start...].firstIndex(of: newline) ?? data.endIndex
            var slice = data[start..<end]
            if slice.last == UInt8(ascii: "\r") { slice = slice.dropLast() }
            guard let line = String(validating: slice, as: UTF8.self) else {
                throw TaskLoRAError.file(path, "line \(lineNumber) is not valid UTF-8")
            }
            if jsonl {
                if line.allSatisfy(\.isWhitespace) {
                    throw TaskLoRAError.file(path, "line \(lineNumber) is empty (JSON Lines needs one object per line)")
                }
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                    throw TaskLoRAError.file(path, "line \(lineNumber) is not a JSON object")
                }
                guard let text = object["text"] as? String else {
                    throw TaskLoRAError.file(path, "line \(lineNumber) has no string field \"text\"")
                }
                lines.append(text)
            } else {
                lines.append(line)
            }
            start = end < data.endIndex ? data.index(after: end) : end
        }
        return lines
    }
}
