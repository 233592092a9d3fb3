import Foundation

/// Writes safetensors files the way the Hugging Face library does: compact JSON header with
/// `__metadata__` first and tensors in data order (sorted by name, one dtype per file), padded
/// with spaces to a multiple of 8 bytes, data packed back to back.
public enum SafeTensorsWriter {
    public static func write(_ tensors: [(String, Tensor)], dtype: String = "F32",
                             metadata: [String: String] = [:], to path: String) throws {
        let size: Int
        switch dtype {
        case "F32": size = 4
        case "F16", "BF16": size = 2
        default: throw TaskLoRAError.file(path, "cannot write dtype \"\(dtype)\" (F32, F16 or BF16)")
        }
        var seen = Set<String>()
        for (name, _) in tensors {
            guard !name.isEmpty, name != "__metadata__" else { throw TaskLoRAError.file(path, "invalid tensor name \"\(name)\"") }
            guard seen.insert(name).inserted else { throw TaskLoRAError.file(path, "duplicate tensor name \"\(name)\"") }
        }
        let ordered = tensors.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }  // byte order, as Rust sorts

        var json = "{"
        var parts: [String] = []
        if !metadata.isEmpty {
            let m = metadata.keys.sorted().map { "\(quote($0)):\(quote(metadata[$0]!))" }
            parts.append("\"__metadata__\":{" + m.joined(separator: ",") + "}")
        }
        var offset = 0
        for (name, t) in ordered {
            let bytes = t.count * size
            let shape = t.shape.map(String.init).joined(separator: ",")
            parts.append("\(quote(name)):{\"dtype\":\"\(dtype)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        json += parts.joined(separator: ",") + "}"
        var header = Data(json.utf8)
        header.append(contentsOf: [UInt8](repeating: UInt8(ascii: " "), count: (8 - header.count % 8) % 8))

        let out = try AtomicFileWriter(path: path)
        var length = UInt64(header.count).littleEndian
        try withUnsafeBytes(of: &length) { try out.write($0) }
        try out.write(header)
        // Converted in bounded chunks so a large F16 export never doubles peak memory.
        let chunk = 1 << 20
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: chunk * size, alignment: 16)
        defer { scratch.deallocate() }
        for (_, t) in ordered {
            var start = 0
            while start < t.count {
                let n = min(chunk, t.count - start)
                let src = t.data + start
                switch dtype {
                case "F32": try out.write(UnsafeRawBufferPointer(start: src, count: 4 * n)); start += n; continue
                case "F16": HalfPrecision.floatToHalf(src, count: n, into: scratch)
                default: HalfPrecision.floatToBFloat16(src, count: n, into: scratch)
                }
                try out.write(UnsafeRawBufferPointer(start: scratch, count: size * n))
                start += n
            }
        }
        try out.commit()
    }

    /// A JSON string literal (escapes quotes, backslashes and control characters).
    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}
