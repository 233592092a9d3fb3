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

/// The length of the UTF-8 sequence at `s[i]` when it is a scalar with the Unicode White_Space
/// property (Rust's `char::is_whitespace`, which `tokenizers`' WhitespaceSplit uses), else 0:
/// U+0009–000D, U+0020, U+0085, U+00A0, U+1680, U+2000–200A, U+2028, U+2029, U+202F, U+205F, U+3000.
/// (Not U+180E, U+200B or U+FEFF, which lost or never had the property.) Valid UTF-8 assumed.
@inline(__always)
func whitespaceLength(_ s: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int {
    let b = s[i]
    if b < 0x80 { return b == 0x20 || (0x09...0x0D).contains(b) ? 1 : 0 }
    switch b {
    case 0xC2:  // U+0085, U+00A0
        return i + 1 < s.count && (s[i + 1] == 0x85 || s[i + 1] == 0xA0) ? 2 : 0
    case 0xE1:  // U+1680
        return i + 2 < s.count && s[i + 1] == 0x9A && s[i + 2] == 0x80 ? 3 : 0
    case 0xE2:  // U+2000–200A, U+2028, U+2029, U+202F (E2 80 xx); U+205F (E2 81 9F)
        guard i + 2 < s.count else { return 0 }
        let c = s[i + 2]
        if s[i + 1] == 0x80 { return (0x80...0x8A).contains(c) || c == 0xA8 || c == 0xA9 || c == 0xAF ? 3 : 0 }
        return s[i + 1] == 0x81 && c == 0x9F ? 3 : 0
    case 0xE3:  // U+3000
        return i + 2 < s.count && s[i + 1] == 0x80 && s[i + 2] == 0x80 ? 3 : 0
    default:
        return 0
    }
}
