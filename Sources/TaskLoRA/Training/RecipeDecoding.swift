import Foundation

/// A problem found in a recipe, located by its key path ("optimizer.lr", "adapters.0.rank").
/// `Recipe.parse` turns it into a `TaskLoRAError` naming the file (and the `--set` that caused it).
struct RecipeIssue: Error {
    var key: String
    var message: String
    init(_ key: String, _ message: String) {
        self.key = key
        self.message = message
    }
}

/// Any mapping key, for listing the keys a recipe section actually holds.
struct RecipeKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init(intValue: Int) {
        stringValue = String(intValue)
        self.intValue = intValue
    }
}

/// "adapters.0.rank": list indices as plain numbers (Yams names them "Index 0").
func recipeKeyPath(_ path: [CodingKey]) -> String {
    path.map { key in key.intValue.map(String.init) ?? key.stringValue }.joined(separator: ".")
}

/// A recipe value restricted to a few words (loss type, data format, ...).
public protocol RecipeChoice: RawRepresentable, CaseIterable, Codable where RawValue == String {}

extension RecipeChoice {
    public init(from decoder: Decoder) throws {
        let word = try decoder.singleValueContainer().decode(String.self)
        guard let value = Self(rawValue: word) else {
            let choices = Self.allCases.map(\.rawValue).joined(separator: ", ")
            let path = recipeKeyPath(decoder.codingPath)
            throw RecipeIssue(path, "\(path) must be one of \(choices); got \"\(word)\"")
        }
        self = value
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}

extension Decoder {
    /// Rejects keys the section does not define: a misspelt key silently falling back to its
    /// default is the worst kind of recipe bug.
    func rejectUnknownKeys<Keys: CodingKey & CaseIterable>(_: Keys.Type) throws {
        let known = Keys.allCases.map(\.stringValue)
        for key in try container(keyedBy: RecipeKey.self).allKeys where !known.contains(key.stringValue) {
            let path = recipeKeyPath(codingPath + [key])
            let close = known.filter { editDistance($0, key.stringValue) <= 2 }
            let hint = close.isEmpty
                ? " (known keys here: \(known.joined(separator: ", ")))"
                : " (did you mean \"\(close[0])\"?)"
            throw RecipeIssue(path, "unknown key \"\(path)\"\(hint)")
        }
    }
}

extension KeyedDecodingContainer {
    /// The value, or `fallback` when the key is absent or null.
    func value<T: Decodable>(_ key: Key, or fallback: @autoclosure () -> T) throws -> T {
        try decodeIfPresent(T.self, forKey: key) ?? fallback()
    }

    /// True when the key is present with a non-null value.
    func has(_ key: Key) -> Bool {
        contains(key) && ((try? decodeNil(forKey: key)) == false)
    }
}

/// Levenshtein distance, for "did you mean" hints on short key names.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
    var row = Array(0...b.count)
    for i in 1...a.count {
        var diagonal = row[0]
        row[0] = i
        for j in 1...b.count {
            let above = row[j]
            row[j] = min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1))
            diagonal = above
        }
    }
    return row[b.count]
}
