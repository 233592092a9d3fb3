/// Reads STS pairs from CSV: `sentence1,sentence2,score` per record (the stsb-multi-mt layout,
/// no header, Excel quoting). See `CSVParser` for the quoting rules.
public enum STSCSVReader {
    /// - Parameter hasHeader: nil guesses: the first record is a header when its score field is not a number.
    public static func read(path: String, hasHeader: Bool? = nil, options: ReadOptions = ReadOptions()) throws -> TrainingDataset {
        try parse(DataLines.contents(path), path: path, hasHeader: hasHeader, options: options)
    }

    public static func parse(_ bytes: [UInt8], path: String, hasHeader: Bool? = nil,
                             options: ReadOptions = ReadOptions()) throws -> TrainingDataset {
        try ScoredRow.checkNormalization(options, path: path)
        var issues = RowIssues(path: path, onError: options.onError)
        var pairs: [ScoredPair] = []
        let records = CSVParser.parse(bytes)
        for (r, record) in records.enumerated() {
            if let problem = record.problem { try issues.bad(line: record.line, problem); continue }
            if r == 0, hasHeader ?? (record.fields.count == 3 && ScoredRow.score(record.fields[2]) == nil) { continue }
            if let pair = try ScoredRow.make(record.fields, line: record.line, separatorName: "comma",
                                         normalization: options.scoreNormalization, issues: &issues) {
                pairs.append(pair)
            }
        }
        return TrainingDataset(examples: .scoredPairs(pairs), source: path,
                               skipped: issues.skipped, skipMessages: issues.messages)
    }
}
