import Foundation

/// BERT tokenization as Hugging Face `tokenizers` runs it: BertNormalizer (clean text, pad CJK
/// ideographs, strip accents, lowercase), BertPreTokenizer (split on whitespace, isolate
/// punctuation), greedy longest-match-first WordPiece, then `[CLS] … [SEP]`.
public struct WordPieceTokenizer: TextTokenizer {
    public let clsId: Int32
    public let sepId: Int32
    public let padId: Int32
    public let unkId: Int32
    public let lowercase: Bool
    public let stripAccents: Bool
    public let handleChineseChars: Bool
    public let cleanText: Bool
    public let maxInputCharsPerWord: Int
    public let continuingSubwordPrefix: String
    /// Vocabulary as concatenated UTF-8; token `i` is `vocabBytes[vocabOffsets[i] ..< vocabOffsets[i+1]]`.
    let vocabBytes: [UInt8]
    let vocabOffsets: [Int]
    let specialTokens: SpecialTokenSplitter
    private let trie: ByteTrie
    /// Trie node reached by the continuing-subword prefix (-1 when no token has it).
    private let continuationNode: Int32

    public var vocabularySize: Int { vocabOffsets.count - 1 }

    /// - Parameters:
    ///   - vocab: the tokens; a token's index is its id.
    ///   - stripAccents: HF's `strip_accents`; nil means "same as lowercase", as in HF.
    ///   - specialTokens: tokens matched literally in the raw text (HF's special added tokens).
    ///   - source: names the origin in error messages.
    public init(vocab: [String], unkId: Int32, clsId: Int32, sepId: Int32, padId: Int32,
                lowercase: Bool = true, stripAccents: Bool? = nil, handleChineseChars: Bool = true,
                cleanText: Bool = true, maxInputCharsPerWord: Int = 100, continuingSubwordPrefix: String = "##",
                specialTokens: [(content: String, id: Int32)] = [], source: String = "wordpiece tokenizer") throws {
        let (bytes, offsets) = packUTF8(vocab)
        try self.init(vocabBytes: bytes, vocabOffsets: offsets, unkId: unkId, clsId: clsId, sepId: sepId,
                      padId: padId, lowercase: lowercase, stripAccents: stripAccents ?? lowercase,
                      handleChineseChars: handleChineseChars, cleanText: cleanText,
                      maxInputCharsPerWord: maxInputCharsPerWord, continuingSubwordPrefix: continuingSubwordPrefix,
                      specialTokens: specialTokens, source: source)
    }

    init(vocabBytes: [UInt8], vocabOffsets: [Int], unkId: Int32, clsId: Int32, sepId: Int32, padId: Int32,
         lowercase: Bool, stripAccents: Bool, handleChineseChars: Bool, cleanText: Bool,
         maxInputCharsPerWord: Int, continuingSubwordPrefix: String,
         specialTokens: [(content: String, id: Int32)], source: String) throws {
        let n = vocabOffsets.count - 1
        guard n > 0 else { throw TaskLoRAError.file(source, "wordpiece vocabulary is empty") }
        for (name, id) in [("unk_id", unkId), ("cls_id", clsId), ("sep_id", sepId), ("pad_id", padId)]
            where id < 0 || Int(id) >= n {
            throw TaskLoRAError.file(source, "\(name) \(id) is outside the vocabulary of \(n) tokens")
        }
        for t in specialTokens where t.id < 0 || Int(t.id) >= n {
            throw TaskLoRAError.file(source, "special token \(t.content) has id \(t.id), outside the vocabulary of \(n) tokens")
        }
        guard maxInputCharsPerWord > 0 else {
            throw TaskLoRAError.file(source, "max_input_chars_per_word must be positive, got \(maxInputCharsPerWord)")
        }
        self.vocabBytes = vocabBytes
        self.vocabOffsets = vocabOffsets
        self.unkId = unkId
        self.clsId = clsId
        self.sepId = sepId
        self.padId = padId
        self.lowercase = lowercase
        self.stripAccents = stripAccents
        self.handleChineseChars = handleChineseChars
        self.cleanText = cleanText
        self.maxInputCharsPerWord = maxInputCharsPerWord
        self.continuingSubwordPrefix = continuingSubwordPrefix
        self.specialTokens = SpecialTokenSplitter(specialTokens)
        let trie = ByteTrie(storage: vocabBytes, offsets: vocabOffsets)
        var node = ByteTrie.root
        for b in continuingSubwordPrefix.utf8 where node >= 0 { node = trie.child(node, b) }
        self.trie = trie
        continuationNode = node
    }

