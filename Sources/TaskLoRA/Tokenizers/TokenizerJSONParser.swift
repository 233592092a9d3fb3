import Foundation

/// A small JSON parser for tokenizer.json files. XLM-R's is 17 MB, mostly 250k `[piece, score]`
/// pairs, and Foundation's JSONSerialization spends 1–2 s on it; this one builds plain Swift
/// values (`[String: Any]`, `[Any]`, `String`, `Double`, `Bool`, `NSNull`) in a fraction of that.
struct TokenizerJSONParser {
    private let bytes: [UInt8]
    private var pos = 0
    private let path: String

    /// Parses `data`; errors name `path` and the byte offset.
    static func parse(_ data: Data, path: String) throws -> Any {
        var parser = TokenizerJSONParser(bytes: [UInt8](data) + [0], path: path)
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.pos == parser.bytes.count - 1 else { throw parser.fail("unexpected text after the JSON value") }
        return value
    }

    private init(bytes: [UInt8], path: String) {
        self.bytes = bytes
        self.path = path
    }

    private func fail(_ problem: String) -> TaskLoRAError {
        TaskLoRAError.file(path, "tokenizer.json is not valid JSON (\(problem) at byte \(pos))")
    }

    private mutating func skipSpace() {
        while true {
            let b = bytes[pos]
            if b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { pos += 1 } else { return }
        }
    }

    private mutating func value(depth: Int) throws -> Any {
        guard depth < 512 else { throw fail("nesting too deep") }
        skipSpace()
        switch bytes[pos] {
        case UInt8(ascii: "{"):
            pos += 1
            var object: [String: Any] = [:]
            skipSpace()
            if bytes[pos] == UInt8(ascii: "}") { pos += 1; return object }
            while true {
                skipSpace()
                guard bytes[pos] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                let key = try string()
                skipSpace()
                guard bytes[pos] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                pos += 1
                object[key] = try value(depth: depth + 1)
                skipSpace()
                if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
                if bytes[pos] == UInt8(ascii: "}") { pos += 1; return object }
                throw fail("expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            pos += 1
            var array: [Any] = []
            skipSpace()
            if bytes[pos] == UInt8(ascii: "]") { pos += 1; return array }
            while true {
                array.append(try value(depth: depth + 1))
                skipSpace()
                if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
                if bytes[pos] == UInt8(ascii: "]") { pos += 1; return array }
                throw fail("expected ',' or ']'")
            }
        case UInt8(ascii: "\""):
            return try string()
        case UInt8(ascii: "t"): return try literal("true", true)
        case UInt8(ascii: "f"): return try literal("false", false)
        case UInt8(ascii: "n"): return try literal("null", NSNull())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try number()
        default:
            throw fail(pos == bytes.count - 1 ? "unexpected end" : "unexpected character")
        }
    }

    private mutating func literal(_ word: StaticString, _ value: Any) throws -> Any {
        let n = word.utf8CodeUnitCount
        guard pos + n < bytes.count else { throw fail("unexpected end") }
        for i in 0..<n where bytes[pos + i] != word.utf8Start[i] { throw fail("unexpected character") }
        pos += n
        return value
    }

    private mutating func number() throws -> Double {
        let start = pos
        if bytes[pos] == UInt8(ascii: "-") { pos += 1 }
        while true {
            let b = bytes[pos]
            if (b >= 0x30 && b <= 0x39) || b == UInt8(ascii: ".") || b == UInt8(ascii: "e") || b == UInt8(ascii: "E")
                || b == UInt8(ascii: "+") || b == UInt8(ascii: "-") { pos += 1 } else { break }
        }
        // strtod on the bytes: they are followed by a delimiter or the terminating NUL.
        var end: UnsafeMutablePointer<CChar>? = nil
        let value = bytes.withUnsafeBufferPointer { buf -> Double in
            let p = UnsafeRawPointer(buf.baseAddress! + start).assumingMemoryBound(to: CChar.self)
            let v = strtod(p, &end)
            let consumed = end.map { UnsafeRawPointer($0) - UnsafeRawPointer(p) } ?? 0
            return consumed == pos - start ? v : .nan
        }
        guard !value.isNaN else { throw fail("malformed number") }
        return value
    }

    private mutating func string() throws -> String {
        pos += 1  // opening quote
        let start = pos
        // Fast path: no escapes.
        while true {
            let b = bytes[pos]
            if b == UInt8(ascii: "\"") {
                let s = bytes.withUnsafeBufferPointer { String(decoding: $0[start..<pos], as: UTF8.self) }
                pos += 1
                return s
            }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 {
                throw fail(pos == bytes.count - 1 ? "unterminated string" : "control character in string")
            }
            pos += 1
        }
        var out = Array(bytes[start..<pos])
        while true {
            let b = bytes[pos]
            if b == UInt8(ascii: "\"") { pos += 1; return String(decoding: out, as: UTF8.self) }
            if b < 0x20 { throw fail(pos == bytes.count - 1 ? "unterminated string" : "control character in string") }
            if b != UInt8(ascii: "\\") { out.append(b); pos += 1; continue }
            pos += 1
            switch bytes[pos] {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var v = try hex4(pos + 1)
                pos += 4
                if v >= 0xD800 && v < 0xDC00, bytes[pos + 1] == UInt8(ascii: "\\"), bytes[pos + 2] == UInt8(ascii: "u") {
                    let low = try hex4(pos + 3)
                    if low >= 0xDC00 && low < 0xE000 {
                        v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
                        pos += 6
                    }
                }
                // A lone surrogate becomes U+FFFD, as lossy UTF-8 decoding would.
                appendUTF8(Unicode.Scalar(v) == nil ? 0xFFFD : v, to: &out)
            default:
                throw fail("bad escape")
            }
            pos += 1
        }
    }

    private func hex4(_ at: Int) throws -> UInt32 {
        guard at + 4 < bytes.count else { throw fail("unexpected end") }
        var v: UInt32 = 0
        for i in 0..<4 {
            let b = bytes[at + i]
            let d: UInt32
            switch b {
            case 0x30...0x39: d = UInt32(b - 0x30)
            case 0x41...0x46: d = UInt32(b - 0x41 + 10)
            case 0x61...0x66: d = UInt32(b - 0x61 + 10)
            default: throw fail("bad \\u escape")
            }
            v = v << 4 | d
        }
        return v
    }
}
