import Foundation

/// A retrieval benchmark in index form: query and document texts with their ids, and per query the
/// graded relevance of documents (by document row).
public struct RetrievalData: Sendable {
    public var queryIDs: [String]
    public var queries: [String]
    public var documentIDs: [String]
    public var documents: [String]
    /// qrels[q][document row] = grade (as written; grade ≤ 0 counts as not relevant).
    public var qrels: [[Int: Int]]
    /// "beir" or "squad".
    public var format: String

    /// A BEIR folder (`corpus.jsonl`, `queries.jsonl`, `qrels/<split>.tsv`) or a SQuAD/XQuAD JSON file;
    /// `corpus` (SQuAD only) takes the paragraphs from another, parallel file (cross-lingual retrieval).
    /// `heldOut` (SQuAD only) keeps just the paragraphs that `tasklora train` holds out with
    /// `data.held_out` = fraction and the recipe's seed, with their questions.
    public static func load(path: String, corpus: String? = nil, split: String = "test",
                            heldOut: (fraction: Double, seed: UInt64)? = nil) throws -> RetrievalData {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw TaskLoRAError.file(path, "no such file or folder")
        }
        if isDirectory.boolValue {
            if let corpus { throw TaskLoRAError.file(corpus, "a separate corpus file applies to SQuAD JSON, not to the BEIR folder \(path)") }
            return try loadBEIR(folder: path, split: split)
        }
        return try loadSQuAD(queries: path, corpus: corpus, heldOut: heldOut)
    }

    /// Questions of `queries` against the paragraphs of `corpus` (default: the same file); a question is
    /// relevant to the paragraph at the same position (`a<article>p<paragraph>`).
    public static func loadSQuAD(queries path: String, corpus corpusPath: String? = nil,
                                 heldOut: (fraction: Double, seed: UInt64)? = nil) throws -> RetrievalData {
        var q = try SQuADReader.read(path: path)
        var c = try corpusPath.map { try SQuADReader.read(path: $0) } ?? q
        if let heldOut {
            // Paragraph ids are positional, so the same paragraphs are held out in every language.
            q = try q.splitByParagraph(heldOutFraction: heldOut.fraction, seed: heldOut.seed).heldOut
            c = try c.splitByParagraph(heldOutFraction: heldOut.fraction, seed: heldOut.seed).heldOut
        }
        guard !q.questions.isEmpty else { throw TaskLoRAError.file(path, "has no questions") }
        var row: [String: Int] = [:]
        for (i, p) in c.paragraphs.enumerated() { row[p.id] = i }
        var qrels: [[Int: Int]] = []
        for question in q.questions {
            guard let r = row[question.paragraphID] else {
                throw TaskLoRAError.file(corpusPath ?? path, "has no paragraph \(question.paragraphID) for question \(question.id) of \(path) (are the files parallel?)")
            }
            qrels.append([r: 1])
        }
        return RetrievalData(queryIDs: q.questions.map(\.id), queries: q.questions.map(\.text),
                             documentIDs: c.paragraphs.map(\.id), documents: c.paragraphs.map(\.text),
                             qrels: qrels, format: "squad")
    }

    /// BEIR: documents are `title + " " + text` (just `text` when the title is empty); only queries that
    /// appear in the qrels are evaluated, in qrels order of first appearance.
    public static func loadBEIR(folder: String, split: String = "test") throws -> RetrievalData {
        let url = URL(fileURLWithPath: folder)
        let corpusPath = url.appendingPathComponent("corpus.jsonl").path
        let queriesPath = url.appendingPathComponent("queries.jsonl").path
        let qrelsPath = url.appendingPathComponent("qrels/\(split).tsv").path
        var documentIDs: [String] = [], documents: [String] = [], docRow: [String: Int] = [:]
        for (line, object) in try jsonLines(corpusPath) {
            let id = try identifier(object, path: corpusPath, line: line)
            guard let text = object["text"] as? String else {
                throw TaskLoRAError.file(corpusPath, "line \(line) has no string \"text\"")
            }
            let title = (object["title"] as? String) ?? ""
            guard docRow[id] == nil else { throw TaskLoRAError.file(corpusPath, "line \(line): document id \(id) appears twice") }
            docRow[id] = documents.count
            documentIDs.append(id)
            documents.append(title.isEmpty ? text : title + " " + text)
        }
        guard !documents.isEmpty else { throw TaskLoRAError.file(corpusPath, "has no documents") }
        var queryText: [String: String] = [:]
        for (line, object) in try jsonLines(queriesPath) {
            let id = try identifier(object, path: queriesPath, line: line)
            guard let text = object["text"] as? String else {
                throw TaskLoRAError.file(queriesPath, "line \(line) has no string \"text\"")
            }
            guard !text.allSatisfy(\.isWhitespace) else { throw TaskLoRAError.file(queriesPath, "line \(line): query \(id) is empty") }
            guard queryText[id] == nil else { throw TaskLoRAError.file(queriesPath, "line \(line): query id \(id) appears twice") }
            queryText[id] = text
        }
        guard let data = FileManager.default.contents(atPath: qrelsPath) else {
            throw TaskLoRAError.file(qrelsPath, FileManager.default.fileExists(atPath: qrelsPath) ? "cannot read file" : "no such file")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw TaskLoRAError.file(qrelsPath, "not valid UTF-8") }
        var queryIDs: [String] = [], qrels: [[Int: Int]] = [], queryRow: [String: Int] = [:]
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            if line.allSatisfy(\.isWhitespace) { continue }
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 3 || fields.count == 4 else {
                throw TaskLoRAError.file(qrelsPath, "line \(n + 1) needs query-id, corpus-id and score separated by tabs")
            }
            let (qid, did, gradeText) = fields.count == 3 ? (fields[0], fields[1], fields[2]) : (fields[0], fields[2], fields[3])
            guard let grade = Int(gradeText.trimmingCharacters(in: .whitespaces)) else {
                if n == 0 { continue }  // header
                throw TaskLoRAError.file(qrelsPath, "line \(n + 1): score \"\(gradeText)\" is not an integer")
            }
            guard let doc = docRow[did] else {
                throw TaskLoRAError.file(qrelsPath, "line \(n + 1) names document \(did), which corpus.jsonl does not have")
            }
            guard let qtext = queryText[qid] else {
                throw TaskLoRAError.file(qrelsPath, "line \(n + 1) names query \(qid), which queries.jsonl does not have")
            }
            let row: Int
            if let r = queryRow[qid] { row = r } else {
                row = queryIDs.count
                queryRow[qid] = row
                queryIDs.append(qid)
                qrels.append([:])
                _ = qtext
            }
            guard qrels[row][doc] == nil else {
                throw TaskLoRAError.file(qrelsPath, "line \(n + 1): query \(qid) and document \(did) are judged twice")
            }
            qrels[row][doc] = grade
        }
        guard !queryIDs.isEmpty else { throw TaskLoRAError.file(qrelsPath, "has no judgements") }
        return RetrievalData(queryIDs: queryIDs, queries: queryIDs.map { queryText[$0]! }, documentIDs: documentIDs,
                             documents: documents, qrels: qrels, format: "beir")
    }

    private static func jsonLines(_ path: String) throws -> [(Int, [String: Any])] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TaskLoRAError.file(path, FileManager.default.fileExists(atPath: path) ? "cannot read file" : "no such file")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw TaskLoRAError.file(path, "not valid UTF-8") }
        var out: [(Int, [String: Any])] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.allSatisfy(\.isWhitespace) { continue }
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw TaskLoRAError.file(path, "line \(n + 1) is not a JSON object")
            }
            out.append((n + 1, object))
        }
        return out
    }

    private static func identifier(_ object: [String: Any], path: String, line: Int) throws -> String {
        if let s = object["_id"] as? String, !s.isEmpty { return s }
        if let n = object["_id"] as? NSNumber { return n.stringValue }
        throw TaskLoRAError.file(path, "line \(line) has no \"_id\"")
    }
}