    /// The token with id `id` (nil when out of range).
    public func token(_ id: Int32) -> String? {
        guard id >= 0, Int(id) < vocabularySize else { return nil }
        return String(decoding: vocabBytes[vocabOffsets[Int(id)]..<vocabOffsets[Int(id) + 1]], as: UTF8.self)
    }

    public func encode(_ text: String, maxLength: Int? = nil) -> [Int32] {
        if let m = maxLength, m < 2 { return m <= 0 ? [] : [sepId] }
        let limit = maxLength.map { $0 - 2 } ?? Int.max
        var ids: [Int32] = [clsId]
        ids.reserveCapacity(min(limit, text.utf8.count / 3 + 8) + 2)
        var text = text
        text.makeContiguousUTF8()
        let segments: [SpecialTokenSplitter.Segment]? = specialTokens.isEmpty
            ? nil : text.utf8.withContiguousStorageIfAvailable { specialTokens.split($0) } ?? nil
        var word: [UInt8] = []
        if let segments {
            let utf8 = Array(text.utf8)
            for segment in segments {
                if ids.count - 1 >= limit { break }
                switch segment {
                case .special(let id): ids.append(id)
                case .text(let r):
                    encodeSegment(String(decoding: utf8[r], as: UTF8.self), into: &ids, limit: limit, word: &word)
                }
            }
        } else {
            encodeSegment(text, into: &ids, limit: limit, word: &word)
        }
        ids.append(sepId)
        return ids
    }

    private func encodeSegment(_ text: String, into ids: inout [Int32], limit: Int, word: inout [UInt8]) {
        // Clean text and pad CJK ideographs; note whether anything needs Unicode-aware work.
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(text.utf8.count + 8)
        var ascii = true
        for s in text.unicodeScalars {
            let v = s.value
            if cleanText {
                if v == 0 || v == 0xFFFD || isBertControl(s) { continue }
                if isRustWhitespace(v) { scalars.append(" "); continue }
            }
            if v >= 0x80 { ascii = false }
            if handleChineseChars && isChineseIdeograph(v) {
                scalars.append(" "); scalars.append(s); scalars.append(" ")
            } else {
                scalars.append(s)
            }
        }
        if !ascii && stripAccents {
            // NFD over the whole text (canonical reordering needs the neighbours), then drop Mn marks.
            var string = String.UnicodeScalarView()
            string.append(contentsOf: scalars)
            let decomposed = String(string).decomposedStringWithCanonicalMapping
            scalars.removeAll(keepingCapacity: true)
            for s in decomposed.unicodeScalars where !isBertNonspacingMark(s) {
                scalars.append(s)
            }
        }
        word.removeAll(keepingCapacity: true)
        var wordChars = 0
        for s in scalars {
            let v = s.value
            if isRustWhitespace(v) {
                if !word.isEmpty { wordPiece(word, chars: wordChars, into: &ids, limit: limit) }
                word.removeAll(keepingCapacity: true)
                wordChars = 0
                continue
            }
            if isBertPunctuation(s) {
                if !word.isEmpty { wordPiece(word, chars: wordChars, into: &ids, limit: limit) }
                word.removeAll(keepingCapacity: true)
                wordChars = 0
                // Punctuation is its own word; lowercasing never changes it.
                appendUTF8(v, to: &word)
                wordPiece(word, chars: 1, into: &ids, limit: limit)
                word.removeAll(keepingCapacity: true)
                continue
            }
            if lowercase {
                if v < 0x80 {
                    word.append(v >= 0x41 && v <= 0x5A ? UInt8(v + 32) : UInt8(v))
                    wordChars += 1
                } else if s.properties.changesWhenLowercased {
                    for l in s.properties.lowercaseMapping.unicodeScalars {
                        appendUTF8(l.value, to: &word)
                        wordChars += 1
                    }
                } else {
                    appendUTF8(v, to: &word)
                    wordChars += 1
                }
            } else {
                appendUTF8(v, to: &word)
                wordChars += 1
            }
            if ids.count - 1 >= limit { return }
        }
        if !word.isEmpty { wordPiece(word, chars: wordChars, into: &ids, limit: limit) }
    }

