import Foundation

/// IEEE fp16 and bfloat16 conversions done on bit patterns, so they behave the same on every
/// platform (Swift's `Float16` is missing on Intel macOS) and round exactly like NumPy/PyTorch.
public enum HalfPrecision {
    // MARK: scalars

    /// fp16 bits → Float (exact: every fp16 value, subnormals included, is a Float).
    @inline(__always)
    public static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exp = UInt32(h >> 10) & 0x1F
        let man = UInt32(h & 0x3FF)
        if exp == 0 {
            // Zero or subnormal: man · 2⁻²⁴ is exact in Float.
            let v = Float(man) * 0x1p-24
            return sign != 0 ? -v : v
        }
        if exp == 31 { return Float(bitPattern: sign | 0x7F80_0000 | man << 13) }
        return Float(bitPattern: sign | (exp + 112) << 23 | man << 13)
    }

    /// Float → fp16 bits, round to nearest, ties to even; overflow → ±inf; NaN stays NaN (quiet).
    public static func floatToHalf(_ f: Float) -> UInt16 {
        let x = f.bitPattern
        let sign = UInt16((x >> 16) & 0x8000)
        let exp = Int((x >> 23) & 0xFF)
        var man = x & 0x7F_FFFF
        if exp == 0xFF {
            return man == 0 ? sign | 0x7C00 : sign | 0x7E00 | UInt16(man >> 13)
        }
        let e = exp - 127 + 15
        if e >= 31 { return sign | 0x7C00 }
        if e <= 0 {
            // Result is subnormal (or rounds up to the smallest normal, which the carry encodes).
            if e < -10 { return sign }
            man |= 0x80_0000
            let shift = UInt32(14 - e)
            var r = man >> shift
            let rem = man & ((1 << shift) - 1)
            let halfway = UInt32(1) << (shift - 1)
            if rem > halfway || (rem == halfway && r & 1 == 1) { r += 1 }
            return sign | UInt16(r)
        }
        var r = UInt32(e) << 10 | man >> 13
        let rem = man & 0x1FFF
        // A carry out of the mantissa bumps the exponent, up to inf: exactly what rounding wants.
        if rem > 0x1000 || (rem == 0x1000 && r & 1 == 1) { r += 1 }
        return sign | UInt16(r)
    }

    /// bf16 bits → Float (exact).
    @inline(__always)
    public static func bfloat16ToFloat(_ b: UInt16) -> Float {
        Float(bitPattern: UInt32(b) << 16)
    }

    /// Float → bf16 bits, round to nearest, ties to even; NaN stays NaN (quiet).
    @inline(__always)
    public static func floatToBFloat16(_ f: Float) -> UInt16 {
        let x = f.bitPattern
        if x & 0x7FFF_FFFF > 0x7F80_0000 { return UInt16(x >> 16) | 0x40 }
        return UInt16((x &+ 0x7FFF &+ ((x >> 16) & 1)) >> 16)
    }

    // MARK: bulk (little-endian, possibly unaligned sources such as mapped files)

    /// All 65,536 fp16 values decoded once; a table lookup beats the branches in the hot loops.
    static let halfTable: [Float] = (0...0xFFFF).map { halfToFloat(UInt16($0)) }

    /// Decodes `count` little-endian fp16 values at `src` into `dst`.
    public static func halfToFloat(_ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>) {
        halfTable.withUnsafeBufferPointer { table in
            let table = table.baseAddress!
            Parallel.forEachChunk(count, minChunk: 1 << 16) { range in
                for i in range {
                    dst[i] = table[Int(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))]
                }
            }
        }
    }

    /// Decodes `count` little-endian bf16 values at `src` into `dst`.
    public static func bfloat16ToFloat(_ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>) {
        Parallel.forEachChunk(count, minChunk: 1 << 16) { range in
            for i in range {
                dst[i] = bfloat16ToFloat(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            }
        }
    }

    /// Encodes `count` floats as little-endian fp16 at `dst`.
    public static func floatToHalf(_ src: UnsafePointer<Float>, count: Int, into dst: UnsafeMutableRawPointer) {
        Parallel.forEachChunk(count, minChunk: 1 << 16) { range in
            for i in range {
                dst.storeBytes(of: floatToHalf(src[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
            }
        }
    }

    /// Encodes `count` floats as little-endian bf16 at `dst`.
    public static func floatToBFloat16(_ src: UnsafePointer<Float>, count: Int, into dst: UnsafeMutableRawPointer) {
        Parallel.forEachChunk(count, minChunk: 1 << 16) { range in
            for i in range {
                dst.storeBytes(of: floatToBFloat16(src[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
            }
        }
    }
}
