/// Finds special tokens (`<s>`, `[CLS]`, `<mask>` …) written literally in the raw text, as Hugging Face
/// `tokenizers` does before normalizing: leftmost-longest matches become their ids and the text
/// between them is tokenized piece by piece.
struct SpecialTokenSplitter: Sendable {
    /// One piece of text: either a special token id or a range of UTF-8 bytes of the input.
    enum Segment {
        case special(Int32)
        case text(Range<Int>)
    }

    let tokens: [(bytes: [UInt8], id: Int32)]
    private var firstBytes = [Bool](repeating: false, count: 256)

    init(_ tokens: [(content: String, id: Int32)]) {
        self.tokens = tokens.filter { !$0.content.isEmpty }.map { (Array($0.content.utf8), $0.id) }
        for t in self.tokens { firstBytes[Int(t.bytes[0])] = true }
    }

    var isEmpty: Bool { tokens.isEmpty }

    /// Segments of `utf8`, or nil when no special token occurs (the common case: no work, no copy).
    func split(_ utf8: UnsafeBufferPointer<UInt8>) -> [Segment]? {
        if tokens.isEmpty { return nil }
        var segments: [Segment] = []
        var textStart = 0
        var i = 0
        let n = utf8.count
        while i < n {
            if !firstBytes[Int(utf8[i])] { i += 1; continue }
            var best = -1
            var bestLen = 0
            for (t, token) in tokens.enumerated() where token.bytes.count > bestLen && i + token.bytes.count <= n {
                var k = 0
                while k < token.bytes.count, utf8[i + k] == token.bytes[k] { k += 1 }
                if k == token.bytes.count { best = t; bestLen = k }
            }
            if best < 0 { i += 1; continue }
            if textStart < i { segments.append(.text(textStart..<i)) }
            segments.append(.special(tokens[best].id))
            i += bestLen
            textStart = i
        }
        if segments.isEmpty { return nil }
        if textStart < n { segments.append(.text(textStart..<n)) }
        return segments
    }
}
