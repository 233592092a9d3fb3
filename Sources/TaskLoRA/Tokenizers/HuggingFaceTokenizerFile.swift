import Foundation

/// Reads a Hugging Face tokenizer.json of the two kinds tasklora's encoders use:
/// - Unigram (XLM-R / multilingual-e5): normalizer Precompiled, optionally followed by
///   Replace(' {2,}' → ' '); pre-tokenizer Metaspace('▁', prefix always, split); TemplateProcessing
///   or RobertaProcessing with one token before and one after the text.
/// - WordPiece (BERT / MiniLM): BertNormalizer, BertPreTokenizer, TemplateProcessing or BertProcessing.
/// Anything else is refused with an error naming the unsupported part, rather than tokenized wrongly.
/// Truncation and padding settings in the file are ignored: callers pass `maxLength` and pad batches.
/// `whitespace` chooses between transformers 5's whitespace handling (the default) and the file's
/// pipeline as written, as the `tokenizers` library runs it (`TokenizerWhitespace`).
public func loadHuggingFaceTokenizer(path: String, whitespace: TokenizerWhitespace = .default) throws -> TextTokenizer {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw TaskLoRAError.file(path, "cannot read tokenizer file")
    }
    guard let root = try TokenizerJSONParser.parse(data, path: path) as? [String: Any] else {
        throw TaskLoRAError.file(path, "tokenizer.json is not a JSON object")
    }
    let file = JSONFields(path: path)
    let model = try file.object(root, "model", in: "tokenizer.json")
    let special = try file.specialTokens(root)
    switch try file.string(model, "type", in: "model") {
    case "Unigram": return try file.unigram(root, model, special, whitespace: whitespace)
    case "WordPiece": return try file.wordPiece(root, model, special)
    case let other: throw TaskLoRAError.file(path, "unsupported tokenizer model \"\(other)\" (supported: Unigram, WordPiece)")
    }
}

/// An integral JSON number as Int (nil for anything else).
private func integer(_ v: Any) -> Int? {
    guard let d = v as? Double, d == d.rounded(), abs(d) < 1e15 else { return nil }
    return Int(d)
}

/// A JSON number that is a valid 32-bit token id.
private func tokenId(_ v: Any) -> Int32? {
    integer(v).flatMap { Int32(exactly: $0) }
}

/// Field access with errors that name the file and the JSON location.
private struct JSONFields {
    let path: String

    func fail(_ problem: String) -> TaskLoRAError { TaskLoRAError.file(path, problem) }

    func object(_ o: [String: Any], _ key: String, in context: String) throws -> [String: Any] {
        guard let v = o[key] else { throw fail("\(context) has no \"\(key)\"") }
        guard let d = v as? [String: Any] else { throw fail("\(context).\(key) is not an object") }
        return d
    }

    /// nil when the key is absent or JSON null.
    func optionalObject(_ o: [String: Any], _ key: String, in context: String) throws -> [String: Any]? {
        guard let v = o[key], !(v is NSNull) else { return nil }
        guard let d = v as? [String: Any] else { throw fail("\(context).\(key) is not an object") }
        return d
    }

    func string(_ o: [String: Any], _ key: String, in context: String) throws -> String {
        guard let v = o[key] else { throw fail("\(context) has no \"\(key)\"") }
        guard let s = v as? String else { throw fail("\(context).\(key) is not a string") }
        return s
    }

    func int(_ o: [String: Any], _ key: String, in context: String) throws -> Int {
        guard let v = o[key] else { throw fail("\(context) has no \"\(key)\"") }
        guard let n = integer(v) else { throw fail("\(context).\(key) is not an integer") }
        return n
    }

    /// A bool field; absent or null gives `default`.
    func bool(_ o: [String: Any], _ key: String, in context: String, default value: Bool?) throws -> Bool? {
        guard let v = o[key], !(v is NSNull) else { return value }
        guard let b = v as? Bool else { throw fail("\(context).\(key) is not true or false") }
        return b
    }

    /// Special added tokens, matched literally in raw text before normalization.
    func specialTokens(_ root: [String: Any]) throws -> [(content: String, id: Int32)] {
        guard let v = root["added_tokens"], !(v is NSNull) else { return [] }
        guard let list = v as? [[String: Any]] else { throw fail("added_tokens is not a list of objects") }
        var out: [(content: String, id: Int32)] = []
        for (i, t) in list.enumerated() {
            let context = "added_tokens[\(i)]"
            guard try bool(t, "special", in: context, default: false) == true else {
                throw fail("\(context) is a non-special added token, which is not supported")
            }
            if try bool(t, "normalized", in: context, default: false) == true
                || bool(t, "lstrip", in: context, default: false) == true
                || bool(t, "rstrip", in: context, default: false) == true
                || bool(t, "single_word", in: context, default: false) == true {
                throw fail("\(context) uses normalized/lstrip/rstrip/single_word matching, which is not supported")
            }
            out.append((try string(t, "content", in: context), Int32(try int(t, "id", in: context))))
        }
        return out
    }

