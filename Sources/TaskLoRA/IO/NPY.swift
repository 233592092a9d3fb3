import Foundation

/// NumPy `.npy` files: `\x93NUMPY`, version, header length, a Python-literal dict
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` padded with spaces and a final
/// '\n' so the data starts on a 64-byte boundary, then the C-order data.
public enum NPY {
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    // MARK: writing

    public static func write(_ t: Tensor, to path: String) throws {
        try write(descr: "<f4", shape: t.shape, bytes: UnsafeRawBufferPointer(start: t.data, count: 4 * t.count), to: path)
    }

    public static func writeInt32(_ values: [Int32], shape: [Int], to path: String) throws {
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == values.count else {
            throw TaskLoRAError.file(path, "\(values.count) values do not fill shape \(shape)")
        }
        try values.withUnsafeBytes { try write(descr: "<i4", shape: shape, bytes: $0, to: path) }
    }

    private static func write(descr: String, shape: [Int], bytes: UnsafeRawBufferPointer, to path: String) throws {
        let out = try AtomicFileWriter(path: path)
        try out.write(try header(descr: descr, shape: shape, path: path))
        if bytes.count > 0 { try out.write(bytes) }  // little-endian host
        try out.commit()
    }

    /// The magic, version, header length and padded header dict of an array of `shape`.
    static func header(descr: String, shape: [Int], path: String) throws -> Data {
        let dims = shape.count == 1 ? "\(shape[0])," : shape.map(String.init).joined(separator: ", ")
        var dict = "{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(dims)), }"
        let unpadded = magic.count + 4 + dict.utf8.count + 1
        dict += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        guard dict.utf8.count <= Int(UInt16.max) else { throw TaskLoRAError.file(path, "shape \(shape) makes the header too long") }
        var head = Data(magic + [1, 0])
        head.append(UInt8(dict.utf8.count & 0xFF))
        head.append(UInt8(dict.utf8.count >> 8))
        head.append(contentsOf: Array(dict.utf8))
        return head
    }

    // MARK: reading

    /// `<f4`, `<i4` or `<f8` (also `<i8`) array as a Float32 tensor.
    public static func read(path: String) throws -> Tensor {
        let file = try MappedFile(path: path)
        let h = try header(file)
        let t = Tensor(zeros: h.shape)
        let src = file.bytes.baseAddress.map { $0 + h.dataOffset }
        let n = t.count
        guard let src, n > 0 else { return t }
        switch h.descr {
        case "<f4": UnsafeMutableRawPointer(t.data).copyMemory(from: src, byteCount: 4 * n)
        case "<f8": for i in 0..<n { t.data[i] = Float(src.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
        case "<i4": for i in 0..<n { t.data[i] = Float(src.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)) }
        case "<i8": for i in 0..<n { t.data[i] = Float(src.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)) }
        default: throw TaskLoRAError.file(path, "dtype \(h.descr) cannot be read as float32")
        }
        return t
    }

    /// `<i4` array (or `<i8` whose values all fit in Int32) with its shape.
    public static func readInt32(path: String) throws -> ([Int32], [Int]) {
        let file = try MappedFile(path: path)
        let h = try header(file)
        guard let base = file.bytes.baseAddress, h.count > 0 else { return ([], h.shape) }
        let src = base + h.dataOffset
        switch h.descr {
        case "<i4":
            return ((0..<h.count).map { src.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self) }, h.shape)
        case "<i8":
            var out = [Int32]()
            out.reserveCapacity(h.count)
            for i in 0..<h.count {
                let v = src.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)
                guard let w = Int32(exactly: v) else { throw TaskLoRAError.file(path, "value \(v) at index \(i) does not fit in int32") }
                out.append(w)
            }
            return (out, h.shape)
        default:
            throw TaskLoRAError.file(path, "dtype \(h.descr) is not an integer type (<i4 or <i8)")
        }
    }

    struct Header {
        var descr: String
        var shape: [Int]
        var count: Int
        var dataOffset: Int
    }

    static let itemSizes: [String: Int] = ["<f4": 4, "<i4": 4, "<f8": 8, "<i8": 8]

    /// Parses and validates the header, including that the data is exactly as long as the shape says.
    static func header(_ file: MappedFile) throws -> Header {
        let path = file.path
        var c = ByteCursor(file.bytes, path: path)
        let m = try c.take(6, "magic")
        guard Array(m) == magic else { throw TaskLoRAError.file(path, "bad header: not a .npy file (magic is not \\x93NUMPY)") }
        let major = try c.u8("version")
        _ = try c.u8("version")
        let length: Int
        switch major {
        case 1: length = Int(try c.u16("header length"))
        case 2, 3: length = Int(try c.u32("header length"))
        default: throw TaskLoRAError.file(path, "bad header: unsupported .npy version \(major)")
        }
        let text = try c.take(length, "header dictionary")
        guard let dict = String(bytes: text, encoding: major == 3 ? .utf8 : .isoLatin1) else {
            throw TaskLoRAError.file(path, "bad header: not text")
        }
        var p = PyLiteralParser(text: Array(dict.unicodeScalars), path: path)
        let fields = try p.parseDict()
        guard case .string(let descr)? = fields["descr"] else { throw TaskLoRAError.file(path, "bad header: missing 'descr'") }
        guard case .bool(let fortran)? = fields["fortran_order"] else { throw TaskLoRAError.file(path, "bad header: missing 'fortran_order'") }
        guard case .tuple(let shape)? = fields["shape"] else { throw TaskLoRAError.file(path, "bad header: missing 'shape' tuple") }
        guard !fortran else { throw TaskLoRAError.file(path, "bad header: fortran_order True is not supported") }
        guard let size = itemSizes[descr] else {
            throw TaskLoRAError.file(path, "bad header: unsupported dtype '\(descr)' (<f4, <i4, <f8, <i8)")
        }
        var count = 1
        for d in shape {
            guard d >= 0 else { throw TaskLoRAError.file(path, "bad header: negative dimension in shape \(shape)") }
            let (p, o) = count.multipliedReportingOverflow(by: d)
            guard !o else { throw TaskLoRAError.file(path, "bad header: shape \(shape) element count overflows") }
            count = p
        }
        let (bytes, o) = count.multipliedReportingOverflow(by: size)
        guard !o else { throw TaskLoRAError.file(path, "bad header: shape \(shape) byte size overflows") }
        guard bytes == c.remaining else {
            throw TaskLoRAError.file(path, "data is \(c.remaining) bytes but shape \(shape) of \(descr) needs \(bytes)")
        }
        return Header(descr: descr, shape: shape, count: count, dataOffset: c.offset)
    }
}

/// Just enough of Python literal syntax for .npy headers: a dict of str keys to str, bool or int tuple.
struct PyLiteralParser {
    enum Value { case string(String), bool(Bool), tuple([Int]) }
    let text: [Unicode.Scalar]
    let path: String
    var i = 0

    init(text: [Unicode.Scalar], path: String) { self.text = text; self.path = path }

    func fail(_ what: String) -> TaskLoRAError { TaskLoRAError.file(path, "bad header: \(what) at character \(i)") }

    mutating func skipSpace() { while i < text.count, text[i].properties.isWhitespace { i += 1 } }

    mutating func expect(_ ch: Unicode.Scalar) throws {
        skipSpace()
        guard i < text.count, text[i] == ch else { throw fail("expected '\(ch)'") }
        i += 1
    }

    /// Consumes `ch` if it is next.
    mutating func accept(_ ch: Unicode.Scalar) -> Bool {
        skipSpace()
        if i < text.count, text[i] == ch { i += 1; return true }
        return false
    }

    mutating func parseDict() throws -> [String: Value] {
        try expect("{")
        var out: [String: Value] = [:]
        while !accept("}") {
            let key = try parseString()
            try expect(":")
            guard out.updateValue(try parseValue(), forKey: key) == nil else { throw fail("duplicate key '\(key)'") }
            if !accept(",") { try expect("}"); break }
        }
        skipSpace()
        guard i == text.count else { throw fail("trailing characters after the dict") }
        return out
    }

    mutating func parseString() throws -> String {
        skipSpace()
        guard i < text.count, text[i] == "'" || text[i] == "\"" else { throw fail("expected a quoted string") }
        let q = text[i]
        i += 1
        var s = String.UnicodeScalarView()
        while i < text.count, text[i] != q {
            guard text[i] != "\\" else { throw fail("escapes are not supported") }
            s.append(text[i])
            i += 1
        }
        guard i < text.count else { throw fail("unterminated string") }
        i += 1
        return String(s)
    }

    mutating func parseValue() throws -> Value {
        skipSpace()
        guard i < text.count else { throw fail("missing value") }
        if text[i] == "'" || text[i] == "\"" { return .string(try parseString()) }
        if text[i] == "(" {
            i += 1
            var dims: [Int] = []
            while !accept(")") {
                dims.append(try parseInt())
                if !accept(",") { try expect(")"); break }
            }
            return .tuple(dims)
        }
        for (word, v) in [("True", true), ("False", false)] where text[i...].starts(with: word.unicodeScalars) {
            i += word.unicodeScalars.count
            return .bool(v)
        }
        throw fail("unexpected value")
    }

    mutating func parseInt() throws -> Int {
        skipSpace()
        var v = 0
        let start = i
        while i < text.count, (48...57).contains(text[i].value) {
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int(text[i].value) - 48)
            guard !o1, !o2 else { throw fail("dimension too large") }
            v = a
            i += 1
        }
        guard i > start else { throw fail("expected a dimension") }
        // Python 2 era numpy wrote longs as 3L.
        if i < text.count, text[i] == "L" { i += 1 }
        return v
    }
}
