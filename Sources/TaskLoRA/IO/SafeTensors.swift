import Foundation

/// A validated, memory-mapped safetensors file: `u64 LE` header length N, N bytes of JSON
/// `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {String: String}}`, then
/// the byte buffer the offsets index. Every check the reference (Rust) reader makes is done at
/// init, so `tensor(_:)` only copies; tensors are converted to Float32 on demand.
public struct SafeTensorsFile {
    public struct Entry {
        public let dtype: String
        public let shape: [Int]
        public let count: Int
        /// Byte range inside the data buffer (i.e. relative to 8 + N).
        public let begin: Int
        public let end: Int
    }

    /// Header larger than this is refused outright, like the reference reader (100 MB).
    static let maxHeaderBytes = 100_000_000

    /// Byte size of every dtype the format defines; those outside `convertible` are listed but not loadable.
    static let dtypeSizes: [String: Int] = [
        "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1,
        "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
        "I32": 4, "U32": 4, "F32": 4,
        "I64": 8, "U64": 8, "F64": 8,
    ]
    static let convertible: Set<String> = ["F32", "F16", "BF16", "F64", "I32", "I64"]

    public let path: String
    /// Tensor names in the order of their data in the file.
    public let names: [String]
    public let entries: [String: Entry]
    public let metadata: [String: String]
    private let file: MappedFile
    private let dataStart: Int

