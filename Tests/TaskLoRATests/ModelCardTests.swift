import Foundation
import XCTest
@testable import TaskLoRA

/// The model cards `tasklora export --format hf|peft` writes: a tiny adapter is trained with
/// Matryoshka dims, exported through the CLI as users do, and the cards are read in Python as the
/// Hub reads them (front matter, huggingface_hub's ModelCard) and their usage snippets run as written
/// (scripts/reference/check_model_card.py).
final class ModelCardTests: XCTestCase {
    typealias F = TrainerFixture

    func testHuggingFaceAndPEFTCardsLoadAndTheirSnippetsRun() throws {
        _ = try TestPaths.requirePython()
        let train = try F.write(F.pairs(40), name: "train.jsonl")
        let dev = try F.write(F.pairs(8, seed: 9), name: "dev.jsonl")
        let runDir = F.newDirectory("card")
        let recipe = try F.recipe(train: train, dev: dev, output: runDir,
                                  overrides: ["loss.matryoshka.dims=[16, 32]", "adapters.0.prefix=\"query: \""])
        try Trainer(recipe: recipe).train()
        let out = try makeScratchFolder("card-export")
        defer { try? FileManager.default.removeItem(at: out) }
        let base = out.appendingPathComponent("base-hf").path, hf = out.appendingPathComponent("task-hf").path
        let peft = out.appendingPathComponent("task-peft").path
        for arguments in [["export", "--model", F.checkpoint, "--format", "hf", "--out", base],
                          ["export", "--model", runDir + "/final.h5", "--task", "task", "--format", "hf", "--out", hf,
                           "--base-model-name", base],
                          ["export", "--model", runDir + "/final.h5", "--task", "task", "--format", "peft", "--out", peft,
                           "--base-model-name", base, "--language", "en", "--language", "de"]] {
            let cli = try CLIProcess(arguments)
            XCTAssertEqual(cli.wait(timeout: 120), 0, "\(arguments): \(cli.stderr)")
        }
        let card = try String(contentsOfFile: hf + "/README.md", encoding: .utf8)
        XCTAssertTrue(card.hasPrefix("---\nbase_model: \(base)\nlibrary_name: sentence-transformers\npipeline_tag: sentence-similarity\nlanguage:\n- en\n"), card)
        XCTAssertTrue(card.contains("| prompt | `query: `"), card)
        XCTAssertTrue(card.contains("truncate_dim=16"), card)
        XCTAssertTrue(card.contains("loss:") && card.contains("matryoshka:"), "the resolved recipe is missing")
        let peftCard = try String(contentsOfFile: peft + "/README.md", encoding: .utf8)
        XCTAssertTrue(peftCard.contains("library_name: peft\n"), peftCard)
        XCTAssertTrue(peftCard.contains("language:\n- en\n- de\n"), peftCard)
        XCTAssertTrue(peftCard.contains("\"query: \" + \"The weather is lovely today.\""), peftCard)
        // The base folder exported without an adapter has a card without a training section of a run.
        XCTAssertTrue(try String(contentsOfFile: base + "/README.md", encoding: .utf8).contains("No run folder was found"))

        let check = try TestPaths.runPython(script: "scripts/reference/check_model_card.py",
                                            ["--hf", hf, "--peft", peft, "--expect-task", "task", "--expect-dims", "16,32"])
        XCTAssertEqual(check.status, 0, check.output)
        // Per card: its one snippet ran, and its front matter checked.
        XCTAssertEqual(check.output.split(separator: "\n").filter { $0.hasPrefix("ok ") }.count, 4, check.output)
    }
}
