/// float32 → bf16 for the activations entering a bf16 GEMM, 16 lanes at a time on the bit pattern
/// (round to nearest, ties to even, like PyTorch and oneDNN). Float→integer SIMD conversions are
/// slow in this toolchain (NOTES-platform.md); bit casts and integer shifts are not.
public enum BFloat16Rounding {
    /// dst (count) = bf16(src (count)). NaNs whose payload sits only in the low 16 bits become ±inf;
    /// activations are never NaN unless the input already is.
    @inline(__always)
    public static func round(_ src: UnsafePointer<Float>, count n: Int, into dst: UnsafeMutablePointer<UInt16>) {
        let raw = UnsafeRawPointer(src)
        var i = 0
        while i + 16 <= n {
            let v = raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<UInt32>.self)
            let r = (v &+ 0x7FFF &+ ((v &>> 16) & 1)) &>> 16
            UnsafeMutableRawPointer(dst + i).storeBytes(of: SIMD16<UInt16>(truncatingIfNeeded: r), as: SIMD16<UInt16>.self)
            i += 16
        }
        while i < n {
            let v = src[i].bitPattern
            dst[i] = UInt16(truncatingIfNeeded: (v &+ 0x7FFF &+ ((v >> 16) & 1)) >> 16)
            i += 1
        }
    }
}