    /// The ids placed before and after the text by the post-processor.
    func wrappingIds(_ root: [String: Any]) throws -> (Int32, Int32) {
        guard let p = try optionalObject(root, "post_processor", in: "tokenizer.json") else {
            throw fail("post_processor is missing; expected TemplateProcessing, RobertaProcessing or BertProcessing")
        }
        let type = try string(p, "type", in: "post_processor")
        switch type {
        case "RobertaProcessing", "BertProcessing":
            guard let cls = p["cls"] as? [Any], cls.count == 2, let c = tokenId(cls[1]),
                  let sep = p["sep"] as? [Any], sep.count == 2, let s = tokenId(sep[1]) else {
                throw fail("post_processor.cls/sep must be [token, id] pairs")
            }
            return (c, s)
        case "TemplateProcessing":
            guard let single = p["single"] as? [[String: Any]] else { throw fail("post_processor.single is not a list") }
            let specials = try object(p, "special_tokens", in: "post_processor")
            var before: [Int32] = [], after: [Int32] = []
            var seenSequence = false
            for piece in single {
                if let s = piece["SpecialToken"] as? [String: Any] {
                    let name = try string(s, "id", in: "post_processor.single SpecialToken")
                    let entry = try object(specials, name, in: "post_processor.special_tokens")
                    guard let list = entry["ids"] as? [Any], case let ids = list.compactMap(tokenId), ids.count == list.count else {
                        throw fail("post_processor.special_tokens.\(name).ids is not a list of integers")
                    }
                    if seenSequence { after += ids } else { before += ids }
                } else if piece["Sequence"] != nil {
                    if seenSequence { throw fail("post_processor.single holds two sequences") }
                    seenSequence = true
                } else {
                    throw fail("post_processor.single holds an entry that is neither SpecialToken nor Sequence")
                }
            }
            guard seenSequence, before.count == 1, after.count == 1 else {
                throw fail("post_processor.single must be one special token, the sequence, one special token")
            }
            return (before[0], after[0])
        default:
            throw fail("unsupported post_processor \"\(type)\"")
        }
    }

    /// Padding id: the file's padding.pad_id, else the id of the first of `names` found.
    func padId(_ root: [String: Any], special: [(content: String, id: Int32)], names: [String],
               vocab: (String) -> Int32?) throws -> Int32 {
        if let padding = try optionalObject(root, "padding", in: "tokenizer.json") {
            return Int32(try int(padding, "pad_id", in: "padding"))
        }
        for name in names {
            if let t = special.first(where: { $0.content == name }) { return t.id }
            if let id = vocab(name) { return id }
        }
        throw fail("no padding section and no \(names.joined(separator: " or ")) token to pad with")
    }

