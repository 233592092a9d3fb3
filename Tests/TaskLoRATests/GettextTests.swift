import Foundation
import XCTest
@testable import TaskLoRA

final class GettextTests: XCTestCase {
    private typealias Entry = GettextCatalog.Entry

    private let sample: [Entry] = [
        Entry(msgid: "Open the selected file", translations: ["Die ausgewählte Datei öffnen"]),
        Entry(context: "menu", msgid: "_Save the document", translations: ["Dokument _speichern"]),
        Entry(msgid: "%d file was copied", msgidPlural: "%d files were copied",
              translations: ["%d Datei wurde kopiert", "%d Dateien wurden kopiert"]),
        Entry(msgid: "Untranslated message here", translations: [""]),
    ]

    private func put(_ value: UInt32, at offset: Int, in data: inout Data, bigEndian: Bool = false) {
        let v = bigEndian ? value.bigEndian : value.littleEndian
        withUnsafeBytes(of: v) { data.replaceSubrange(offset ..< offset + 4, with: $0) }
    }

    func testRoundTripBothByteOrders() throws {
        for bigEndian in [false, true] {
            let data = GettextCatalog.encode(entries: sample, bigEndian: bigEndian, revision: 0)
            XCTAssertEqual(data.prefix(4).map { $0 }, bigEndian ? [0x95, 0x04, 0x12, 0xDE] : [0xDE, 0x12, 0x04, 0x95])
            let catalog = try GettextCatalog.parse(data, path: "t.mo")
            XCTAssertEqual(catalog.bigEndian, bigEndian)
            XCTAssertEqual(catalog.header, "Content-Type: text/plain; charset=UTF-8\n")
            XCTAssertEqual(catalog.entries.count, 4, "the header entry is not an entry")
            XCTAssertEqual(Set(catalog.entries.map(\.msgid)), Set(sample.map(\.msgid)))
            let save = try XCTUnwrap(catalog.entries.first { $0.msgid == "_Save the document" })
            XCTAssertEqual(save.context, "menu")
            XCTAssertEqual(save.translations, ["Dokument _speichern"])
            let plural = try XCTUnwrap(catalog.entries.first { $0.msgidPlural != nil })
            XCTAssertEqual(plural.msgid, "%d file was copied")
            XCTAssertEqual(plural.msgidPlural, "%d files were copied")
            XCTAssertEqual(plural.translations, ["%d Datei wurde kopiert", "%d Dateien wurden kopiert"])
        }
    }

    func testPairsAreCleanedAndFiltered() throws {
        let catalog = try GettextCatalog.parse(GettextCatalog.encode(entries: sample + [
            Entry(msgid: "Too short", translations: ["Zu kurz"]),
            Entry(msgid: "Same in both languages", translations: ["Same in both languages"]),
            Entry(msgid: "<b>Bold</b> &amp; &File  name here", translations: ["<b>Fett</b> &amp; &Dateiname hier"]),
            Entry(msgid: "Open the _File menu", translations: ["ファイルメニューを開く(_F)"]),
        ]), path: "/x/de/LC_MESSAGES/app.mo")
        let pairs = GettextCorpus.pairs(of: catalog)
        let byEnglish = Dictionary(uniqueKeysWithValues: pairs.map { ($0.english, $0.translation) })
        XCTAssertEqual(byEnglish["Save the document"], "Dokument speichern")
        XCTAssertEqual(byEnglish["%d file was copied"], "%d Datei wurde kopiert", "plural: first form, format kept")
        XCTAssertEqual(byEnglish["Bold & File name here"], "Fett & Dateiname hier")
        XCTAssertEqual(byEnglish["Open the File menu"], "ファイルメニューを開く")
        XCTAssertNil(byEnglish["Untranslated message here"])
        XCTAssertNil(byEnglish["Too short"])
        XCTAssertNil(byEnglish["Same in both languages"])
        XCTAssertEqual(pairs.first?.catalog, "app.mo")
    }

