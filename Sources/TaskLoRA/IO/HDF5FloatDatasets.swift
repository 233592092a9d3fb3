import CHDF5

/// Float32 tensors stored as float32, IEEE float16, or bfloat16. HDF5 (and h5py) have no
/// bfloat16 type, so bfloat16 is stored as its uint16 bit patterns with the string
/// attribute `dtype = "bfloat16"`. Conversions round to nearest even.
extension HDF5Group {
    /// Creates dataset `name` from float32 `values`, converted to `storage`.
    /// Returns the dataset and the CRC-32 of the stored bytes.
    @discardableResult
    public func createFloatDataset(_ name: String, shape: [Int], values: UnsafeBufferPointer<Float>,
                                   storage: WeightStorage, gzipLevel: Int? = nil) throws -> (dataset: HDF5Dataset, crc32: UInt32) {
        switch storage {
        case .float32:
            let bytes = UnsafeRawBufferPointer(values)
            let dataset = try createDataset(name, type: .float32, shape: shape, bytes: bytes, gzipLevel: gzipLevel)
            return (dataset, CRC32.checksum(bytes))
        case .float16, .bfloat16:
            let bits = values.map(storage == .float16 ? HalfBits.float16 : HalfBits.bfloat16)
            return try bits.withUnsafeBytes { bytes in
                let dataset = try createDataset(name, type: storage == .float16 ? .float16 : .uint16,
                                                shape: shape, bytes: bytes, gzipLevel: gzipLevel)
                if storage == .bfloat16 { try dataset.setAttribute("dtype", "bfloat16") }
                return (dataset, CRC32.checksum(bytes))
            }
        }
    }
}

extension HDF5Dataset {
    /// How the dataset stores float32 values, or nil when it is not a float tensor.
    public var floatStorage: WeightStorage? {
        switch elementType {
        case .float32: return .float32
        case .float16: return .float16
        case .uint16: return (try? stringAttribute("dtype")) == "bfloat16" ? .bfloat16 : nil
        default: return nil
        }
    }

    /// Reads the values as float32 into `destination` (exactly `count` elements).
    /// Returns the CRC-32 of the stored bytes.
    public func readFloats(into destination: UnsafeMutableBufferPointer<Float>) throws -> UInt32 {
        guard let storage = floatStorage else {
            throw failure("holds \(elementType.rawValue), expected float32, float16 or bfloat16")
        }
        guard destination.count == count else { throw failure("read into \(destination.count) floats, needs \(count)") }
        if storage == .float32 {
            let bytes = UnsafeMutableRawBufferPointer(destination)
            try readRaw(into: bytes)
            return CRC32.checksum(UnsafeRawBufferPointer(bytes))
        }
        var bits = [UInt16](repeating: 0, count: count)
        try bits.withUnsafeMutableBytes { try readRaw(into: $0) }
        let widen = storage == .float16 ? HalfBits.float32(fromFloat16:) : HalfBits.float32(fromBFloat16:)
        for i in 0..<count { destination[i] = widen(bits[i]) }
        return bits.withUnsafeBytes { CRC32.checksum($0) }
    }
}

extension HDF5Dataset {
    /// Reads a bfloat16 dataset's bit patterns as they are (no widening) into `destination`
    /// (exactly `count` elements). Returns the CRC-32 of the stored bytes.
    public func readBFloat16(into destination: UnsafeMutableBufferPointer<UInt16>) throws -> UInt32 {
        guard floatStorage == .bfloat16 else { throw failure("holds \(elementType.rawValue), expected bfloat16") }
        guard destination.count == count else { throw failure("read into \(destination.count) values, needs \(count)") }
        let bytes = UnsafeMutableRawBufferPointer(destination)
        try readRaw(into: bytes)
        return CRC32.checksum(UnsafeRawBufferPointer(bytes))
    }
}

/// Bit-level float32 <-> float16 / bfloat16 conversion, round to nearest even.
enum HalfBits {
    static func float16(_ value: Float) -> UInt16 {
        let x = value.bitPattern
        let sign = UInt16((x >> 16) & 0x8000)
        let exponent = Int((x >> 23) & 0xFF)
        var mantissa = x & 0x7F_FFFF
        if exponent == 0xFF {  // infinity, or NaN kept quiet
            return sign | 0x7C00 | (mantissa != 0 ? 0x200 | UInt16(mantissa >> 13) : 0)
        }
        let e = exponent - 127 + 15
        if e >= 31 { return sign | 0x7C00 }  // overflow
        if e <= 0 {  // float16 subnormal or zero
            if e < -10 { return sign }
            mantissa |= 0x80_0000
            let shift = UInt32(14 - e)
            var h = mantissa >> shift
            let rest = mantissa & ((1 << shift) - 1), half = UInt32(1) << (shift - 1)
            if rest > half || (rest == half && h & 1 == 1) { h += 1 }
            return sign | UInt16(h)
        }
        var h = UInt32(e) << 10 | (mantissa >> 13)
        let rest = mantissa & 0x1FFF
        if rest > 0x1000 || (rest == 0x1000 && h & 1 == 1) { h += 1 }  // a carry rounds up to infinity correctly
        return sign | UInt16(h)
    }

    static func float32(fromFloat16 h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = UInt32(h >> 10) & 0x1F
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0 {
            let magnitude = Float(mantissa) * 0x1p-24
            return sign != 0 ? -magnitude : magnitude
        }
        if exponent == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    static func bfloat16(_ value: Float) -> UInt16 {
        let x = value.bitPattern
        if value.isNaN { return UInt16(x >> 16) | 0x40 }
        return UInt16((x &+ 0x7FFF &+ ((x >> 16) & 1)) >> 16)
    }

    static func float32(fromBFloat16 b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }
}
