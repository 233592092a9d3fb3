/// UTF-8 byte helpers shared by the tokenizers, which work on bytes rather than Characters.

/// Byte length of the UTF-8 sequence starting with `lead` (valid UTF-8 assumed; continuation bytes count 1).
@inline(__always)
func utf8SequenceLength(_ lead: UInt8) -> Int {
    if lead < 0xC0 { return 1 }
    if lead < 0xE0 { return 2 }
    if lead < 0xF0 { return 3 }
    return 4
}

/// Appends scalar value `v` (assumed valid) as UTF-8.
@inline(__always)
func appendUTF8(_ v: UInt32, to out: inout [UInt8]) {
    if v < 0x80 {
        out.append(UInt8(v))
    } else if v < 0x800 {
        out.append(UInt8(0xC0 | (v >> 6)))
        out.append(UInt8(0x80 | (v & 0x3F)))
    } else if v < 0x10000 {
        out.append(UInt8(0xE0 | (v >> 12)))
        out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (v & 0x3F)))
    } else {
        out.append(UInt8(0xF0 | (v >> 18)))
        out.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
        out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (v & 0x3F)))
    }
}

/// Whether `bytes` are valid UTF-8. (Decoding repairs invalid input, so valid means unchanged;
/// `String(validating:)` would need macOS 15.)
func isValidUTF8<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
    String(decoding: bytes, as: UTF8.self).utf8.elementsEqual(bytes)
}

/// Strings packed end to end as UTF-8 with n + 1 offsets: how both tokenizers keep their
/// vocabularies (one allocation, and the checkpoint layout as it is).
func packUTF8(_ strings: [String]) -> (bytes: [UInt8], offsets: [Int]) {
    var bytes: [UInt8] = []
    var offsets = [0]
    offsets.reserveCapacity(strings.count + 1)
    for s in strings {
        bytes.append(contentsOf: s.utf8)
        offsets.append(bytes.count)
    }
    return (bytes, offsets)
}
