import Foundation
import Yams

extension Recipe {
    /// The fully resolved recipe (every key, defaults filled in) as YAML; stored in every
    /// checkpoint. `Recipe.parse(yaml:source:)` reads it back to an equal recipe.
    ///
    /// Written through our own encoder rather than `YAMLEncoder`: Yams writes 0.9 as `9e-1` and
    /// keeps only 15 significant digits when `%.17g` has no exponent; here every number is
    /// Swift's shortest round-trip form (0.9, 0.0005, 1e-08) and short lists are on one line.
    public func resolvedYAML() -> String {
        let encoder = RecipeNodeEncoder(codingPath: [])
        do {
            try encode(to: encoder)
            return try Yams.serialize(node: encoder.node, width: -1, allowUnicode: true)
        } catch {
            // Encoding plain values into a tree cannot fail; reaching here is a bug in this file.
            preconditionFailure("recipe encoding failed: \(error)")
        }
    }
}

/// A double in the shortest form that round-trips exactly (Swift's `description`), with a "."
/// before any exponent (1e-08 → 1.0e-08) so YAML 1.1 readers such as PyYAML see a float too.
func recipeNumber(_ x: Double) -> Node {
    if x.isNaN { return Node(".nan", Tag(.float)) }
    if x.isInfinite { return Node(x > 0 ? ".inf" : "-.inf", Tag(.float)) }
    var text = x.description
    if !text.contains("."), let e = text.firstIndex(of: "e") { text.insert(contentsOf: ".0", at: e) }
    return Node(text, Tag(.float))
}

/// Encodes any `Encodable` into a Yams node tree, keeping key order.
final class RecipeNodeEncoder: Encoder {
    let codingPath: [CodingKey]
    let userInfo: [CodingUserInfoKey: Any] = [:]
    private var scalar: Node?
    private var pairs: [(String, RecipeNodeEncoder)]?
    private var items: [RecipeNodeEncoder]?

    init(codingPath: [CodingKey]) { self.codingPath = codingPath }

    var node: Node {
        if let pairs {
            return Node(pairs.map { (Node($0.0), $0.1.node) })
        }
        if let items {
            let nodes = items.map(\.node)
            // Short lists of plain values (dims, betas, targets) fit on one line; long ones
            // (file lists) read better one entry a line.
            let scalars = nodes.compactMap(\.scalar)
            let flow = scalars.count == nodes.count && scalars.reduce(0) { $0 + $1.string.count + 2 } <= 90
            return .sequence(Node.Sequence(nodes, Tag(.seq), flow ? .flow : .any))
        }
        return scalar ?? Node("null", Tag(.null))
    }

    func child(_ key: CodingKey) -> RecipeNodeEncoder {
        let c = RecipeNodeEncoder(codingPath: codingPath + [key])
        pairs = (pairs ?? []) + [(key.stringValue, c)]
        return c
    }

    func element() -> RecipeNodeEncoder {
        let c = RecipeNodeEncoder(codingPath: codingPath + [RecipeKey(intValue: items?.count ?? 0)])
        items = (items ?? []) + [c]
        return c
    }

    func put<T: Encodable>(_ value: T) throws {
        switch value {
        case let s as String: scalar = .scalar(s.represented())
        case let b as Bool: scalar = Node(b ? "true" : "false", Tag(.bool))
        case let i as Int: scalar = Node(String(i), Tag(.int))
        case let d as Double: scalar = recipeNumber(d)
        case let f as Float: scalar = recipeNumber(Double(f.description)!)
        default: try value.encode(to: self)
        }
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if pairs == nil { pairs = [] }
        return KeyedEncodingContainer(Keyed<Key>(encoder: self))
    }

    func unkeyedContainer() -> UnkeyedEncodingContainer {
        if items == nil { items = [] }
        return Unkeyed(encoder: self)
    }

    func singleValueContainer() -> SingleValueEncodingContainer { Single(encoder: self) }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let encoder: RecipeNodeEncoder
        var codingPath: [CodingKey] { encoder.codingPath }
        mutating func encodeNil(forKey key: Key) throws { _ = encoder.child(key) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try encoder.child(key).put(value) }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type,
                                                            forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            encoder.child(key).container(keyedBy: keyType)
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
            encoder.child(key).unkeyedContainer()
        }
        mutating func superEncoder() -> Encoder { encoder.child(RecipeKey(stringValue: "super")) }
        mutating func superEncoder(forKey key: Key) -> Encoder { encoder.child(key) }
    }

    struct Unkeyed: UnkeyedEncodingContainer {
        let encoder: RecipeNodeEncoder
        var codingPath: [CodingKey] { encoder.codingPath }
        var count: Int { encoder.items?.count ?? 0 }
        mutating func encodeNil() throws { _ = encoder.element() }
        mutating func encode<T: Encodable>(_ value: T) throws { try encoder.element().put(value) }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            encoder.element().container(keyedBy: keyType)
        }
        mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer { encoder.element().unkeyedContainer() }
        mutating func superEncoder() -> Encoder { encoder.element() }
    }

    struct Single: SingleValueEncodingContainer {
        let encoder: RecipeNodeEncoder
        var codingPath: [CodingKey] { encoder.codingPath }
        mutating func encodeNil() throws { encoder.scalar = nil }
        mutating func encode<T: Encodable>(_ value: T) throws { try encoder.put(value) }
    }
}
