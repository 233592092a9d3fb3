import ArgumentParser
import Foundation
import TaskLoRA

/// `tasklora corpus squad`: a SQuAD-format set split as a retrieval recipe splits it, written as files.
struct SQuADCorpusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "squad",
        abstract: "Question → paragraph pairs and a held-out dev file from SQuAD-format JSON (SQuAD, XQuAD), split as a recipe splits them.",
        discussion: """
            Holds out whole paragraphs (with their questions) exactly as a recipe with `format: squad`, \
            the same `held_out` and `seed` does, and writes OUT/train.<name>.jsonl per input file \
            ({"anchor": question, "positive": paragraph}, with "negatives" when --hard-negatives > 0: \
            other paragraphs of the same article), OUT/dev.json (every file's held-out paragraphs as one \
            SQuAD file, a recipe's `data.dev`) and OUT/corpus.json (counts). The pairs are what \
            `tasklora mine` reads; a recipe on the mined files evaluates on the same held-out paragraphs.
            """)

    @Argument(help: "SQuAD-format JSON files.")
    var files: [String]

    @Option(name: .long, help: "Output folder.")
    var out: String

    @Option(name: .long, help: "Fraction of paragraphs held out (a recipe's data.held_out).")
    var heldOut = 0.2

    @Option(name: .long, help: "Seed of the split and of the sibling negatives (a recipe's seed).")
    var seed: UInt64 = 42

    @Option(name: .long, help: "Other paragraphs of the same article per question (a recipe's loss.hard_negatives with format squad).")
    var hardNegatives = 0

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("name at least one SQuAD-format file") }
        guard (0.0 ..< 1.0).contains(heldOut) else { throw ValidationError("--held-out must be in [0, 1)") }
        guard hardNegatives >= 0 else { throw ValidationError("--hard-negatives must be >= 0") }
    }

    func run() throws {
        let counts = try SQuADCorpus.write(files: files, to: out, heldOut: heldOut, seed: seed, hardNegatives: hardNegatives)
        print("file                       questions  paragraphs  held-out questions  held-out paragraphs")
        for c in counts {
            print(SQuADCorpus.name(of: c.path).padding(toLength: 26, withPad: " ", startingAt: 0)
                  + String(format: " %9d  %10d  %18d  %19d", c.trainQuestions, c.trainParagraphs, c.heldOutQuestions, c.heldOutParagraphs))
        }
        print("train: \(out)/train.<name>.jsonl" + (heldOut > 0 ? "; dev: \(SQuADCorpus.devPath(out))" : ""))
    }
}
