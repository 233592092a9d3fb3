/// CRC-32 as in zlib, PNG and gzip (reflected polynomial 0xEDB88320, initial and final
/// XOR 0xFFFFFFFF): Python's `zlib.crc32(data)` gives the same value, which lets anyone
/// verify a checkpoint's checksums with h5py alone. Slice-by-8 keeps it near memory speed.
enum CRC32 {
    /// Eight 256-entry tables, flattened: table k advances the CRC by k extra zero bytes.
    private static let tables: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            t[i] = c
        }
        for k in 1..<8 {
            for i in 0..<256 {
                let previous = t[(k - 1) * 256 + i]
                t[k * 256 + i] = (previous >> 8) ^ t[Int(previous & 0xFF)]
            }
        }
        return t
    }()

    /// The CRC-32 of `bytes`, continuing from `crc` (the CRC of earlier bytes, 0 to start).
    static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard var p = bytes.baseAddress else { return crc }
        var n = bytes.count
        var c = ~crc
        tables.withUnsafeBufferPointer { t in
            while n >= 8 {
                let one = p.loadUnaligned(as: UInt32.self).littleEndian ^ c
                let two = p.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian
                c = t[7 * 256 + Int(one & 0xFF)] ^ t[6 * 256 + Int((one >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((one >> 16) & 0xFF)] ^ t[4 * 256 + Int(one >> 24)]
                    ^ t[3 * 256 + Int(two & 0xFF)] ^ t[2 * 256 + Int((two >> 8) & 0xFF)]
                    ^ t[256 + Int((two >> 16) & 0xFF)] ^ t[Int(two >> 24)]
                p += 8
                n -= 8
            }
            while n > 0 {
                c = t[Int((c ^ UInt32(p.load(as: UInt8.self))) & 0xFF)] ^ (c >> 8)
                p += 1
                n -= 1
            }
        }
        return ~c
    }
}
