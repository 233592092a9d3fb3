/// How a Unigram tokenizer normalizes text before pre-tokenization.
public enum UnigramNormalizer: Sendable, Equatable {
    /// SentencePiece's precompiled charsmap (what XLM-R's tokenizer.json ships), applied per grapheme.
    case precompiled(charsmap: [UInt8])
    /// A per-scalar replacement map (what E5S1 model files ship instead of the charsmap); an empty
    /// replacement deletes the scalar, unmapped scalars stay.
    case codepointMap([UInt32: [UInt32]])
}

/// SentencePiece Unigram tokenization as Hugging Face runs XLM-R's tokenizer.json: normalize, split
/// into words (`whitespace` says how: transformers 5's whitespace split, or the file's own
/// space collapsing), Metaspace (a `▁` starts each word, each `▁` starts a piece), Viterbi per
/// piece over the scores, then `<s> … </s>`.
public struct UnigramTokenizer: TextTokenizer {
    public let unkId: Int32
    public let bosId: Int32
    public let eosId: Int32
    public let padId: Int32
    /// The file's `Replace(' {2,}', ' ')` step (used in `.tokenizerJSON` mode; in `.transformers`
    /// mode every run of whitespace separates two words anyway).
    public let collapseSpaces: Bool
    public let normalizer: UnigramNormalizer
    /// Which Hugging Face stack the ids equal; not part of the archive (see `TokenizerWhitespace`).
    public var whitespace: TokenizerWhitespace
    /// Pieces as concatenated UTF-8; piece `i` is `pieceBytes[pieceOffsets[i] ..< pieceOffsets[i+1]]`.
    let pieceBytes: [UInt8]
    let pieceOffsets: [Int]
    /// Scores as HF keeps them (f64): the Viterbi sums must round exactly as HF's do.
    let scores: [Double]
    let specialTokens: SpecialTokenSplitter
    private let trie: ByteTrie
    private let unkScore: Double
    private let normalize: Normalize

    /// The normalizer in its ready-to-run form.
    private enum Normalize: Sendable {
        case precompiled(PrecompiledCharsmap)
        case map([UInt32: [UInt32]])
    }

    public var vocabularySize: Int { scores.count }

    /// - Parameters:
    ///   - pieces: the vocabulary; a piece's index is its id.
    ///   - scores: log-probability of each piece (f64 as in tokenizer.json).
    ///   - specialTokens: tokens matched literally in the raw text (HF's special added tokens).
    ///   - source: names the origin in error messages.
    public init(pieces: [String], scores: [Double], unkId: Int32, bosId: Int32, eosId: Int32, padId: Int32,
                normalizer: UnigramNormalizer, collapseSpaces: Bool = true, whitespace: TokenizerWhitespace = .default,
                specialTokens: [(content: String, id: Int32)] = [], source: String = "unigram tokenizer") throws {
        let (bytes, offsets) = packUTF8(pieces)
        try self.init(pieceBytes: bytes, pieceOffsets: offsets, scores: scores, unkId: unkId, bosId: bosId,
                      eosId: eosId, padId: padId, normalizer: normalizer, collapseSpaces: collapseSpaces,
                      whitespace: whitespace, specialTokens: specialTokens, source: source)
    }

    /// For vocabularies whose scores are float32 (E5S1 files): each score widens exactly to f64.
    public init(pieces: [String], scores: [Float], unkId: Int, bosId: Int, eosId: Int, padId: Int,
                normalizer: UnigramNormalizer, collapseSpaces: Bool = true, whitespace: TokenizerWhitespace = .default,
                specialTokens: [(content: String, id: Int32)] = [], source: String = "unigram tokenizer") throws {
        for (name, id) in [("unk_id", unkId), ("bos_id", bosId), ("eos_id", eosId), ("pad_id", padId)]
            where Int32(exactly: id) == nil {
            throw TaskLoRAError.file(source, "\(name) \(id) does not fit a 32-bit token id")
        }
        try self.init(pieces: pieces, scores: scores.map { Double($0) }, unkId: Int32(unkId), bosId: Int32(bosId),
                      eosId: Int32(eosId), padId: Int32(padId), normalizer: normalizer,
                      collapseSpaces: collapseSpaces, whitespace: whitespace, specialTokens: specialTokens, source: source)
    }

