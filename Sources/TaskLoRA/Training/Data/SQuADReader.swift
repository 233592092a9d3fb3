import Foundation

/// Reads SQuAD-format JSON (SQuAD v1.1/v2, XQuAD): `data[].paragraphs[].context` and
/// `qas[].{id, question}`. Answers are not needed and not read. Problems are reported with the JSON
/// path of the item ("data[3].paragraphs[1].qas[0]"), since such files are often one long line.
/// In skip mode a bad paragraph is left out with its questions, a bad question on its own.
public enum SQuADReader {
    public static func read(path: String, options: ReadOptions = ReadOptions()) throws -> SQuADData {
        try parse(DataLines.contents(path), path: path, options: options)
    }

    public static func parse(_ bytes: [UInt8], path: String, options: ReadOptions = ReadOptions()) throws -> SQuADData {
        guard String(validating: bytes, as: UTF8.self) != nil else { throw TaskLoRAError.file(path, "not valid UTF-8") }
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: Data(bytes))
        } catch {
            throw TaskLoRAError.file(path, "not valid JSON (\(jsonProblem(error)))")
        }
        guard let top = root as? [String: Any], let articles = top["data"] as? [Any] else {
            throw TaskLoRAError.file(path, "not SQuAD JSON: expected an object with a \"data\" array")
        }
        var issues = RowIssues(path: path, onError: options.onError)
        var paragraphs: [SQuADParagraph] = []
        var questions: [SQuADQuestion] = []
        var seenQuestions = Set<String>()
        for (ai, articleAny) in articles.enumerated() {
            guard let article = articleAny as? [String: Any], let list = article["paragraphs"] as? [Any] else {
                try issues.bad(at: "data[\(ai)]", "not an object with a \"paragraphs\" array")
                continue
            }
            let title = article["title"] as? String ?? ""
            for (pi, paragraphAny) in list.enumerated() {
                let place = "data[\(ai)].paragraphs[\(pi)]"
                guard let paragraph = paragraphAny as? [String: Any] else { try issues.bad(at: place, "not an object"); continue }
                guard let context = paragraph["context"] as? String, !DataLines.isBlank(context) else {
                    try issues.bad(at: place, "has no non-empty string \"context\"")
                    continue
                }
                let id = "a\(ai)p\(pi)"
                paragraphs.append(SQuADParagraph(id: id, article: ai, title: title, text: context))
                for (qi, qaAny) in (paragraph["qas"] as? [Any] ?? []).enumerated() {
                    let qPlace = "\(place).qas[\(qi)]"
                    guard let qa = qaAny as? [String: Any] else { try issues.bad(at: qPlace, "not an object"); continue }
                    guard let question = qa["question"] as? String, !DataLines.isBlank(question) else {
                        try issues.bad(at: qPlace, "has no non-empty string \"question\"")
                        continue
                    }
                    guard let qid = qa["id"] as? String, !qid.isEmpty else {
                        try issues.bad(at: qPlace, "has no string \"id\"")
                        continue
                    }
                    guard seenQuestions.insert(qid).inserted else {
                        try issues.bad(at: qPlace, "question id \(qid) appears twice")
                        continue
                    }
                    questions.append(SQuADQuestion(id: qid, text: question, paragraphID: id))
                }
            }
        }
        return SQuADData(source: path, paragraphs: paragraphs, questions: questions,
                         skipped: issues.skipped, skipMessages: issues.messages)
    }

    /// Foundation's reason for rejecting the JSON, which names the position where it has one.
    private static func jsonProblem(_ error: Error) -> String {
        let ns = error as NSError
        return ns.userInfo[NSDebugDescriptionErrorKey] as? String ?? ns.localizedDescription
    }
}
