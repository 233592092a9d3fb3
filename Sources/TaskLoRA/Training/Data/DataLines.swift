import Foundation

/// Reads a data file and splits it into numbered lines (LF or CRLF; a leading UTF-8 BOM is dropped).
/// A line that is not valid UTF-8 comes back with `text == nil` so the caller can fail or skip it.
enum DataLines {
    struct Line {
        var number: Int
        var text: String?
    }

    static func contents(_ path: String) throws -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw TaskLoRAError.file(path, "no such file")
        }
        guard !isDirectory.boolValue, let data = FileManager.default.contents(atPath: path) else {
            throw TaskLoRAError.file(path, "cannot read file")
        }
        return withoutBOM([UInt8](data))
    }

    static func withoutBOM(_ bytes: [UInt8]) -> [UInt8] {
        bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(bytes.dropFirst(3)) : bytes
    }

    static func split(_ bytes: [UInt8]) -> [Line] {
        var lines: [Line] = []
        var start = 0
        var number = 0
        let n = bytes.count
        while start < n {
            number += 1
            var end = start
            while end < n, bytes[end] != 0x0A { end += 1 }
            var stop = end
            if stop > start, bytes[stop - 1] == 0x0D { stop -= 1 }
            lines.append(Line(number: number, text: String(validating: bytes[start..<stop], as: UTF8.self)))
            start = end + 1
        }
        return lines
    }

    static func isBlank(_ s: String) -> Bool { s.allSatisfy(\.isWhitespace) }
}