    init(pieceBytes: [UInt8], pieceOffsets: [Int], scores: [Double], unkId: Int32, bosId: Int32, eosId: Int32,
         padId: Int32, normalizer: UnigramNormalizer, collapseSpaces: Bool, whitespace: TokenizerWhitespace,
         specialTokens: [(content: String, id: Int32)], source: String) throws {
        let n = scores.count
        guard n > 0 else { throw TaskLoRAError.file(source, "unigram vocabulary is empty") }
        guard pieceOffsets.count == n + 1 else {
            throw TaskLoRAError.file(source, "unigram tokenizer has \(pieceOffsets.count - 1) pieces but \(n) scores")
        }
        for (name, id) in [("unk_id", unkId), ("bos_id", bosId), ("eos_id", eosId), ("pad_id", padId)]
            where id < 0 || Int(id) >= n {
            throw TaskLoRAError.file(source, "\(name) \(id) is outside the vocabulary of \(n) pieces")
        }
        for t in specialTokens where t.id < 0 || Int(t.id) >= n {
            throw TaskLoRAError.file(source, "special token \(t.content) has id \(t.id), outside the vocabulary of \(n) pieces")
        }
        guard let minScore = scores.min(), minScore.isFinite, scores.allSatisfy({ $0.isFinite }) else {
            throw TaskLoRAError.file(source, "unigram scores must be finite numbers")
        }
        switch normalizer {
        case .precompiled(let charsmap):
            normalize = .precompiled(try PrecompiledCharsmap(charsmap, source: source))
        case .codepointMap(let map):
            for (k, v) in map where Unicode.Scalar(k) == nil || v.contains(where: { Unicode.Scalar($0) == nil }) {
                throw TaskLoRAError.file(source, "codepoint map entry \(k) holds a value that is not a Unicode scalar")
            }
            normalize = .map(map)
        }
        self.pieceBytes = pieceBytes
        self.pieceOffsets = pieceOffsets
        self.scores = scores
        self.unkId = unkId
        self.bosId = bosId
        self.eosId = eosId
        self.padId = padId
        self.normalizer = normalizer
        self.collapseSpaces = collapseSpaces
        self.whitespace = whitespace
        self.specialTokens = SpecialTokenSplitter(specialTokens)
        // HF: an unknown character costs 10 below the worst piece.
        unkScore = minScore - 10
        trie = ByteTrie(storage: pieceBytes, offsets: pieceOffsets)
    }

    public func withWhitespace(_ mode: TokenizerWhitespace) -> TextTokenizer {
        var copy = self
        copy.whitespace = mode
        return copy
    }

    /// The piece with id `id` (nil when out of range).
    public func piece(_ id: Int32) -> String? {
        guard id >= 0, Int(id) < scores.count else { return nil }
        return String(decoding: pieceBytes[pieceOffsets[Int(id)]..<pieceOffsets[Int(id) + 1]], as: UTF8.self)
    }

    public func encode(_ text: String, maxLength: Int? = nil) -> [Int32] {
        if let m = maxLength, m < 2 { return m <= 0 ? [] : [eosId] }
        let limit = maxLength.map { $0 - 2 } ?? Int.max
        var ids: [Int32] = [bosId]
        ids.reserveCapacity(min(limit, text.utf8.count / 2 + 8) + 2)
        var work = Workspace()
        var text = text
        text.makeContiguousUTF8()
        let segments: [SpecialTokenSplitter.Segment]? = specialTokens.isEmpty
            ? nil : text.utf8.withContiguousStorageIfAvailable { specialTokens.split($0) } ?? nil
        if let segments {
            let utf8 = Array(text.utf8)
            for segment in segments {
                if ids.count - 1 >= limit { break }
                switch segment {
                case .special(let id): ids.append(id)
                case .text(let r): encodeSegment(String(decoding: utf8[r], as: UTF8.self), into: &ids, limit: limit, &work)
                }
            }
        } else {
            encodeSegment(text, into: &ids, limit: limit, &work)
        }
        ids.append(eosId)
        return ids
    }

    /// Buffers reused across the words of one call.
    private struct Workspace {
        var normalized: [UInt8] = []
        var metaspaced: [UInt8] = []
        var best: [Double] = []
        var from: [Int32] = []
        var node: [Int32] = []
        var reversed: [Int32] = []
    }

    /// Appends the normalized UTF-8 of `text` (before space collapsing) to `out`.
    private func normalizeText(_ text: String, into out: inout [UInt8]) {
        switch normalize {
        case .precompiled(let charsmap):
            charsmap.normalize(text, into: &out)
        case .map(let map):
            for scalar in text.unicodeScalars {
                if let r = map[scalar.value] {
                    for v in r { appendUTF8(v, to: &out) }
                } else {
                    appendUTF8(scalar.value, to: &out)
                }
            }
        }
    }

