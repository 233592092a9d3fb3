import Foundation

/// A GNU gettext binary catalog (`.mo`), read with every offset and length checked against the
/// file's size, so a truncated or hostile file is an error naming the file, never a crash.
///
/// Layout (GNU gettext manual, "The Format of GNU MO Files"): seven 32-bit words — magic
/// (0x950412de, or 0xde120495 when the file's byte order is the other one), revision (major in the
/// high 16 bits: 0 or 1), N strings, offset O of the original-strings table, offset T of the
/// translations table, hash-table size and offset (unused here). Each table holds N descriptors
/// (length, offset), the length excluding the terminating NUL. An original may carry a context
/// (`ctxt\u{04}msgid`) and a plural (`singular\0plural`); a translation of a plural entry holds its
/// forms separated by NUL. The entry with the empty msgid is the header (`Content-Type`, …).
public struct GettextCatalog: Sendable {
    public struct Entry: Equatable, Sendable {
        public var context: String?
        public var msgid: String
        public var msgidPlural: String?
        /// One string, or one per plural form.
        public var translations: [String]

        public init(context: String? = nil, msgid: String, msgidPlural: String? = nil, translations: [String]) {
            self.context = context
            self.msgid = msgid
            self.msgidPlural = msgidPlural
            self.translations = translations
        }
    }

    public let path: String
    public let bigEndian: Bool
    public let revision: UInt32
    /// The header entry's text (msgstr of the empty msgid), if present.
    public let header: String?
    /// Entries in file order (sorted by msgid, as msgfmt writes them), header excluded. Entries whose
    /// bytes are not valid UTF-8 are skipped and counted in `skippedNonUTF8`.
    public let entries: [Entry]
    public let skippedNonUTF8: Int

    static let magicLE: UInt32 = 0x9504_12DE
    static let magicSwapped: UInt32 = 0xDE12_0495

