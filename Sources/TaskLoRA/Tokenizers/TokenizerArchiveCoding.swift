/// Tokenizers to and from `TokenizerArchive`, the form stored in checkpoints under `/tokenizer`.
///
/// Datasets and attributes, kind "unigram":
/// - bytes `pieces` (all pieces' UTF-8, concatenated) and uint32 `piece_offsets` (n+1, ascending,
///   first 0, last = byte count): piece i is `pieces[piece_offsets[i] ..< piece_offsets[i+1]]`.
/// - uint32 `scores_f64_bits` (2n): the IEEE f64 bit pattern of each score, low word then high word.
///   f64 rather than float32 because HF sums f64 scores and a rounded score can flip a near-tie.
/// - either bytes `precompiled_charsmap` (the SentencePiece blob) or uint32 `codepoint_map`
///   (flattened entries `scalar, count, replacement scalars…`, ascending by scalar).
/// - attributes `normalizer` ("precompiled" or "codepoint_map"), `unk_id`, `bos_id`, `eos_id`,
///   `pad_id`, `collapse_spaces` ("true"/"false").
///
/// Kind "wordpiece":
/// - bytes `vocab` and uint32 `vocab_offsets` (n+1), as for unigram pieces.
/// - attributes `unk_id`, `cls_id`, `sep_id`, `pad_id`, `lowercase`, `strip_accents`,
///   `handle_chinese_chars`, `clean_text` ("true"/"false"), `max_input_chars_per_word`,
///   `continuing_subword_prefix`.
///
/// Both kinds: bytes `special_tokens`, uint32 `special_token_offsets` (m+1) and uint32
/// `special_token_ids` (m): the tokens matched literally in raw text (may be empty).
///
/// The whitespace mode (`TokenizerWhitespace`) is not stored: it is chosen when the tokenizer is
/// made (`makeTokenizer(from:whitespace:)`), so every checkpoint, old or new, serves both modes.

extension UnigramTokenizer {
    public var archive: TokenizerArchive {
        var a = TokenizerArchive(kind: "unigram")
        a.attributes = ["unk_id": String(unkId), "bos_id": String(bosId), "eos_id": String(eosId),
                        "pad_id": String(padId), "collapse_spaces": String(collapseSpaces)]
        a.bytes["pieces"] = pieceBytes
        a.uint32["piece_offsets"] = pieceOffsets.map { UInt32($0) }
        var bits = [UInt32]()
        bits.reserveCapacity(2 * scores.count)
        for s in scores {
            bits.append(UInt32(truncatingIfNeeded: s.bitPattern))
            bits.append(UInt32(truncatingIfNeeded: s.bitPattern >> 32))
        }
        a.uint32["scores_f64_bits"] = bits
        switch normalizer {
        case .precompiled(let charsmap):
            a.attributes["normalizer"] = "precompiled"
            a.bytes["precompiled_charsmap"] = charsmap
        case .codepointMap(let map):
            a.attributes["normalizer"] = "codepoint_map"
            var flat = [UInt32]()
            for key in map.keys.sorted() {
                let value = map[key]!
                flat.append(key)
                flat.append(UInt32(value.count))
                flat.append(contentsOf: value)
            }
            a.uint32["codepoint_map"] = flat
        }
        specialTokens.store(in: &a)
        return a
    }
}

extension WordPieceTokenizer {
    public var archive: TokenizerArchive {
        var a = TokenizerArchive(kind: "wordpiece")
        a.attributes = ["unk_id": String(unkId), "cls_id": String(clsId), "sep_id": String(sepId),
                        "pad_id": String(padId), "lowercase": String(lowercase),
                        "strip_accents": String(stripAccents), "handle_chinese_chars": String(handleChineseChars),
                        "clean_text": String(cleanText), "max_input_chars_per_word": String(maxInputCharsPerWord),
                        "continuing_subword_prefix": continuingSubwordPrefix]
        a.bytes["vocab"] = vocabBytes
        a.uint32["vocab_offsets"] = vocabOffsets.map { UInt32($0) }
        specialTokens.store(in: &a)
        return a
    }
}

extension SpecialTokenSplitter {
    func store(in a: inout TokenizerArchive) {
        var bytes = [UInt8]()
        var offsets: [UInt32] = [0]
        for t in tokens {
            bytes.append(contentsOf: t.bytes)
            offsets.append(UInt32(bytes.count))
        }
        a.bytes["special_tokens"] = bytes
        a.uint32["special_token_offsets"] = offsets
        a.uint32["special_token_ids"] = tokens.map { UInt32(bitPattern: $0.id) }
    }
}

