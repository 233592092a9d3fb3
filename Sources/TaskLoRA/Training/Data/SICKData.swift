/// One SICK sentence pair.
public struct SICKPair: Codable, Equatable, Sendable {
    public enum Entailment: String, Codable, Sendable {
        case entailment = "ENTAILMENT"
        case neutral = "NEUTRAL"
        case contradiction = "CONTRADICTION"
    }
    public var id: String
    public var sentenceA: String
    public var sentenceB: String
    /// Relatedness, 1–5 in the file, after `ReadOptions.scoreNormalization`.
    public var relatedness: Double
    public var entailment: Entailment
}

/// The pairs of a SICK file, and the training sets they make.
public struct SICKData: Sendable, Equatable {
    public var source: String
    public var pairs: [SICKPair]
    public var skipped: Int
    public var skipMessages: [String]

    /// Relatedness as scored pairs (STS-style, CoSENT).
    public func relatedness() -> TrainingDataset {
        dataset(.scoredPairs(pairs.map { ScoredPair(sentence1: $0.sentenceA, sentence2: $0.sentenceB, score: $0.relatedness) }))
    }

    /// The pairs judged `label` as (anchor: sentence A, positive: sentence B); ENTAILMENT pairs serve
    /// as NLI-style positives. `symmetric` adds each pair the other way round too.
    public func pairs(judged label: SICKPair.Entailment = .entailment, symmetric: Bool = false) -> TrainingDataset {
        var out: [PairExample] = []
        for p in pairs where p.entailment == label {
            out.append(PairExample(anchor: p.sentenceA, positive: p.sentenceB))
            if symmetric { out.append(PairExample(anchor: p.sentenceB, positive: p.sentenceA)) }
        }
        return dataset(.pairs(out))
    }

    /// NLI triplets (premise, entailed, contradicted), the SimCSE recipe: each ENTAILMENT pair whose
    /// sentence A also has a CONTRADICTION pair, with the first such contradiction (file order) as its
    /// hard negative. SICK has few of these (about a hundred premises in the training file).
    public func nliTriplets() -> TrainingDataset {
        var contradiction: [String: String] = [:]
        for p in pairs where p.entailment == .contradiction && contradiction[p.sentenceA] == nil {
            contradiction[p.sentenceA] = p.sentenceB
        }
        let out = pairs.compactMap { p -> TupleExample? in
            guard p.entailment == .entailment, let negative = contradiction[p.sentenceA], negative != p.sentenceB else { return nil }
            return TupleExample(anchor: p.sentenceA, positive: p.sentenceB, negatives: [negative])
        }
        return dataset(.tuples(out))
    }

    /// Each pair's entailment judgment as a label on "sentence A <separator> sentence B", for a
    /// classifier over the pair's joint text.
    public func entailmentLabels(separator: String = "\n") -> TrainingDataset {
        dataset(.labeledTexts(pairs.map { LabeledText(text: $0.sentenceA + separator + $0.sentenceB, label: $0.entailment.rawValue) }))
    }

    private func dataset(_ examples: TrainingExamples) -> TrainingDataset {
        TrainingDataset(examples: examples, source: source, skipped: skipped, skipMessages: skipMessages)
    }
}