    public static func read(path: String) throws -> GettextCatalog {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TaskLoRAError.file(path, "cannot be read")
        }
        return try parse(data, path: path)
    }

    public static func parse(_ data: Data, path: String) throws -> GettextCatalog {
        let bytes = [UInt8](data)
        let size = bytes.count
        func fail(_ problem: String) -> TaskLoRAError { TaskLoRAError.file(path, "not a valid .mo catalog: \(problem)") }
        guard size >= 28 else { throw fail("\(size) bytes, shorter than the 28-byte header") }
        let first = UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
        let bigEndian: Bool
        switch first {
        case magicLE: bigEndian = false
        case magicSwapped: bigEndian = true
        default: throw fail(String(format: "bad magic 0x%08x (expected 0x950412de)", first))
        }
        func word(_ at: Int) -> UInt32 {
            let b0 = UInt32(bytes[at]), b1 = UInt32(bytes[at + 1]), b2 = UInt32(bytes[at + 2]), b3 = UInt32(bytes[at + 3])
            return bigEndian ? (b0 << 24 | b1 << 16 | b2 << 8 | b3) : (b3 << 24 | b2 << 16 | b1 << 8 | b0)
        }
        let revision = word(4)
        guard revision >> 16 <= 1 else { throw fail("unsupported major revision \(revision >> 16)") }
        let n = Int(word(8)), origins = Int(word(12)), translations = Int(word(16))
        // Each table is n descriptors of 8 bytes; both must lie inside the file.
        guard n <= size / 8 else { throw fail("\(n) strings cannot fit in \(size) bytes") }
        for (name, offset) in [("original", origins), ("translation", translations)] {
            guard offset <= size, n * 8 <= size - offset else {
                throw fail("\(name) table (offset \(offset), \(n) entries) runs past the end of the file (\(size) bytes)")
            }
        }
        /// The bytes of string `i` of the table at `table`, checked (length + NUL inside the file).
        func string(_ table: Int, _ i: Int, _ name: String) throws -> ArraySlice<UInt8> {
            let length = Int(word(table + 8 * i)), offset = Int(word(table + 8 * i + 4))
            guard offset <= size, length <= size - offset else {
                throw fail("\(name) string \(i) (offset \(offset), length \(length)) runs past the end of the file (\(size) bytes)")
            }
            return bytes[offset ..< offset + length]
        }
        func split(_ s: ArraySlice<UInt8>, _ separator: UInt8) -> [ArraySlice<UInt8>] {
            s.split(separator: separator, omittingEmptySubsequences: false)
        }
        func utf8(_ s: ArraySlice<UInt8>) -> String? { String(validating: s, as: UTF8.self) }

        var header: String? = nil
        var entries: [Entry] = []
        entries.reserveCapacity(n)
        var skipped = 0
        for i in 0 ..< n {
            let original = try string(origins, i, "original")
            let translated = try string(translations, i, "translation")
            if original.isEmpty {
                header = utf8(translated)
                continue
            }
            var context: String? = nil
            var idBytes = original
            if let eot = original.firstIndex(of: 0x04) {
                guard let c = utf8(original[original.startIndex ..< eot]) else { skipped += 1; continue }
                context = c
                idBytes = original[(eot + 1)...]
            }
            let idParts = split(idBytes, 0)
            let forms = split(translated, 0).map(utf8)
            guard let msgid = utf8(idParts[0]), !forms.contains(where: { $0 == nil }) else { skipped += 1; continue }
            let plural = idParts.count > 1 ? utf8(idParts[1]) : nil
            entries.append(Entry(context: context, msgid: msgid, msgidPlural: plural, translations: forms.map { $0! }))
        }
        return GettextCatalog(path: path, bigEndian: bigEndian, revision: revision, header: header,
                              entries: entries, skippedNonUTF8: skipped)
    }

    /// Serializes entries as a `.mo` file (no hash table): for tests and fixtures.
    public static func encode(entries: [Entry], header: String? = "Content-Type: text/plain; charset=UTF-8\n",
                              bigEndian: Bool = false, revision: UInt32 = 0) -> Data {
        var pairs: [([UInt8], [UInt8])] = []
        if let header { pairs.append(([], Array(header.utf8))) }
        for e in entries {
            var id = [UInt8]()
            if let c = e.context { id += Array(c.utf8) + [0x04] }
            id += Array(e.msgid.utf8)
            if let p = e.msgidPlural { id += [0] + Array(p.utf8) }
            let str = e.translations.map { Array($0.utf8) }.joined(separator: [0]).map { $0 }
            pairs.append((id, Array(str)))
        }
        pairs.sort { $0.0.lexicographicallyPrecedes($1.0) }
        let n = pairs.count
        let origins = 28, translations = 28 + 8 * n
        var strings = [UInt8]()
        var originTable = [(Int, Int)](), translationTable = [(Int, Int)]()
        let stringsStart = 28 + 16 * n
        for (id, _) in pairs { originTable.append((id.count, stringsStart + strings.count)); strings += id + [0] }
        for (_, str) in pairs { translationTable.append((str.count, stringsStart + strings.count)); strings += str + [0] }
        var out = [UInt8]()
        func put(_ v: Int) {
            let u = UInt32(truncatingIfNeeded: v)
            let le = [UInt8(u & 0xFF), UInt8(u >> 8 & 0xFF), UInt8(u >> 16 & 0xFF), UInt8(u >> 24)]
            out += bigEndian ? le.reversed() : le
        }
        put(Int(magicLE)); put(Int(revision)); put(n); put(origins); put(translations); put(0); put(stringsStart)
        for (l, o) in originTable { put(l); put(o) }
        for (l, o) in translationTable { put(l); put(o) }
        out += strings
        return Data(out)
    }
}

/// One English → other-language pair drawn from a catalog.
public struct GettextPair: Equatable, Sendable {
    public let english: String
    public let translation: String
    /// The catalog's file name (e.g. `coreutils.mo`).
    public let catalog: String
}

/// Turns the translation catalogs of a locale folder (`/usr/share/locale/<lang>/LC_MESSAGES/*.mo`)
/// into a parallel corpus English → language, cleaned and de-duplicated, in a deterministic order.
public enum GettextCorpus {
    public struct Filter: Sendable {
        /// Minimum number of whitespace-separated words of the English side.
        public var minWords = 3
        /// Maximum characters of either side (after cleaning).
        public var maxCharacters = 160
        public init(minWords: Int = 3, maxCharacters: Int = 160) {
            self.minWords = minWords
            self.maxCharacters = maxCharacters
        }
    }