    private func encodeSegment(_ text: String, into ids: inout [Int32], limit: Int, _ w: inout Workspace) {
        w.normalized.removeAll(keepingCapacity: true)
        normalizeText(text, into: &w.normalized)
        w.metaspaced.removeAll(keepingCapacity: true)
        let start: Int
        switch whitespace {
        case .transformers:
            metaspaceWords(w.normalized, into: &w.metaspaced)
            if w.metaspaced.isEmpty { return }
            start = 0
        case .tokenizerJSON:
            // Collapse spaces and apply Metaspace; a leading `▁` slot is dropped again when not needed.
            w.metaspaced.append(contentsOf: [0xE2, 0x96, 0x81])
            var previousSpace = false
            for b in w.normalized {
                if b == 0x20 {
                    if collapseSpaces && previousSpace { continue }
                    previousSpace = true
                    w.metaspaced.append(contentsOf: [0xE2, 0x96, 0x81])
                } else {
                    previousSpace = false
                    w.metaspaced.append(b)
                }
            }
            let s = w.metaspaced
            if s.count == 3 { return }
            start = s.count >= 6 && s[3] == 0xE2 && s[4] == 0x96 && s[5] == 0x81 ? 3 : 0
        }
        let s = w.metaspaced
        let n = s.count
        // Each `▁` starts a word (MergedWithNext).
        var wordStart = start
        var i = start + 3
        while i <= n {
            if i == n || (s[i] == 0xE2 && i + 2 < n && s[i + 1] == 0x96 && s[i + 2] == 0x81) {
                viterbi(s, wordStart..<i, into: &ids, limit: limit, &w)
                if ids.count - 1 >= limit { return }
                wordStart = i
                i += 3
                if i > n { break }
                continue
            }
            i += 1
        }
    }

    /// transformers 5's pre-tokenizer (WhitespaceSplit, then Metaspace on each word): the words of
    /// the normalized UTF-8 between runs of Unicode whitespace, each with a `▁` in front unless it
    /// already starts with one, concatenated. Splitting that at every `▁` gives the same pieces as
    /// splitting each word, since every word starts with one.
    private func metaspaceWords(_ normalized: [UInt8], into out: inout [UInt8]) {
        normalized.withUnsafeBufferPointer { s in
            var i = 0
            var inWord = false
            while i < s.count {
                let space = whitespaceLength(s, i)
                if space > 0 {
                    inWord = false
                    i += space
                    continue
                }
                if !inWord {
                    inWord = true
                    if !(i + 2 < s.count && s[i] == 0xE2 && s[i + 1] == 0x96 && s[i + 2] == 0x81) {
                        out.append(contentsOf: [0xE2, 0x96, 0x81])
                    }
                }
                let end = min(i + utf8SequenceLength(s[i]), s.count)
                out.append(contentsOf: UnsafeBufferPointer(rebasing: s[i..<end]))
                i = end
            }
        }
    }

    /// Best segmentation of `s[word]` (HF's `encode_optimized`), unknown runs fused into one unk.
    private func viterbi(_ s: [UInt8], _ word: Range<Int>, into ids: inout [Int32], limit: Int, _ w: inout Workspace) {
        let len = word.count
        if w.best.count < len + 1 {
            w.best = [Double](repeating: 0, count: len + 1)
            w.from = [Int32](repeating: -1, count: len + 1)
            w.node = [Int32](repeating: 0, count: len + 1)
        }
        let a = word.lowerBound
        s.withUnsafeBufferPointer { s in
        scores.withUnsafeBufferPointer { scores in
        w.best.withUnsafeMutableBufferPointer { best in
        w.from.withUnsafeMutableBufferPointer { from in
        w.node.withUnsafeMutableBufferPointer { node in
            for k in 0...len { from[k] = -1 }
            best[0] = 0
            var pos = 0
            while pos < len {
                let base = best[pos]
                let charLength = utf8SequenceLength(s[a + pos])
                var hasSingle = false
                var t = ByteTrie.root
                var k = pos
                while k < len {
                    t = trie.child(t, s[a + k])
                    if t < 0 { break }
                    k += 1
                    let v = trie.valueAt(t)
                    if v >= 0 {
                        let candidate = scores[Int(v)] + base
                        if from[k] < 0 || candidate > best[k] {
                            best[k] = candidate
                            from[k] = Int32(pos)
                            node[k] = v
                        }
                        if k - pos == charLength { hasSingle = true }
                    }
                }
                if !hasSingle {
                    let e = pos + charLength
                    let candidate = unkScore + base
                    if from[e] < 0 || candidate > best[e] {
                        best[e] = candidate
                        from[e] = Int32(pos)
                        node[e] = unkId
                    }
                }
                pos += charLength
            }
            w.reversed.removeAll(keepingCapacity: true)
            var e = len
            var previousUnk = false
            while e > 0 {
                let id = node[e]
                if id == unkId {
                    if !previousUnk { w.reversed.append(id) }
                    previousUnk = true
                } else {
                    w.reversed.append(id)
                    previousUnk = false
                }
                e = Int(from[e])
            }
        }}}}}
        for id in w.reversed.reversed() {
            if ids.count - 1 >= limit { return }
            ids.append(id)
        }
    }
}