    public init(path: String) throws {
        let file = try MappedFile(path: path)
        self.path = path
        self.file = file
        let size = file.count
        guard size >= 8 else { throw TaskLoRAError.file(path, "truncated: \(size) bytes, a safetensors file starts with an 8-byte header length") }
        let n64 = UInt64(littleEndian: file.bytes.loadUnaligned(as: UInt64.self))
        guard n64 <= UInt64(size - 8) else {
            throw TaskLoRAError.file(path, "header length \(n64) is larger than the file (\(size) bytes)")
        }
        let n = Int(n64)
        guard n <= Self.maxHeaderBytes else { throw TaskLoRAError.file(path, "header length \(n) exceeds the 100 MB limit") }
        guard n >= 2 else { throw TaskLoRAError.file(path, "header length \(n) is too small for a JSON object") }
        dataStart = 8 + n
        let headerBytes = UnsafeRawBufferPointer(rebasing: file.bytes[8..<dataStart])
        guard headerBytes.first == UInt8(ascii: "{") else { throw TaskLoRAError.file(path, "header is not JSON: it must start with '{'") }

        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(headerBytes), options: [])
        } catch {
            throw TaskLoRAError.file(path, "header is not JSON (\(error.localizedDescription))")
        }
        guard let header = json as? [String: Any] else { throw TaskLoRAError.file(path, "header is not a JSON object") }
        if let dup = JSONDuplicateKeys.first(in: headerBytes) {
            throw TaskLoRAError.file(path, dup.depth == 1 ? "duplicate tensor name \"\(dup.key)\" in header"
                                                         : "duplicate key \"\(dup.key)\" inside a header entry")
        }

        var meta: [String: String] = [:]
        if let raw = header["__metadata__"] {
            guard let dict = raw as? [String: Any] else { throw TaskLoRAError.file(path, "__metadata__ is not an object") }
            for (k, v) in dict {
                guard let s = v as? String else { throw TaskLoRAError.file(path, "__metadata__ value for \"\(k)\" is not a string") }
                meta[k] = s
            }
        }
        metadata = meta

        let bufferLength = size - dataStart
        var entries: [String: Entry] = [:]
        for (name, raw) in header where name != "__metadata__" {
            entries[name] = try Self.parseEntry(name: name, raw, bufferLength: bufferLength, path: path)
        }

        // Like the reference reader: sorted by offset, entries must tile the buffer exactly.
        let ordered = entries.sorted { ($0.value.begin, $0.value.end, $0.key) < ($1.value.begin, $1.value.end, $1.key) }
        var cursor = 0
        var previous = ""
        for (name, e) in ordered {
            if e.begin < cursor {
                throw TaskLoRAError.file(path, "tensor \"\(name)\" data [\(e.begin), \(e.end)) overlaps \"\(previous)\" (ends at \(cursor))")
            }
            if e.begin > cursor {
                throw TaskLoRAError.file(path, "gap in data buffer: bytes [\(cursor), \(e.begin)) belong to no tensor (before \"\(name)\")")
            }
            cursor = e.end
            previous = name
        }
        guard cursor == bufferLength else {
            throw TaskLoRAError.file(path, "data buffer is \(bufferLength) bytes but tensors cover only \(cursor)")
        }
        self.entries = entries
        names = ordered.map(\.key)
    }

    private static func parseEntry(name: String, _ raw: Any, bufferLength: Int, path: String) throws -> Entry {
        func bad(_ what: String) -> TaskLoRAError { TaskLoRAError.file(path, "tensor \"\(name)\": \(what)") }
        guard let dict = raw as? [String: Any] else { throw bad("entry is not an object") }
        guard let dtype = dict["dtype"] as? String else { throw bad("missing or non-string dtype") }
        guard let size = dtypeSizes[dtype] else { throw bad("unknown dtype \"\(dtype)\"") }
        guard let shapeRaw = dict["shape"] as? [Any] else { throw bad("missing shape") }
        var shape: [Int] = []
        var count = 1
        for d in shapeRaw {
            guard let v = exactInt(d), v >= 0 else { throw bad("shape \(shapeRaw) has an entry that is not a non-negative integer") }
            let (p, overflow) = count.multipliedReportingOverflow(by: v)
            guard !overflow else { throw bad("shape \(shapeRaw) element count overflows") }
            shape.append(v)
            count = p
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: size)
        guard !overflow else { throw bad("shape \(shape) byte size overflows") }
        guard let offs = dict["data_offsets"] as? [Any], offs.count == 2,
              let begin = exactInt(offs[0]), let end = exactInt(offs[1]) else {
            throw bad("data_offsets must be two integers")
        }
        guard begin >= 0, begin <= end else { throw bad("data_offsets [\(begin), \(end)] are reversed or negative") }
        guard end <= bufferLength else {
            throw bad("data_offsets [\(begin), \(end)] run past the end of the data buffer (\(bufferLength) bytes)")
        }
        guard end - begin == bytes else {
            throw bad("data_offsets span \(end - begin) bytes but \(dtype) \(shape) needs \(bytes)")
        }
        return Entry(dtype: dtype, shape: shape, count: count, begin: begin, end: end)
    }

    /// An integer JSON number; rejects fractions and values outside Int.
    private static func exactInt(_ v: Any) -> Int? {
        // `as? Int` alone may truncate 1.5 on some Foundations; the double must agree with it.
        guard let i = v as? Int, let n = v as? NSNumber, Double(i) == n.doubleValue else { return nil }
        return i
    }

    public func shape(_ name: String) -> [Int]? { entries[name]?.shape }
    public func dtype(_ name: String) -> String? { entries[name]?.dtype }

    /// The named tensor converted to Float32 (I32/I64/F64 are converted with rounding).
    public func tensor(_ name: String) throws -> Tensor {
        guard let e = entries[name] else { throw TaskLoRAError.file(path, "no tensor named \"\(name)\"") }
        guard Self.convertible.contains(e.dtype) else {
            throw TaskLoRAError.file(path, "tensor \"\(name)\" has dtype \(e.dtype), which cannot be loaded as Float32")
        }
        let t = Tensor(zeros: e.shape)
        let src = file.bytes.baseAddress! + dataStart + e.begin
        let n = e.count
        let dst = t.data
        switch e.dtype {
        case "F32":
            // Little-endian host assumed (x86-64, arm64), as in the format itself.
            UnsafeMutableRawPointer(dst).copyMemory(from: src, byteCount: 4 * n)
        case "F16": HalfPrecision.halfToFloat(src, count: n, into: dst)
        case "BF16": HalfPrecision.bfloat16ToFloat(src, count: n, into: dst)
        case "F64":
            for i in 0..<n { dst[i] = Float(src.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
        case "I32":
            for i in 0..<n { dst[i] = Float(Int32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
        default: // I64
            for i in 0..<n { dst[i] = Float(Int64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))) }
        }
        return t
    }

    /// Every loadable tensor by name.
    public func allTensors() throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for name in names { out[name] = try tensor(name) }
        return out
    }
}
