import Foundation

/// Bounds-checked little-endian reads from a byte buffer; every read that would run past the end
/// throws a `TaskLoRAError` naming the file, the field and the offset instead of trapping.
struct ByteCursor {
    let bytes: UnsafeRawBufferPointer
    let path: String
    private(set) var offset: Int

    init(_ bytes: UnsafeRawBufferPointer, path: String, offset: Int = 0) {
        self.bytes = bytes
        self.path = path
        self.offset = offset
    }

    var remaining: Int { bytes.count - offset }

    /// Throws unless `n` more bytes are available for `what`.
    func need(_ n: Int, _ what: String) throws {
        guard n >= 0, n <= remaining else {
            throw TaskLoRAError.file(path, "truncated: \(what) needs \(n) bytes at offset \(offset), only \(remaining) left")
        }
    }

    /// The next `n` bytes, advancing past them.
    mutating func take(_ n: Int, _ what: String) throws -> UnsafeRawBufferPointer {
        try need(n, what)
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + n])
        offset += n
        return slice
    }

    mutating func skip(_ n: Int, _ what: String) throws {
        try need(n, what)
        offset += n
    }

    private mutating func load<T: FixedWidthInteger>(_ type: T.Type, _ what: String) throws -> T {
        try need(MemoryLayout<T>.size, what)
        let v = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: v)
    }

    mutating func u8(_ what: String) throws -> UInt8 { try load(UInt8.self, what) }
    mutating func u16(_ what: String) throws -> UInt16 { try load(UInt16.self, what) }
    mutating func u32(_ what: String) throws -> UInt32 { try load(UInt32.self, what) }
    mutating func i32(_ what: String) throws -> Int32 { try load(Int32.self, what) }
    mutating func u64(_ what: String) throws -> UInt64 { try load(UInt64.self, what) }
    mutating func f32(_ what: String) throws -> Float { Float(bitPattern: try load(UInt32.self, what)) }
}
