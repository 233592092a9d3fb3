import Foundation

// `data.dev`: the dev sets a run evaluates on. A single path (the old form), or a list whose
// entries are a path, `{path, name, format}`, or `{held_out: pooled | per_file | cross, name}`:
// the held-out part of the training data (`data.held_out`), pooled over the training files (what a
// run without `data.dev` evaluates on), one dev set per file, or, for parallel SQuAD files such as
// XQuAD, the first file's questions against each other file's paragraphs (cross-lingual).

extension Recipe {
    /// Which dev sets the held-out part of the training data makes.
    public enum HeldOutDev: String, RecipeChoice, Sendable {
        /// One set: every training file's held-out rows together.
        case pooled
        /// One set per training file.
        case perFile = "per_file"
        /// SQuAD files only: the first file's held-out questions against each other file's held-out
        /// paragraphs (XQuAD: English questions → paragraphs in another language).
        case cross
    }

    /// One entry of `data.dev`.
    public struct DevSource: Codable, Equatable, Sendable {
        /// A dev file (SQuAD JSON → retrieval; anything with scores → STS).
        public var path: String?
        /// Or the held-out part of the training data.
        public var heldOut: HeldOutDev?
        /// Shown in logs, metrics and reports; default: the file name without its extension, or
        /// "held-out" (+ the file for `per_file` / `cross`).
        public var name: String?
        /// The file's format; nil = detected.
        public var format: DataFormat?

        public init(path: String? = nil, heldOut: HeldOutDev? = nil, name: String? = nil, format: DataFormat? = nil) {
            self.path = path
            self.heldOut = heldOut
            self.name = name
            self.format = format
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case path
            case heldOut = "held_out"
            case name, format
        }

        public init(from decoder: Decoder) throws {
            if let one = try? decoder.singleValueContainer().decode(String.self) {
                self.init(path: one)
                return
            }
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(path: try c.decodeIfPresent(String.self, forKey: .path),
                      heldOut: try c.decodeIfPresent(HeldOutDev.self, forKey: .heldOut),
                      name: try c.decodeIfPresent(String.self, forKey: .name),
                      format: try c.decodeIfPresent(DataFormat.self, forKey: .format))
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeIfPresent(path, forKey: .path)
            try c.encodeIfPresent(heldOut, forKey: .heldOut)
            try c.encodeIfPresent(name, forKey: .name)
            try c.encodeIfPresent(format, forKey: .format)
        }

        /// The readers' format, or nil for detection.
        public var readerFormat: TaskLoRA.DataFormat? {
            guard let format, format != .auto else { return nil }
            return TaskLoRA.DataFormat(rawValue: format.rawValue)
        }

        /// The default name of a file entry: its name without the extension.
        static func fileName(_ path: String) -> String {
            ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        }
    }
}

extension Recipe.Dataset {
    /// Decodes `data.dev`: absent or null → none, a string → one file, a list → its entries.
    static func decodeDev(_ c: KeyedDecodingContainer<CodingKeys>) throws -> [Recipe.DevSource] {
        guard c.has(.dev) else { return [] }
        if let one = try? c.decode(String.self, forKey: .dev) { return [Recipe.DevSource(path: one)] }
        return try c.decode([Recipe.DevSource].self, forKey: .dev)
    }

    /// Whether the held-out part of the training data is split off: `held_out` > 0 and either no
    /// `dev` (the pooled held-out set is then the dev set) or a `dev` entry that names it.
    public var splitsHeldOut: Bool {
        heldOut > 0 && (dev.isEmpty || dev.contains { $0.heldOut != nil })
    }
}
