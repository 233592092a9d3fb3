/// What a reader does with a row it cannot use: stop with an error naming the file and line,
/// or leave the row out and count it (`TrainingDataset.skipped`).
public enum OnError: String, Codable, Sendable {
    case fail
    case skip
}

/// How a reader maps the file's scores before storing them.
public enum ScoreNormalization: Codable, Equatable, Sendable {
    /// Scores as written.
    case none
    /// score / divisor, e.g. `.divide(by: 5)` maps STS-B's 0–5 to 0–1.
    case divide(by: Double)
    /// Maps [min, max] linearly onto [0, 1], e.g. `.range(min: 1, max: 5)` for SICK relatedness.
    case range(min: Double, max: Double)

    public func apply(_ score: Double) -> Double {
        switch self {
        case .none: return score
        case .divide(let divisor): return score / divisor
        case .range(let lo, let hi): return (score - lo) / (hi - lo)
        }
    }

    var isValid: Bool {
        switch self {
        case .none: return true
        case .divide(let divisor): return divisor.isFinite && divisor != 0
        case .range(let lo, let hi): return lo.isFinite && hi.isFinite && hi != lo
        }
    }
}

/// Where a question's hard negatives come from (SQuAD/XQuAD).
public enum HardNegativeSource: String, Codable, Sendable {
    /// Other paragraphs of the question's article (topically close, so hard); when the article has
    /// too few, the rest are drawn at random from other articles.
    case sameArticle
    /// Paragraphs drawn at random from the whole file.
    case random
}

/// Options shared by all readers. Formats ignore what does not apply to them.
public struct ReadOptions: Sendable {
    public var onError: OnError
    public var scoreNormalization: ScoreNormalization
    /// Hard negatives per question when a SQuAD file is read as training data (0: plain pairs).
    public var hardNegatives: Int
    public var hardNegativeSource: HardNegativeSource
    /// Seeds the choice of random hard negatives.
    public var seed: UInt64

    public init(onError: OnError = .fail, scoreNormalization: ScoreNormalization = .none,
                hardNegatives: Int = 0, hardNegativeSource: HardNegativeSource = .sameArticle, seed: UInt64 = 0) {
        self.onError = onError
        self.scoreNormalization = scoreNormalization
        self.hardNegatives = hardNegatives
        self.hardNegativeSource = hardNegativeSource
        self.seed = seed
    }
}

/// Collects the rows a reader could not use: throws at the first in `.fail` mode, counts them in `.skip`.
struct RowIssues {
    let path: String
    let onError: OnError
    private(set) var skipped = 0
    /// The first few skip messages, so a report can show what went wrong without flooding.
    private(set) var messages: [String] = []
    static let keptMessages = 20

    init(path: String, onError: OnError) {
        self.path = path
        self.onError = onError
    }

    mutating func bad(line: Int, _ problem: String) throws {
        try bad(at: "line \(line)", problem)
    }

    /// `place` names where in the file: "line 12", or a JSON path for whole-document formats.
    mutating func bad(at place: String, _ problem: String) throws {
        let message = "\(place): \(problem)"
        if onError == .fail { throw TaskLoRAError.file(path, message) }
        skipped += 1
        if messages.count < Self.keptMessages { messages.append(message) }
    }
}