/// Rebuilds the tokenizer a checkpoint stored, handling whitespace as `whitespace` says; throws when
/// the archive is incomplete or inconsistent.
public func makeTokenizer(from archive: TokenizerArchive, whitespace: TokenizerWhitespace = .default) throws -> TextTokenizer {
    let r = ArchiveReader(archive: archive, source: "tokenizer archive (\(archive.kind))")
    switch archive.kind {
    case "unigram":
        let (pieceBytes, pieceOffsets) = try r.strings("pieces", "piece_offsets")
        let bits = try r.uint32("scores_f64_bits")
        let n = pieceOffsets.count - 1
        guard bits.count == 2 * n else {
            throw r.error("scores_f64_bits has \(bits.count) words, expected 2 × \(n) pieces")
        }
        let scores = (0..<n).map { Double(bitPattern: UInt64(bits[2 * $0]) | UInt64(bits[2 * $0 + 1]) << 32) }
        let normalizer: UnigramNormalizer
        switch try r.attribute("normalizer") {
        case "precompiled":
            normalizer = .precompiled(charsmap: try r.bytes("precompiled_charsmap"))
        case "codepoint_map":
            let flat = try r.uint32("codepoint_map")
            var map: [UInt32: [UInt32]] = [:]
            var i = 0
            while i < flat.count {
                guard i + 1 < flat.count, i + 2 + Int(flat[i + 1]) <= flat.count else {
                    throw r.error("codepoint_map entry at word \(i) runs past the end of the dataset")
                }
                let count = Int(flat[i + 1])
                map[flat[i]] = Array(flat[(i + 2)..<(i + 2 + count)])
                i += 2 + count
            }
            normalizer = .codepointMap(map)
        case let other:
            throw r.error("unknown normalizer \"\(other)\" (expected precompiled or codepoint_map)")
        }
        return try UnigramTokenizer(
            pieceBytes: pieceBytes, pieceOffsets: pieceOffsets, scores: scores,
            unkId: try r.id("unk_id"), bosId: try r.id("bos_id"), eosId: try r.id("eos_id"), padId: try r.id("pad_id"),
            normalizer: normalizer, collapseSpaces: try r.bool("collapse_spaces"), whitespace: whitespace,
            specialTokens: try r.specialTokens(), source: r.source)
    case "wordpiece":
        let (vocabBytes, vocabOffsets) = try r.strings("vocab", "vocab_offsets")
        guard let maxChars = Int(try r.attribute("max_input_chars_per_word")) else {
            throw r.error("attribute max_input_chars_per_word is not an integer")
        }
        return try WordPieceTokenizer(
            vocabBytes: vocabBytes, vocabOffsets: vocabOffsets,
            unkId: try r.id("unk_id"), clsId: try r.id("cls_id"), sepId: try r.id("sep_id"), padId: try r.id("pad_id"),
            lowercase: try r.bool("lowercase"), stripAccents: try r.bool("strip_accents"),
            handleChineseChars: try r.bool("handle_chinese_chars"), cleanText: try r.bool("clean_text"),
            maxInputCharsPerWord: maxChars, continuingSubwordPrefix: try r.attribute("continuing_subword_prefix"),
            specialTokens: try r.specialTokens(), source: r.source)
    default:
        throw TaskLoRAError.file("tokenizer archive", "unknown tokenizer kind \"\(archive.kind)\" (expected unigram or wordpiece)")
    }
}

/// Typed, validated access to an archive's datasets and attributes.
private struct ArchiveReader {
    let archive: TokenizerArchive
    let source: String

    func error(_ problem: String) -> TaskLoRAError { TaskLoRAError.file(source, problem) }

    func attribute(_ name: String) throws -> String {
        guard let v = archive.attributes[name] else { throw error("missing attribute \(name)") }
        return v
    }

    func id(_ name: String) throws -> Int32 {
        guard let v = Int32(try attribute(name)) else { throw error("attribute \(name) is not an integer") }
        return v
    }

    func bool(_ name: String) throws -> Bool {
        switch try attribute(name) {
        case "true": return true
        case "false": return false
        case let v: throw error("attribute \(name) is \"\(v)\", expected true or false")
        }
    }

    func bytes(_ name: String) throws -> [UInt8] {
        guard let v = archive.bytes[name] else { throw error("missing byte dataset \(name)") }
        return v
    }

    func uint32(_ name: String) throws -> [UInt32] {
        guard let v = archive.uint32[name] else { throw error("missing uint32 dataset \(name)") }
        return v
    }

    /// Concatenated UTF-8 strings and their offsets, checked: n+1 ascending offsets from 0 to the end,
    /// each string valid UTF-8.
    func strings(_ bytesName: String, _ offsetsName: String) throws -> ([UInt8], [Int]) {
        let data = try bytes(bytesName)
        let offsets = try uint32(offsetsName).map { Int($0) }
        guard let first = offsets.first, first == 0, offsets.last == data.count else {
            throw error("\(offsetsName) must start at 0 and end at the \(data.count) bytes of \(bytesName)")
        }
        // Valid UTF-8 overall plus every offset on a character start means every entry is valid UTF-8.
        guard isValidUTF8(data) else { throw error("\(bytesName) is not valid UTF-8") }
        for i in 1..<offsets.count {
            guard offsets[i] >= offsets[i - 1] else {
                throw error("\(offsetsName) decreases at index \(i) (\(offsets[i - 1]) then \(offsets[i]))")
            }
            guard offsets[i] == data.count || data[offsets[i]] & 0xC0 != 0x80 else {
                throw error("\(offsetsName)[\(i)] splits a UTF-8 character of \(bytesName)")
            }
        }
        return (data, offsets)
    }

    func specialTokens() throws -> [(content: String, id: Int32)] {
        guard archive.bytes["special_tokens"] != nil else { return [] }
        let (data, offsets) = try strings("special_tokens", "special_token_offsets")
        let ids = try uint32("special_token_ids")
        guard ids.count == offsets.count - 1 else {
            throw error("special_token_ids has \(ids.count) entries for \(offsets.count - 1) special tokens")
        }
        return (0..<ids.count).map {
            (String(decoding: data[offsets[$0]..<offsets[$0 + 1]], as: UTF8.self), Int32(bitPattern: ids[$0]))
        }
    }
}
