/// SentencePiece's precompiled normalizer (the `nmt_nfkc` charsmap XLM-R ships), applied exactly as
/// Hugging Face `tokenizers` applies it (`Precompiled::normalize` over the `spm_precompiled` crate).
///
/// Blob layout: u32 LE byte size of the trie, the Darts double-array trie (u32 LE units) keyed by
/// UTF-8 bytes, then NUL-terminated replacement strings that the trie's values point into.
public struct PrecompiledCharsmap: Sendable {
    /// The blob as stored in tokenizer.json (base64-decoded) and in checkpoints.
    public let bytes: [UInt8]
    private let units: [UInt32]
    private let replacements: [UInt8]
    /// Replacement offset for each one-byte (ASCII) grapheme, -1 when it maps to itself.
    private var asciiMap = [Int32](repeating: -1, count: 128)

    /// Parses a charsmap blob; `source` names it in error messages.
    public init(_ bytes: [UInt8], source: String = "precompiled_charsmap") throws {
        guard bytes.count >= 4 else {
            throw TaskLoRAError.file(source, "precompiled charsmap is \(bytes.count) bytes, too short for its header")
        }
        let trieSize = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16 | Int(bytes[3]) << 24
        guard trieSize >= 4, trieSize % 4 == 0, trieSize <= bytes.count - 4 else {
            throw TaskLoRAError.file(source, "precompiled charsmap declares a trie of \(trieSize) bytes but holds \(bytes.count - 4)")
        }
        var units = [UInt32](repeating: 0, count: trieSize / 4)
        for i in 0..<units.count {
            let p = 4 + 4 * i
            units[i] = UInt32(bytes[p]) | UInt32(bytes[p + 1]) << 8 | UInt32(bytes[p + 2]) << 16 | UInt32(bytes[p + 3]) << 24
        }
        let replacements = Array(bytes[(4 + trieSize)...])
        // HF refuses replacement strings that are not UTF-8; so do we, so that output stays valid.
        guard isValidUTF8(replacements) else {
            throw TaskLoRAError.file(source, "precompiled charsmap replacement strings are not valid UTF-8")
        }
        self.bytes = bytes
        self.units = units
        self.replacements = replacements
        var byte: UInt8 = 1
        while byte < 128 {
            var b = byte
            if let m = firstMatch(&b, 1) { asciiMap[Int(byte)] = m }
            byte += 1
        }
    }

    /// The replacement offset of the SHORTEST key that prefixes `key` (HF's `transform` takes the
    /// first result of the common-prefix search), or nil. Stops at a NUL byte like Darts does.
    @inline(__always)
    func firstMatch(_ key: UnsafePointer<UInt8>, _ count: Int) -> Int32? {
        let n = units.count
        return units.withUnsafeBufferPointer { a -> Int32? in
            var node = Int(Self.offset(a[0]))
            for i in 0..<count {
                let c = key[i]
                if c == 0 { return nil }
                node ^= Int(c)
                guard node < n else { return nil }
                let unit = a[node]
                if unit & 0x8000_00FF != UInt32(c) { return nil }
                node ^= Int(Self.offset(unit))
                guard node < n else { return nil }
                if (unit >> 8) & 1 == 1 {
                    let value = a[node] & 0x7FFF_FFFF
                    return value < UInt32(replacements.count) ? Int32(value) : nil
                }
            }
            return nil
        }
    }

    @inline(__always)
    private static func offset(_ unit: UInt32) -> UInt32 {
        (unit >> 10) << ((unit & (1 << 9)) >> 6)
    }

    @inline(__always)
    private func appendReplacement(_ at: Int32, to out: inout [UInt8]) {
        var i = Int(at)
        while i < replacements.count, replacements[i] != 0 {
            out.append(replacements[i])
            i += 1
        }
    }

    /// Appends the normalized UTF-8 of `text` to `out`. Graphemes shorter than 6 bytes are looked up
    /// whole; otherwise (or when the whole grapheme has no entry) each scalar is looked up alone.
    func normalize(_ text: String, into out: inout [UInt8]) {
        var text = text
        text.makeContiguousUTF8()
        let string = text
        string.utf8.withContiguousStorageIfAvailable { buf in
            guard let base = buf.baseAddress else { return }
            var pos = 0
            for grapheme in string {
                let len = grapheme.utf8.count
                defer { pos += len }
                if len == 1 {
                    let b = base[pos]
                    if b < 128, asciiMap[Int(b)] >= 0 {
                        appendReplacement(asciiMap[Int(b)], to: &out)
                    } else {
                        out.append(b)
                    }
                    continue
                }
                if len < 6, let m = firstMatch(base + pos, len) {
                    appendReplacement(m, to: &out)
                    continue
                }
                var k = pos
                while k < pos + len {
                    let slen = utf8SequenceLength(base[k])
                    if let m = firstMatch(base + k, slen) {
                        appendReplacement(m, to: &out)
                    } else {
                        out.append(contentsOf: UnsafeBufferPointer(start: base + k, count: slen))
                    }
                    k += slen
                }
            }
        }
    }

    /// The normalized text (without the space collapsing that follows it in XLM-R's pipeline).
    public func normalize(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        normalize(text, into: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
