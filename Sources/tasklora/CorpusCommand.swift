import ArgumentParser
import Foundation
import TaskLoRA

struct CorpusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "corpus",
        abstract: "Build training and evaluation data from sources a fresh machine already has.",
        subcommands: [GettextCorpusCommand.self, SQuADCorpusCommand.self])
}

struct GettextCorpusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gettext",
        abstract: "A parallel corpus English → other languages from the system's gettext translation catalogs (.mo).",
        discussion: """
            Reads LOCALE_DIR/<lang>/LC_MESSAGES/*.mo for each language, cleans the pairs (markup, \
            accelerators, whitespace; drops untranslated, identical, too short or too long ones), \
            de-duplicates them per language, and holds out a fraction of English sentences (by a \
            seeded hash, the same in every language). Writes OUT/train.jsonl ({"anchor": English, \
            "positive": translation}), OUT/heldout.<lang>.en.txt and OUT/heldout.<lang>.<lang>.txt \
            (parallel files for `tasklora eval --bitext`) and OUT/corpus.json (counts).
            """)

    @Option(name: .long, help: "Folder of locales.")
    var localeDir = "/usr/share/locale"

    @Option(name: .long, help: "Languages (locale folder names), comma-separated.")
    var languages = "de,fr,es,it,pt_BR,ru,zh_CN,ja"

    @Option(name: .long, help: "Output folder.")
    var out: String

    @Option(name: .long, help: "Fraction of English sentences held out for evaluation.")
    var heldOut = 0.1

    @Option(name: .long, help: "Training pairs in all (split evenly over the languages; each English sentence in one language only); 0 = all.")
    var maxPairs = 0

    @Option(name: .long, help: "Held-out pairs kept per language (a seeded sample); 0 = all.")
    var heldOutMax = 500

    @Option(name: .long, help: "Minimum words of the English side.")
    var minWords = 3

    @Option(name: .long, help: "Maximum characters of either side.")
    var maxChars = 160

    @Option(name: .long, help: "Seed of the held-out split and the sampling.")
    var seed: UInt64 = 42

    var languageList: [String] {
        languages.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func validate() throws {
        guard !languageList.isEmpty else { throw ValidationError("--languages is empty") }
        guard Set(languageList).count == languageList.count else { throw ValidationError("--languages has a language twice") }
        for l in languageList where l.contains("/") || l.hasPrefix(".") {
            throw ValidationError("--languages: \"\(l)\" is not a locale name")
        }
        guard (0.0 ..< 1.0).contains(heldOut) else { throw ValidationError("--held-out must be in [0, 1)") }
        guard maxPairs >= 0, heldOutMax >= 0 else { throw ValidationError("--max-pairs and --held-out-max must be >= 0") }
        guard minWords >= 1, maxChars >= 1 else { throw ValidationError("--min-words and --max-chars must be >= 1") }
    }

    func run() throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: localeDir, isDirectory: &isDir), isDir.boolValue else {
            throw TaskLoRAError.file(localeDir, "is not a folder")
        }
        let started = Date()
        let filter = GettextCorpus.Filter(minWords: minWords, maxCharacters: maxChars)
        let perLanguageCap = maxPairs > 0 ? max(1, maxPairs / languageList.count) : Int.max
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)

        struct Row { var language: String; var catalogs: Int; var pairs: Int; var train: Int; var heldOut: Int }
        var rows: [Row] = []
        var trainByLanguage: [[GettextPair]] = []
        var warnings: [String] = []
        var trainedEnglish = Set<String>()
        for (li, language) in languageList.enumerated() {
            let (pairs, catalogs) = GettextCorpus.gather(localeDir: localeDir, language: language, filter: filter, warnings: &warnings)
            if catalogs == 0 { warn("\(localeDir)/\(language)/LC_MESSAGES: no readable .mo catalogs") }
            var train: [GettextPair] = [], held: [GettextPair] = []
            for p in pairs {
                if GettextCorpus.isHeldOut(p.english, fraction: heldOut, seed: seed) { held.append(p) } else { train.append(p) }
            }
            let languageSeed = seed &+ UInt64(li + 1) &* 0x9E37_79B9
            // Each English sentence is trained in one language only: the same anchor twice in a
            // batch (e.g. its de and fr translations) would be a false in-batch negative.
            var kept: [GettextPair] = []
            for p in GettextCorpus.shuffled(train, seed: languageSeed) where kept.count < perLanguageCap {
                if trainedEnglish.insert(p.english).inserted { kept.append(p) }
            }
            train = kept
            held = Array(GettextCorpus.shuffled(held, seed: languageSeed ^ 0xABCD).prefix(heldOutMax > 0 ? heldOutMax : Int.max))
            trainByLanguage.append(train)
            rows.append(Row(language: language, catalogs: catalogs, pairs: pairs.count, train: train.count, heldOut: held.count))
            if !held.isEmpty {
                let base = (out as NSString).appendingPathComponent("heldout.\(language)")
                try OutputFile.write(Data((held.map(\.english).joined(separator: "\n") + "\n").utf8), to: base + ".en.txt")
                try OutputFile.write(Data((held.map(\.translation).joined(separator: "\n") + "\n").utf8), to: base + ".\(language).txt")
            }
        }
        for w in warnings.prefix(20) { warn(w) }
        if warnings.count > 20 { warn("… and \(warnings.count - 20) more unreadable catalogs") }

        // Languages interleaved round-robin, so any prefix of the file is balanced.
        var lines: [String] = []
        let longest = trainByLanguage.map(\.count).max() ?? 0
        for i in 0 ..< longest {
            for (li, train) in trainByLanguage.enumerated() where i < train.count {
                let object: [String: String] = ["anchor": train[i].english, "positive": train[i].translation,
                                                "language": languageList[li]]
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
                lines.append(String(decoding: data, as: UTF8.self))
            }
        }
        guard !lines.isEmpty else {
            throw TaskLoRAError.file(localeDir, "gave no usable pairs for \(languageList.joined(separator: ","))")
        }
        let trainPath = (out as NSString).appendingPathComponent("train.jsonl")
        try OutputFile.write(Data((lines.joined(separator: "\n") + "\n").utf8), to: trainPath)

        let summary: [String: Any] = [
            "locale_dir": localeDir, "seed": seed, "held_out": heldOut, "max_pairs": maxPairs,
            "held_out_max": heldOutMax, "min_words": minWords, "max_chars": maxChars,
            "train_pairs": lines.count,
            "languages": rows.map { ["language": $0.language, "catalogs": $0.catalogs, "pairs": $0.pairs,
                                     "train": $0.train, "held_out": $0.heldOut] as [String: Any] },
        ]
        let json = try JSONSerialization.data(withJSONObject: summary, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try OutputFile.write(json, to: (out as NSString).appendingPathComponent("corpus.json"))

        print("language  catalogs   pairs   train  held-out")
        for r in rows {
            let name = r.language.padding(toLength: max(8, r.language.count), withPad: " ", startingAt: 0)
            print(name + String(format: "  %8d  %6d  %6d  %8d", r.catalogs, r.pairs, r.train, r.heldOut))
        }
        print(String(format: "train: %@ (%d pairs); held-out: %@/heldout.<lang>.{en,<lang>}.txt; %.1f s",
                     trainPath, lines.count, out, Date().timeIntervalSince(started)))
    }
}