    func testHostileFilesGiveClearErrors() {
        let good = GettextCatalog.encode(entries: sample)
        XCTAssertTrue(message { try GettextCatalog.parse(Data([1, 2, 3]), path: "tiny.mo") }.contains("tiny.mo: not a valid .mo catalog: 3 bytes"))
        var bad = good
        put(0x1234_5678, at: 0, in: &bad)
        XCTAssertTrue(message { try GettextCatalog.parse(bad, path: "m.mo") }.contains("bad magic"))
        bad = good
        put(7 << 16, at: 4, in: &bad)
        XCTAssertTrue(message { try GettextCatalog.parse(bad, path: "r.mo") }.contains("major revision 7"))
        bad = good
        put(0xFFFF_FFF0, at: 8, in: &bad)    // absurd count
        XCTAssertTrue(message { try GettextCatalog.parse(bad, path: "n.mo") }.contains("cannot fit"))
        bad = good
        put(UInt32(good.count - 4), at: 12, in: &bad)    // original table past the end
        XCTAssertTrue(message { try GettextCatalog.parse(bad, path: "o.mo") }.contains("original table"))
        bad = good
        put(0xFFFF_FF00, at: 16, in: &bad)   // translation table far past the end
        XCTAssertTrue(message { try GettextCatalog.parse(bad, path: "t.mo") }.contains("translation table"))
        bad = good
        put(0x7FFF_FFFF, at: 28 + 8 + 4, in: &bad)   // string offset past the end
        XCTAssertTrue(message { try GettextCatalog.parse(bad, path: "s.mo") }.contains("runs past the end"))
        bad = good
        put(0xFFFF_FFFF, at: 28 + 8, in: &bad)   // string length past the end
        XCTAssertTrue(message { try GettextCatalog.parse(bad, path: "l.mo") }.hasPrefix("l.mo: "))
        // Truncated anywhere: an error naming the file, never a crash.
        for cut in Swift.stride(from: 0, to: good.count - 1, by: 7) {
            let m = message { try GettextCatalog.parse(good.prefix(cut), path: "cut.mo") }
            XCTAssertTrue(m.hasPrefix("cut.mo: not a valid .mo catalog"), "cut at \(cut): \(m)")
        }
    }

    func testHeldOutSplitIsStableAndNearFraction() {
        let texts = (0 ..< 4000).map { "sentence number \($0) of the test" }
        let held = texts.filter { GettextCorpus.isHeldOut($0, fraction: 0.1, seed: 42) }
        XCTAssertEqual(held, texts.filter { GettextCorpus.isHeldOut($0, fraction: 0.1, seed: 42) })
        XCTAssertEqual(Double(held.count) / 4000, 0.1, accuracy: 0.02)
        XCTAssertTrue(texts.allSatisfy { !GettextCorpus.isHeldOut($0, fraction: 0, seed: 42) })
    }

    func testGatherDeduplicatesInFileOrder() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("gettext-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let dir = root + "/de/LC_MESSAGES"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try GettextCatalog.encode(entries: [Entry(msgid: "Open the selected file", translations: ["A öffnen jetzt"])]).write(to: URL(fileURLWithPath: dir + "/a.mo"))
        try GettextCatalog.encode(entries: sample).write(to: URL(fileURLWithPath: dir + "/b.mo"))
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: dir + "/c.mo"))
        var warnings: [String] = []
        let (pairs, catalogs) = GettextCorpus.gather(localeDir: root, language: "de", warnings: &warnings)
        XCTAssertEqual(catalogs, 2)
        XCTAssertEqual(warnings.count, 1)
        XCTAssertTrue(warnings[0].contains("c.mo"))
        XCTAssertEqual(pairs.first { $0.english == "Open the selected file" }?.translation, "A öffnen jetzt")
        XCTAssertEqual(pairs.count, 3)
    }

    func testRealGermanLocale() throws {
        let paths = GettextCorpus.catalogPaths(localeDir: "/usr/share/locale", language: "de")
        try XCTSkipIf(paths.isEmpty, "no /usr/share/locale/de catalogs on this machine")
        var entries = 0
        for path in paths {
            entries += try GettextCatalog.read(path: path).entries.count
        }
        XCTAssertGreaterThan(entries, 100)
        var warnings: [String] = []
        let (pairs, _) = GettextCorpus.gather(localeDir: "/usr/share/locale", language: "de", warnings: &warnings)
        XCTAssertTrue(warnings.isEmpty, warnings.joined(separator: "\n"))
        XCTAssertGreaterThan(pairs.count, 10)
        XCTAssertEqual(Set(pairs.map(\.english)).count, pairs.count)
    }
}
