import Foundation

/// Reads JSON Lines training data, one object per line. The first object's keys set the kind:
/// - `{"anchor", "positive"}` → pairs; with `"negatives": [..]` → tuples (every line then needs negatives);
/// - `{"sentence1", "sentence2", "score"}` → scored pairs;
/// - `{"text", "label"}` → labeled texts (a numeric label is kept as its decimal text).
/// Other keys are ignored; blank lines are ignored. A line of another kind is an error.
public enum JSONLReader {
    public static func read(path: String, options: ReadOptions = ReadOptions()) throws -> TrainingDataset {
        try parse(DataLines.contents(path), path: path, options: options)
    }

    public static func parse(_ bytes: [UInt8], path: String, options: ReadOptions = ReadOptions()) throws -> TrainingDataset {
        try ScoredRow.checkNormalization(options, path: path)
        var issues = RowIssues(path: path, onError: options.onError)
        var kind: DatasetKind?
        var kindLine = 0
        var pairs: [PairExample] = [], tuples: [TupleExample] = []
        var scored: [ScoredPair] = [], labeled: [LabeledText] = []
        let decoder = JSONDecoder()
        for line in DataLines.split(DataLines.withoutBOM(bytes)) {
            guard let text = line.text else { try issues.bad(line: line.number, "not valid UTF-8"); continue }
            if DataLines.isBlank(text) { continue }
            let row: Row
            do {
                row = try decoder.decode(Row.self, from: Data(text.utf8))
            } catch let error as DecodingError {
                try issues.bad(line: line.number, describe(error))
                continue
            } catch let error as RowError {
                try issues.bad(line: line.number, error.message)
                continue
            }
            if kind == nil { kind = row.kind; kindLine = line.number }
            guard row.kind == kind else {
                try issues.bad(line: line.number, "has the keys of \(row.kind.keysDescription) but line \(kindLine) set the file's kind to \(kind!.keysDescription)")
                continue
            }
            switch row.kind {
            case .pairs: pairs.append(PairExample(anchor: row.texts[0], positive: row.texts[1]))
            case .tuples:
                guard !row.negatives.isEmpty else { try issues.bad(line: line.number, "\"negatives\" is empty"); continue }
                tuples.append(TupleExample(anchor: row.texts[0], positive: row.texts[1], negatives: row.negatives))
            case .scoredPairs:
                scored.append(ScoredPair(sentence1: row.texts[0], sentence2: row.texts[1],
                                         score: options.scoreNormalization.apply(row.score)))
            case .labeledTexts: labeled.append(LabeledText(text: row.texts[0], label: row.texts[1]))
            }
        }
        let examples: TrainingExamples
        switch kind {
        case .pairs, nil: examples = .pairs(pairs)
        case .tuples: examples = .tuples(tuples)
        case .scoredPairs: examples = .scoredPairs(scored)
        case .labeledTexts: examples = .labeledTexts(labeled)
        }
        return TrainingDataset(examples: examples, source: path, skipped: issues.skipped, skipMessages: issues.messages)
    }

    private struct RowError: Error { var message: String }

    /// One line, checked: `texts` holds the two main strings of its kind.
    private struct Row: Decodable {
        var kind: DatasetKind
        var texts: [String]
        var negatives: [String] = []
        var score = 0.0

        enum Key: String, CodingKey { case anchor, positive, negatives, sentence1, sentence2, score, text, label }

        init(from decoder: Decoder) throws {
            let c: KeyedDecodingContainer<Key>
            do { c = try decoder.container(keyedBy: Key.self) } catch { throw RowError(message: "is not a JSON object") }
            func string(_ key: Key) throws -> String {
                guard c.contains(key) else { throw RowError(message: "has no \"\(key.rawValue)\"") }
                guard let s = try? c.decode(String.self, forKey: key) else {
                    throw RowError(message: "\"\(key.rawValue)\" is not a string")
                }
                guard !DataLines.isBlank(s) else { throw RowError(message: "\"\(key.rawValue)\" is empty") }
                return s
            }
            if c.contains(.anchor) || c.contains(.positive) {
                texts = [try string(.anchor), try string(.positive)]
                if c.contains(.negatives) {
                    guard let list = try? c.decode([String].self, forKey: .negatives) else {
                        throw RowError(message: "\"negatives\" is not an array of strings")
                    }
                    negatives = list
                    kind = .tuples
                } else {
                    kind = .pairs
                }
            } else if c.contains(.sentence1) || c.contains(.sentence2) || c.contains(.score) {
                texts = [try string(.sentence1), try string(.sentence2)]
                guard c.contains(.score) else { throw RowError(message: "has no \"score\"") }
                guard let value = try? c.decode(Double.self, forKey: .score), value.isFinite else {
                    throw RowError(message: "\"score\" is not a number")
                }
                score = value
                kind = .scoredPairs
            } else if c.contains(.text) || c.contains(.label) {
                let text = try string(.text)
                guard c.contains(.label) else { throw RowError(message: "has no \"label\"") }
                let label: String
                if let s = try? c.decode(String.self, forKey: .label) { label = s }
                else if let i = try? c.decode(Int.self, forKey: .label) { label = String(i) }
                else { throw RowError(message: "\"label\" is neither a string nor an integer") }
                texts = [text, label]
                kind = .labeledTexts
            } else {
                throw RowError(message: "has none of the known key sets ({anchor, positive[, negatives]}, {sentence1, sentence2, score}, {text, label})")
            }
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            return "is not valid JSON"
        case .typeMismatch(_, let context) where context.codingPath.isEmpty:
            return "is not a JSON object"
        default:
            return "cannot be read: \(error)"
        }
    }
}

extension DatasetKind {
    public var keysDescription: String {
        switch self {
        case .pairs: return "pairs {anchor, positive}"
        case .tuples: return "tuples {anchor, positive, negatives}"
        case .scoredPairs: return "scored pairs {sentence1, sentence2, score}"
        case .labeledTexts: return "labeled texts {text, label}"
        }
    }
}
