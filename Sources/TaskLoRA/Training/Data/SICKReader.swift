import Foundation

/// Reads SICK's TSV (`pair_ID sentence_A sentence_B relatedness_score entailment_judgment`, tab
/// separated, with that header). Columns are found by name, so the full SICK release with its
/// extra columns reads too.
public enum SICKReader {
    static let required = ["pair_ID", "sentence_A", "sentence_B", "relatedness_score", "entailment_judgment"]

    public static func read(path: String, options: ReadOptions = ReadOptions()) throws -> SICKData {
        try parse(DataLines.contents(path), path: path, options: options)
    }

    /// Whether a first line is SICK's header (format detection).
    static func isHeader(_ line: String) -> Bool {
        let names = Set(line.split(separator: "\t").map { $0.trimmingCharacters(in: .whitespaces) })
        return required.allSatisfy(names.contains)
    }

    public static func parse(_ bytes: [UInt8], path: String, options: ReadOptions = ReadOptions()) throws -> SICKData {
        try ScoredRow.checkNormalization(options, path: path)
        var issues = RowIssues(path: path, onError: options.onError)
        let lines = DataLines.split(DataLines.withoutBOM(bytes))
        guard let header = lines.first, let headerText = header.text else {
            throw TaskLoRAError.file(path, lines.isEmpty ? "is empty (expected a SICK header line)" : "line 1: not valid UTF-8")
        }
        let names = headerText.split(separator: "\t", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        var column: [String: Int] = [:]
        for (k, name) in names.enumerated() where column[name] == nil { column[name] = k }
        let missing = required.filter { column[$0] == nil }
        guard missing.isEmpty else {
            throw TaskLoRAError.file(path, "line 1: not a SICK header (missing column\(missing.count > 1 ? "s" : "") \(missing.joined(separator: ", ")))")
        }
        let id = column["pair_ID"]!, a = column["sentence_A"]!, b = column["sentence_B"]!
        let score = column["relatedness_score"]!, label = column["entailment_judgment"]!

        var pairs: [SICKPair] = []
        var seen = Set<String>()
        for line in lines.dropFirst() {
            guard let text = line.text else { try issues.bad(line: line.number, "not valid UTF-8"); continue }
            if DataLines.isBlank(text) { continue }
            let fields = text.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count >= names.count else {
                try issues.bad(line: line.number, "too few fields: expected \(names.count) tab-separated, found \(fields.count)")
                continue
            }
            guard fields.count == names.count else {
                try issues.bad(line: line.number, "too many fields: expected \(names.count) tab-separated, found \(fields.count)")
                continue
            }
            guard let relatedness = ScoredRow.score(fields[score]) else {
                try issues.bad(line: line.number, "relatedness_score \"\(fields[score].prefix(40))\" is not a number")
                continue
            }
            guard let judgment = SICKPair.Entailment(rawValue: fields[label].trimmingCharacters(in: .whitespaces)) else {
                try issues.bad(line: line.number, "entailment_judgment \"\(fields[label].prefix(40))\" is not ENTAILMENT, NEUTRAL or CONTRADICTION")
                continue
            }
            if DataLines.isBlank(fields[a]) || DataLines.isBlank(fields[b]) {
                try issues.bad(line: line.number, "\(DataLines.isBlank(fields[a]) ? "sentence_A" : "sentence_B") is empty")
                continue
            }
            guard seen.insert(fields[id]).inserted else {
                try issues.bad(line: line.number, "pair_ID \(fields[id]) appears twice")
                continue
            }
            pairs.append(SICKPair(id: fields[id], sentenceA: fields[a], sentenceB: fields[b],
                                  relatedness: options.scoreNormalization.apply(relatedness), entailment: judgment))
        }
        return SICKData(source: path, pairs: pairs, skipped: issues.skipped, skipMessages: issues.messages)
    }
}
