/// A SQuAD paragraph. `id` is "a<article>p<paragraph>" from its position in the file (both 0-based),
/// so the same paragraph has the same id in every translation of a parallel set such as XQuAD.
public struct SQuADParagraph: Codable, Equatable, Sendable {
    public var id: String
    /// 0-based position of the article in the file.
    public var article: Int
    public var title: String
    public var text: String
}

/// A SQuAD question and the paragraph that answers it.
public struct SQuADQuestion: Codable, Equatable, Sendable {
    /// The file's `qas[].id`.
    public var id: String
    public var text: String
    public var paragraphID: String
}

/// Questions and paragraphs of a SQuAD-format file: training pairs (question → its paragraph) and a
/// retrieval benchmark (queries, corpus, relevance).
public struct SQuADData: Sendable, Equatable {
    public var source: String
    public var paragraphs: [SQuADParagraph]
    public var questions: [SQuADQuestion]
    public var skipped: Int
    public var skipMessages: [String]

    /// Paragraph id → paragraph text: the retrieval corpus (paragraphs without questions included).
    public var corpus: [String: String] {
        Dictionary(paragraphs.map { ($0.id, $0.text) }, uniquingKeysWith: { a, _ in a })
    }
    /// Question id → question text.
    public var queries: [String: String] {
        Dictionary(questions.map { ($0.id, $0.text) }, uniquingKeysWith: { a, _ in a })
    }
    /// Question id → id of the one relevant paragraph.
    public var relevant: [String: String] {
        Dictionary(questions.map { ($0.id, $0.paragraphID) }, uniquingKeysWith: { a, _ in a })
    }

    /// Question → paragraph training examples: pairs when `hardNegatives` is 0, else tuples with that
    /// many other paragraphs per question, chosen deterministically from `seed` and the question id.
    public func trainingDataset(hardNegatives: Int = 0, source negativeSource: HardNegativeSource = .sameArticle,
                                seed: UInt64 = 0) throws -> TrainingDataset {
        guard hardNegatives >= 0 else { throw TaskLoRAError.file(source, "hard negatives must be 0 or more, not \(hardNegatives)") }
        let index = Dictionary(paragraphs.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
        if hardNegatives == 0 {
            let pairs = questions.map { PairExample(anchor: $0.text, positive: paragraphs[index[$0.paragraphID]!].text) }
            return TrainingDataset(examples: .pairs(pairs), source: source, skipped: skipped, skipMessages: skipMessages)
        }
        guard hardNegatives < paragraphs.count else {
            throw TaskLoRAError.file(source, "\(hardNegatives) hard negatives asked for, but there are only \(paragraphs.count) paragraphs")
        }
        var byArticle: [Int: [Int]] = [:]
        for (k, p) in paragraphs.enumerated() { byArticle[p.article, default: []].append(k) }
        let tuples = questions.map { q -> TupleExample in
            let own = index[q.paragraphID]!
            var rng = SplitMix64(seed: StableHash.hash(q.id, seed: seed))
            var chosen: [Int] = []
            if negativeSource == .sameArticle {
                var siblings = byArticle[paragraphs[own].article]!.filter { $0 != own }
                SeededShuffle.shuffle(&siblings, &rng)
                chosen = Array(siblings.prefix(hardNegatives))
            }
            // Random fill by rejection: cheap because hardNegatives is far below the paragraph count.
            var taken = Set(chosen + [own])
            while chosen.count < hardNegatives {
                let k = Int(SeededShuffle.below(UInt64(paragraphs.count), &rng))
                if taken.insert(k).inserted { chosen.append(k) }
            }
            return TupleExample(anchor: q.text, positive: paragraphs[own].text, negatives: chosen.map { paragraphs[$0].text })
        }
        return TrainingDataset(examples: .tuples(tuples), source: source, skipped: skipped, skipMessages: skipMessages)
    }

    /// Holds out whole paragraphs (with all their questions), so evaluation retrieves paragraphs the
    /// model was not trained on. Deterministic for a seed; paragraph ids are kept.
    public func splitByParagraph(heldOutFraction: Double, seed: UInt64) throws -> (train: SQuADData, heldOut: SQuADData) {
        let held = try SeededSplit.heldOutKeys(paragraphs.map(\.id), fraction: heldOutFraction, seed: seed, what: source)
        return split { held.contains($0.id) }
    }

    /// Holds out whole articles: stricter than by paragraph, since sibling paragraphs share a topic.
    /// The fraction counts paragraphs.
    public func splitByArticle(heldOutFraction: Double, seed: UInt64) throws -> (train: SQuADData, heldOut: SQuADData) {
        let held = try SeededSplit.heldOutKeys(paragraphs.map { "article \($0.article)" }, fraction: heldOutFraction,
                                               seed: seed, what: source)
        return split { held.contains("article \($0.article)") }
    }

    private func split(isHeldOut: (SQuADParagraph) -> Bool) -> (train: SQuADData, heldOut: SQuADData) {
        let heldIDs = Set(paragraphs.filter(isHeldOut).map(\.id))
        func part(_ held: Bool, _ suffix: String) -> SQuADData {
            SQuADData(source: source + suffix,
                      paragraphs: paragraphs.filter { heldIDs.contains($0.id) == held },
                      questions: questions.filter { heldIDs.contains($0.paragraphID) == held },
                      skipped: held ? 0 : skipped, skipMessages: held ? [] : skipMessages)
        }
        return (part(false, " (train split)"), part(true, " (held-out split)"))
    }
}
