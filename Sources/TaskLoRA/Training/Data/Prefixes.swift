/// Instruction prefixes put before each side's text when a batch is built: asymmetric retrieval
/// models embed queries and passages under different instructions.
public struct Prefixes: Codable, Equatable, Sendable {
    /// Before anchors (queries), sentence1 of scored pairs, and labeled texts.
    public var anchor: String
    /// Before positives (passages) and sentence2 of scored pairs.
    public var positive: String
    /// Before hard negatives; nil uses `positive`, since negatives are passages too.
    public var negative: String?

    public init(anchor: String = "", positive: String = "", negative: String? = nil) {
        self.anchor = anchor
        self.positive = positive
        self.negative = negative
    }

    public static let none = Prefixes()

    /// jina-embeddings-v3's retrieval instructions (retrieval.query / retrieval.passage).
    public static let jinaRetrieval = Prefixes(
        anchor: "Represent the query for retrieving evidence documents: ",
        positive: "Represent the document for retrieval: ")

    /// The same prefix on every side (symmetric tasks such as text matching).
    public static func symmetric(_ prefix: String) -> Prefixes {
        Prefixes(anchor: prefix, positive: prefix)
    }
}
