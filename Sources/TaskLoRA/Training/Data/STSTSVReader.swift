/// Reads STS pairs from TSV: `sentence1<TAB>sentence2<TAB>score` per line, with or without a header.
/// Fields are not quoted (a quote is an ordinary character), so a text may not contain a tab.
public enum STSTSVReader {
    /// - Parameter hasHeader: nil guesses: the first line is a header when its score field is not a number.
    public static func read(path: String, hasHeader: Bool? = nil, options: ReadOptions = ReadOptions()) throws -> TrainingDataset {
        try parse(DataLines.contents(path), path: path, hasHeader: hasHeader, options: options)
    }

    public static func parse(_ bytes: [UInt8], path: String, hasHeader: Bool? = nil,
                             options: ReadOptions = ReadOptions()) throws -> TrainingDataset {
        try ScoredRow.checkNormalization(options, path: path)
        var issues = RowIssues(path: path, onError: options.onError)
        var pairs: [ScoredPair] = []
        var first = true
        for line in DataLines.split(DataLines.withoutBOM(bytes)) {
            guard let text = line.text else { try issues.bad(line: line.number, "not valid UTF-8"); first = false; continue }
            if DataLines.isBlank(text) { continue }
            let fields = text.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            defer { first = false }
            if first, hasHeader ?? (fields.count == 3 && ScoredRow.score(fields[2]) == nil) { continue }
            if let pair = try ScoredRow.make(fields, line: line.number, separatorName: "tab",
                                         normalization: options.scoreNormalization, issues: &issues) {
                pairs.append(pair)
            }
        }
        return TrainingDataset(examples: .scoredPairs(pairs), source: path,
                               skipped: issues.skipped, skipMessages: issues.messages)
    }
}