    /// Removes UI markup: tags (`<b>`), the common entities, mnemonic accelerators (`_File`, `&File`,
    /// `ファイル(_F)`), and collapses whitespace. Format specifiers (`%s`, `{0}`) stay.
    public static func clean(_ text: String) -> String {
        var s = text
        if s.contains("<") {
            s = s.replacingOccurrences(of: "<[^<>]{1,40}>", with: "", options: .regularExpression)
        }
        // Mnemonics in parentheses, as CJK translations write them: "(_F)", "(&F)".
        if s.contains("(_") || s.contains("(&") {
            s = s.replacingOccurrences(of: "\\([_&][A-Za-z0-9]\\)", with: "", options: .regularExpression)
        }
        var out = ""
        out.reserveCapacity(s.count)
        let chars = Array(s)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "&", i + 1 < chars.count {
                // Entities first, then "&&" (a literal & in Qt), then an accelerator "&F".
                let rest = String(chars[(i + 1)...].prefix(6))
                var matched = false
                for (entity, value) in [("amp;", "&"), ("lt;", "<"), ("gt;", ">"), ("quot;", "\""), ("apos;", "'")] where rest.hasPrefix(entity) {
                    out.append(value); i += 1 + entity.count; matched = true; break
                }
                if matched { continue }
                if chars[i + 1] == "&" { out.append("&"); i += 2; continue }
                if chars[i + 1].isLetter || chars[i + 1].isNumber { i += 1; continue }
            }
            if c == "_", i + 1 < chars.count, chars[i + 1].isLetter || chars[i + 1].isNumber,
               i == 0 || !(chars[i - 1] == "_") {
                i += 1
                continue
            }
            out.append(c)
            i += 1
        }
        return out.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }

    /// The usable pairs of one catalog: singular msgid → first translation form, both cleaned;
    /// untranslated, identical, too short or too long pairs dropped.
    public static func pairs(of catalog: GettextCatalog, filter: Filter = Filter()) -> [GettextPair] {
        let name = (catalog.path as NSString).lastPathComponent
        var result: [GettextPair] = []
        for e in catalog.entries {
            guard let first = e.translations.first, !first.isEmpty else { continue }
            let en = clean(e.msgid), xx = clean(first)
            guard !en.isEmpty, !xx.isEmpty,
                  en.count <= filter.maxCharacters, xx.count <= filter.maxCharacters,
                  en.split(separator: " ").count >= filter.minWords,
                  en.lowercased() != xx.lowercased(),
                  en.contains(where: { $0.isLetter }), xx.contains(where: { $0.isLetter })
            else { continue }
            result.append(GettextPair(english: en, translation: xx, catalog: name))
        }
        return result
    }

    /// The catalogs of one language, sorted by file name.
    public static func catalogPaths(localeDir: String, language: String) -> [String] {
        let dir = ((localeDir as NSString).appendingPathComponent(language) as NSString).appendingPathComponent("LC_MESSAGES")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { $0.hasSuffix(".mo") }.sorted().map { (dir as NSString).appendingPathComponent($0) }
    }

    /// All pairs of one language, de-duplicated by English text and by translation (the first
    /// catalog in file-name order wins), in catalog order. Unreadable catalogs are skipped and
    /// reported through `warnings` (one line each, naming the file).
    public static func gather(localeDir: String, language: String, filter: Filter = Filter(),
                              warnings: inout [String]) -> (pairs: [GettextPair], catalogs: Int) {
        let paths = catalogPaths(localeDir: localeDir, language: language)
        var seenEnglish = Set<String>(), seenTranslation = Set<String>()
        var out: [GettextPair] = []
        var read = 0
        for path in paths {
            let catalog: GettextCatalog
            do { catalog = try GettextCatalog.read(path: path) } catch {
                warnings.append("\(error)")
                continue
            }
            read += 1
            for p in pairs(of: catalog, filter: filter) {
                guard !seenEnglish.contains(p.english), !seenTranslation.contains(p.translation) else { continue }
                seenEnglish.insert(p.english)
                seenTranslation.insert(p.translation)
                out.append(p)
            }
        }
        return (out, read)
    }

    /// Held-out split by the English text's seeded hash: the same English sentence is held out in
    /// every language, so no held-out source sentence is ever trained on.
    public static func isHeldOut(_ english: String, fraction: Double, seed: UInt64) -> Bool {
        guard fraction > 0 else { return false }
        let h = StableHash.hash(english, seed: seed)
        return Double(h >> 11) / Double(1 << 53) < fraction
    }

    /// A seeded, deterministic shuffle (for sub-sampling and training order).
    public static func shuffled<T>(_ items: [T], seed: UInt64) -> [T] {
        var a = items
        var rng = SplitMix64(seed: seed)
        SeededShuffle.shuffle(&a, &rng)
        return a
    }
}
