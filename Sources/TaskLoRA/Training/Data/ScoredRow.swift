import Foundation

/// The checks shared by the `sentence1, sentence2, score` formats (CSV, TSV).
enum ScoredRow {
    /// A score field: a finite decimal number (surrounding spaces allowed).
    static func score(_ field: String) -> Double? {
        guard let value = Double(field.trimmingCharacters(in: .whitespaces)), value.isFinite else { return nil }
        return value
    }

    /// One row checked; nil when it was skipped.
    static func make(_ fields: [String], line: Int, separatorName: String, normalization: ScoreNormalization,
                     issues: inout RowIssues) throws -> ScoredPair? {
        guard fields.count >= 3 else {
            try issues.bad(line: line, "too few fields: expected 3 (sentence1, sentence2, score), found \(fields.count)")
            return nil
        }
        guard fields.count == 3 else {
            try issues.bad(line: line, "too many fields: expected 3 (sentence1, sentence2, score), found \(fields.count) (an unquoted \(separatorName) in a sentence?)")
            return nil
        }
        guard let value = score(fields[2]) else {
            try issues.bad(line: line, "score \"\(fields[2].prefix(40))\" is not a number")
            return nil
        }
        for (k, name) in [(0, "sentence1"), (1, "sentence2")] where DataLines.isBlank(fields[k]) {
            try issues.bad(line: line, "\(name) is empty")
            return nil
        }
        return ScoredPair(sentence1: fields[0], sentence2: fields[1], score: normalization.apply(value))
    }

    static func checkNormalization(_ options: ReadOptions, path: String) throws {
        guard options.scoreNormalization.isValid else {
            throw TaskLoRAError.file(path, "score normalization \(options.scoreNormalization) would divide by zero")
        }
    }
}
