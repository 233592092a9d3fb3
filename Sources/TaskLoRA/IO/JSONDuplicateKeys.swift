import Foundation

/// JSONSerialization keeps only the last of two equal keys, so a hostile header could hide a
/// tensor entry. This scan finds the first repeated key in any object of an already-valid JSON text.
enum JSONDuplicateKeys {
    /// The first duplicate as (key, nesting depth; 1 = top-level object), or nil when there is none.
    /// `json` must already have been accepted by JSONSerialization.
    static func first(in json: UnsafeRawBufferPointer) -> (key: String, depth: Int)? {
        struct Level { var isObject: Bool; var expectKey: Bool; var keys: Set<String> }
        var stack: [Level] = []
        var i = 0
        let n = json.count
        while i < n {
            switch json[i] {
            case UInt8(ascii: "{"): stack.append(Level(isObject: true, expectKey: true, keys: []))
            case UInt8(ascii: "["): stack.append(Level(isObject: false, expectKey: false, keys: []))
            case UInt8(ascii: "}"), UInt8(ascii: "]"): _ = stack.popLast()
            case UInt8(ascii: ","): if !stack.isEmpty, stack[stack.count - 1].isObject { stack[stack.count - 1].expectKey = true }
            case UInt8(ascii: ":"): if !stack.isEmpty { stack[stack.count - 1].expectKey = false }
            case UInt8(ascii: "\""):
                let start = i + 1
                var j = start
                var escaped = false
                while j < n, json[j] != UInt8(ascii: "\"") {
                    if json[j] == UInt8(ascii: "\\") { escaped = true; j += 1 }
                    j += 1
                }
                if let top = stack.last, top.isObject, top.expectKey, j <= n {
                    let key = decode(UnsafeRawBufferPointer(rebasing: json[start..<min(j, n)]), escaped: escaped)
                    if !stack[stack.count - 1].keys.insert(key).inserted { return (key, stack.count) }
                }
                i = j
            default: break
            }
            i += 1
        }
        return nil
    }

    /// A key's text; escapes (rare in tensor names) go through JSONSerialization so "\u0061" == "a".
    private static func decode(_ raw: UnsafeRawBufferPointer, escaped: Bool) -> String {
        guard escaped else { return String(decoding: raw, as: UTF8.self) }
        var quoted = Data([UInt8(ascii: "\"")])
        quoted.append(contentsOf: raw)
        quoted.append(UInt8(ascii: "\""))
        return (try? JSONSerialization.jsonObject(with: quoted, options: .fragmentsAllowed) as? String)
            ?? String(decoding: raw, as: UTF8.self)
    }
}
