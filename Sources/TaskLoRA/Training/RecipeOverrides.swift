import Foundation
import Yams

/// One `--set key.path=value` override, applied to the YAML tree before decoding so it goes
/// through exactly the same checks as the file (unknown keys, types, ranges).
///
/// The path is dot-separated; a number selects a list entry (`adapters.0.rank`). The value is
/// parsed as YAML, so `1e-4` is a number, `true` a boolean, `[32, 64]` a list and `null`
/// restores the default; quote it (`'data.dev="a: b.csv"'`) to force a string.
struct RecipeOverride {
    /// The override as given.
    let text: String
    /// "optimizer.lr".
    let key: String
    let path: [String]
    let value: Node

    init(_ text: String, source: String) throws {
        self.text = text
        guard let eq = text.firstIndex(of: "=") else {
            throw TaskLoRAError.file(source, "--set \(text): expected key.path=value")
        }
        key = String(text[..<eq]).trimmingCharacters(in: .whitespaces)
        path = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !key.isEmpty, !path.contains(where: \.isEmpty) else {
            throw TaskLoRAError.file(source, "--set \(text): \"\(key)\" is not a key path like optimizer.lr")
        }
        let raw = String(text[text.index(after: eq)...])
        do {
            value = try Yams.compose(yaml: raw) ?? Node("null", Tag(.null))
        } catch {
            throw TaskLoRAError.file(source, "--set \(text): value is not valid YAML: \(yamlErrorSummary(error))")
        }
    }

    /// Sets the value, creating intermediate maps that the file leaves out.
    func apply(to tree: inout Node) throws {
        tree = try set(in: tree, at: path[...], walked: [])
    }

    private func set(in node: Node, at rest: ArraySlice<String>, walked: [String]) throws -> Node {
        guard let head = rest.first else { return value }
        let here = walked.isEmpty ? "the recipe" : "\"\(walked.joined(separator: "."))\""
        switch node {
        case .sequence(var seq):
            guard let i = Int(head) else {
                throw RecipeIssue(key, "\(here) is a list; select an entry by number, e.g. \((walked + ["0"] + rest).joined(separator: "."))")
            }
            guard seq.indices.contains(i) else {
                throw RecipeIssue(key, "\(here) has \(seq.count) entries; no entry \(i)")
            }
            seq[i] = try set(in: seq[i], at: rest.dropFirst(), walked: walked + [head])
            return .sequence(seq)
        case .mapping(var map):
            let child = map[head] ?? Node.mapping(Node.Mapping([]))
            map[head] = try set(in: child, at: rest.dropFirst(), walked: walked + [head])
            return .mapping(map)
        case .scalar where node.null != nil:
            // A null section (e.g. `matryoshka: null`) becomes a map.
            return try set(in: .mapping(Node.Mapping([])), at: rest, walked: walked)
        default:
            throw RecipeIssue(key, "\(here) is a single value, not a map; cannot set \"\(key)\"")
        }
    }
}