    func unigram(_ root: [String: Any], _ model: [String: Any],
                 _ special: [(content: String, id: Int32)], whitespace: TokenizerWhitespace) throws -> UnigramTokenizer {
        if try bool(model, "byte_fallback", in: "model", default: false) == true {
            throw fail("Unigram byte_fallback is not supported")
        }
        guard let vocab = model["vocab"] as? [Any] else { throw fail("model.vocab is not a list") }
        var pieces = [String]()
        var scores = [Double]()
        pieces.reserveCapacity(vocab.count)
        scores.reserveCapacity(vocab.count)
        for (i, entry) in vocab.enumerated() {
            guard let pair = entry as? [Any], pair.count == 2, let piece = pair[0] as? String,
                  let score = pair[1] as? Double else {
                throw fail("model.vocab[\(i)] is not a [piece, score] pair")
            }
            pieces.append(piece)
            scores.append(score)
        }
        guard let unk = model["unk_id"].flatMap(tokenId) else { throw fail("model.unk_id is missing or null (needed for unknown characters)") }

        // Normalizer: Precompiled, optionally followed by Replace(' {2,}' → ' ').
        guard let normalizer = try optionalObject(root, "normalizer", in: "tokenizer.json") else {
            throw fail("Unigram tokenizer without a normalizer is not supported (expected Precompiled)")
        }
        var steps = [normalizer]
        if try string(normalizer, "type", in: "normalizer") == "Sequence" {
            guard let list = normalizer["normalizers"] as? [[String: Any]] else {
                throw fail("normalizer.normalizers is not a list of objects")
            }
            steps = list
        }
        var charsmap: [UInt8]? = nil
        var collapse = false
        for (i, step) in steps.enumerated() {
            let context = "normalizer step \(i)"
            switch try string(step, "type", in: context) {
            case "Precompiled" where i == 0:
                let b64 = try string(step, "precompiled_charsmap", in: context)
                guard let d = Data(base64Encoded: b64) else { throw fail("\(context).precompiled_charsmap is not base64") }
                charsmap = [UInt8](d)
            case "Replace" where i == 1:
                let pattern = try object(step, "pattern", in: context)
                guard pattern["Regex"] as? String == " {2,}", try string(step, "content", in: context) == " " else {
                    throw fail("\(context): only Replace(Regex ' {2,}' → ' ') is supported")
                }
                collapse = true
            case let type:
                throw fail("\(context): unsupported normalizer \"\(type)\" here (expected Precompiled then optionally Replace)")
            }
        }
        guard let charsmap else { throw fail("normalizer has no Precompiled step") }

        // Pre-tokenizer: Metaspace with '▁', prefix always, split.
        guard let pre = try optionalObject(root, "pre_tokenizer", in: "tokenizer.json"),
              try string(pre, "type", in: "pre_tokenizer") == "Metaspace" else {
            throw fail("Unigram tokenizer needs a Metaspace pre_tokenizer")
        }
        guard try string(pre, "replacement", in: "pre_tokenizer") == "\u{2581}" else {
            throw fail("pre_tokenizer.replacement must be \u{2581}")
        }
        let prefixSpace = try bool(pre, "add_prefix_space", in: "pre_tokenizer", default: true) ?? true
        let scheme = pre["prepend_scheme"] as? String ?? (prefixSpace ? "always" : "never")
        guard scheme == "always", try bool(pre, "split", in: "pre_tokenizer", default: true) == true else {
            throw fail("only Metaspace with prepend_scheme always and split true is supported")
        }
        let (bos, eos) = try wrappingIds(root)
        var index: [String: Int32]? = nil
        let pad = try padId(root, special: special, names: ["<pad>"]) { name in
            if index == nil { index = Dictionary(pieces.enumerated().map { ($1, Int32($0)) }, uniquingKeysWith: { $1 }) }
            return index![name]
        }
        return try UnigramTokenizer(pieces: pieces, scores: scores, unkId: unk, bosId: bos, eosId: eos,
                                    padId: pad, normalizer: .precompiled(charsmap: charsmap), collapseSpaces: collapse,
                                    whitespace: whitespace,
                                    specialTokens: special, source: path)
    }

    func wordPiece(_ root: [String: Any], _ model: [String: Any],
                   _ special: [(content: String, id: Int32)]) throws -> WordPieceTokenizer {
        guard let vocabObject = model["vocab"] as? [String: Any] else { throw fail("model.vocab is not an object") }
        var vocab = [String?](repeating: nil, count: vocabObject.count)
        for (token, value) in vocabObject {
            guard let id = integer(value) else { throw fail("model.vocab[\"\(token)\"] is not an integer id") }
            guard id >= 0, id < vocab.count, vocab[id] == nil else {
                throw fail("model.vocab ids must be 0..<\(vocab.count) without gaps or repeats; \"\(token)\" has \(id)")
            }
            vocab[id] = token
        }
        let tokens = vocab.map { $0! }
        let unkToken = try string(model, "unk_token", in: "model")
        guard let unk = vocabObject[unkToken].flatMap(tokenId) else { throw fail("model.unk_token \"\(unkToken)\" is not in the vocabulary") }
        let prefix = (model["continuing_subword_prefix"] as? String) ?? "##"
        let maxChars = model["max_input_chars_per_word"] == nil ? 100 : try int(model, "max_input_chars_per_word", in: "model")

        guard let normalizer = try optionalObject(root, "normalizer", in: "tokenizer.json"),
              try string(normalizer, "type", in: "normalizer") == "BertNormalizer" else {
            throw fail("WordPiece tokenizer needs a BertNormalizer")
        }
        let lowercase = try bool(normalizer, "lowercase", in: "normalizer", default: true)!
        let strip = try bool(normalizer, "strip_accents", in: "normalizer", default: lowercase)!
        let chinese = try bool(normalizer, "handle_chinese_chars", in: "normalizer", default: true)!
        let clean = try bool(normalizer, "clean_text", in: "normalizer", default: true)!
        guard let pre = try optionalObject(root, "pre_tokenizer", in: "tokenizer.json"),
              try string(pre, "type", in: "pre_tokenizer") == "BertPreTokenizer" else {
            throw fail("WordPiece tokenizer needs a BertPreTokenizer")
        }
        let (cls, sep) = try wrappingIds(root)
        let pad = try padId(root, special: special, names: ["[PAD]"]) { vocabObject[$0].flatMap(tokenId) }
        return try WordPieceTokenizer(vocab: tokens, unkId: unk, clsId: cls, sepId: sep, padId: pad,
                                      lowercase: lowercase, stripAccents: strip, handleChineseChars: chinese,
                                      cleanText: clean, maxInputCharsPerWord: maxChars,
                                      continuingSubwordPrefix: prefix, specialTokens: special, source: path)
    }
}
