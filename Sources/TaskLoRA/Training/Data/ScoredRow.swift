/// Checks one `sentence1, sentence2, score` row; nil when it was skipped.
func scoredPair(_ fields: [String], line: Int, separatorName: String, normalization: ScoreNormalization,
                issues: inout RowIssues) throws -> ScoredPair? {
    guard fields.count >= 3 else {
        try issues.bad(line: line, "too few fields: expected 3 (sentence1, sentence2, score), found \(fields.count)")
        return nil
    }
    guard fields.count == 3 else {
        try issues.bad(line: line, "too many fields: expected 3 (sentence1, sentence2, score), found \(fields.count) (an unquoted \(separatorName) in a sentence?)")
        return nil
    }
    guard let score = parseScore(fields[2]) else {
        try issues.bad(line: line, "score \"\(fields[2].prefix(40))\" is not a number")
        return nil
    }
    for (k, name) in [(0, "sentence1"), (1, "sentence2")] where DataLines.isBlank(fields[k]) {
        try issues.bad(line: line, "\(name) is empty")
        return nil
    }
    return ScoredPair(sentence1: fields[0], sentence2: fields[1], score: normalization.apply(score))
}

func checkNormalization(_ options: ReadOptions, path: String) throws {
    guard options.scoreNormalization.isValid else {
        throw TaskLoRAError.file(path, "score normalization \(options.scoreNormalization) would divide by zero")
    }
}