    /// Greedy longest-match-first split of one word; a word with an unmatched rest is one [UNK].
    private func wordPiece(_ word: [UInt8], chars: Int, into ids: inout [Int32], limit: Int) {
        if ids.count - 1 >= limit { return }
        if chars > maxInputCharsPerWord {
            ids.append(unkId)
            return
        }
        let mark = ids.count
        var start = 0
        let n = word.count
        while start < n {
            var t = start == 0 ? ByteTrie.root : continuationNode
            var bestEnd = -1
            var bestId: Int32 = -1
            var k = start
            while t >= 0 && k < n {
                t = trie.child(t, word[k])
                if t < 0 { break }
                k += 1
                let v = trie.valueAt(t)
                if v >= 0 { bestEnd = k; bestId = v }
            }
            if bestEnd < 0 {
                ids.removeSubrange(mark...)
                ids.append(unkId)
                return
            }
            ids.append(bestId)
            start = bestEnd
        }
        if ids.count - 1 > limit { ids.removeSubrange((limit + 1)...) }
    }
}

/// Rust's `char::is_whitespace` (the Unicode White_Space property).
@inline(__always)
func isRustWhitespace(_ v: UInt32) -> Bool {
    switch v {
    case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return true
    default: return false
    }
}

/// HF BertNormalizer's control test: categories Cc, Cf, Co, Cs, except tab, newline and return.
/// (HF's comment names Cn too, but its category tables keep unassigned code points: measured.)
@inline(__always)
func isBertControl(_ s: Unicode.Scalar) -> Bool {
    let v = s.value
    if v == 0x09 || v == 0x0A || v == 0x0D { return false }
    if v < 0x20 || v == 0x7F { return true }
    if v < 0x80 || !knownToHuggingFace(s) { return false }
    switch s.properties.generalCategory {
    case .control, .format, .privateUse, .surrogate: return true
    default: return false
    }
}

/// Whether HF's category tables (the `unicode_categories` crate: Unicode 8.0) know `s`; scalars
/// assigned later are neither punctuation, control nor marks there. Measured over all code points.
@inline(__always)
func knownToHuggingFace(_ s: Unicode.Scalar) -> Bool {
    guard let age = s.properties.age else { return false }
    return age.major < 8 || (age.major == 8 && age.minor == 0)
}

/// BertPreTokenizer's punctuation: ASCII punctuation (which includes symbols like `$` and `^`) or Unicode P*.
@inline(__always)
func isBertPunctuation(_ s: Unicode.Scalar) -> Bool {
    let v = s.value
    if v < 0x80 {
        return (v >= 33 && v <= 47) || (v >= 58 && v <= 64) || (v >= 91 && v <= 96) || (v >= 123 && v <= 126)
    }
    // Categories that changed since Unicode 8.0: HF still calls these punctuation.
    if v == 0x166D || v == 0x111C9 { return true }
    if !knownToHuggingFace(s) { return false }
    switch s.properties.generalCategory {
    case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
         .initialPunctuation, .finalPunctuation, .otherPunctuation: return true
    default: return false
    }
}

/// HF's Mn test (strip accents).
@inline(__always)
func isBertNonspacingMark(_ s: Unicode.Scalar) -> Bool {
    if s.value < 0x300 { return false }
    // Spacing marks since Unicode 8.0 that HF still strips.
    if s.value == 0x1734 || s.value == 0x1171E { return true }
    // Marks since Unicode 8.0 that HF does not strip.
    if s.value == 0x1885 || s.value == 0x1886 || s.value == 0xA9BD || s.value == 0x111C9 { return false }
    return knownToHuggingFace(s) && s.properties.generalCategory == .nonspacingMark
}

/// The CJK blocks BERT pads with spaces (not Hangul, Hiragana or Katakana).
@inline(__always)
func isChineseIdeograph(_ v: UInt32) -> Bool {
    switch v {
    case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
         0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F: return true
    default: return false
    }
}
