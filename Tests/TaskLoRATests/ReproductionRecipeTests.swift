import Foundation
import XCTest
import TaskLoRA

/// The reproduction recipes (docs/reproduction.md): every YAML under recipes/ loads and validates
/// against multilingual-e5-small's shape, and recipes/paper/ carries jina-embeddings-v3's Table A1
/// settings. Data files are not needed (they are generated at run time).
final class ReproductionRecipeTests: XCTestCase {
    /// multilingual-e5-small's shape.
    static let e5Small = EncoderConfig(modelType: "xlm-roberta", hiddenSize: 384, numHiddenLayers: 12, numAttentionHeads: 12,
                                       intermediateSize: 1536, vocabSize: 250_037, maxPositionEmbeddings: 514,
                                       typeVocabSize: 1, layerNormEps: 1e-12, padTokenId: 1)

    /// All .yaml files under recipes/, recursively, as paths relative to the repository root.
    static func recipeFiles() throws -> [String] {
        let root = TestPaths.repo.appendingPathComponent("recipes")
        guard let walker = FileManager.default.enumerator(atPath: root.path) else { return [] }
        return walker.compactMap { $0 as? String }.filter { $0.hasSuffix(".yaml") }.sorted().map { "recipes/" + $0 }
    }

    func testEveryRecipeLoadsAndValidates() throws {
        let files = try Self.recipeFiles()
        for required in ["recipes/text-matching-stsb-cpu.yaml", "recipes/retrieval-xquad-cpu.yaml",
                         "recipes/classification-cpu.yaml", "recipes/separation-cpu.yaml",
                         "recipes/paper/retrieval.yaml", "recipes/paper/text-matching.yaml",
                         "recipes/paper/classification.yaml", "recipes/paper/separation.yaml"] {
            XCTAssertTrue(files.contains(required), "missing \(required)")
        }
        for file in files {
            let path = TestPaths.repo.appendingPathComponent(file).path
            do {
                let recipe = try Recipe.load(path: path)
                try recipe.validate(source: file)
                try recipe.validate(against: Self.e5Small, source: file)
                XCTAssertEqual(recipe.model, "checkpoints/multilingual-e5-small.h5", file)
                // The resolved recipe reads back equal (what a run directory stores).
                XCTAssertEqual(try Recipe.parse(yaml: recipe.resolvedYAML(), source: file), recipe, file)
            } catch {
                XCTFail("\(file): \(error)")
            }
        }
    }

    /// Table A1 of arXiv 2409.10173: steps, batch, max length, LR, temperature, loss; rank 4, alpha 1.
    func testPaperRecipesCarryTableA1() throws {
        struct Row { var file: String; var loss: Recipe.LossType; var tau: Double; var steps: Int; var batch: Int; var length: Int; var lr: Double }
        let rows = [
            Row(file: "retrieval", loss: .infonce, tau: 0.05, steps: 20_000, batch: 128, length: 512, lr: 5e-4),
            Row(file: "text-matching", loss: .cosent, tau: 0.05, steps: 15_000, batch: 256, length: 192, lr: 1e-4),
            Row(file: "classification", loss: .classification, tau: 0.02, steps: 11_500, batch: 256, length: 192, lr: 5e-4),
            Row(file: "separation", loss: .separation, tau: 0.02, steps: 12_500, batch: 512, length: 192, lr: 5e-5),
        ]
        for row in rows {
            let r = try Recipe.load(path: TestPaths.repo.appendingPathComponent("recipes/paper/\(row.file).yaml").path)
            XCTAssertEqual(r.loss.type, row.loss, row.file)
            XCTAssertEqual(r.loss.temperature, row.tau, row.file)
            XCTAssertEqual(r.schedule.steps, row.steps, row.file)
            XCTAssertEqual(r.data.batchSize * r.optimizer.gradAccumulation, row.batch, row.file)
            XCTAssertEqual(r.data.maxLength, row.length, row.file)
            XCTAssertEqual(r.optimizer.lr, row.lr, row.file)
            for a in r.adapters {
                XCTAssertEqual(a.rank, 4, row.file)
                XCTAssertEqual(a.alpha, 1, row.file)
            }
        }
        let retrieval = try Recipe.load(path: TestPaths.repo.appendingPathComponent("recipes/paper/retrieval.yaml").path)
        XCTAssertEqual(retrieval.adapters.map(\.name), ["retrieval.query", "retrieval.passage"])
        XCTAssertEqual(retrieval.prefixes, .jinaRetrieval)
        XCTAssertGreaterThan(retrieval.loss.hardNegatives, 0)
        let matching = try Recipe.load(path: TestPaths.repo.appendingPathComponent("recipes/paper/text-matching.yaml").path)
        XCTAssertEqual(matching.loss.matryoshka?.dims, [32, 64, 128, 256, 384])
    }

    /// The CPU variants keep each type's loss and temperature.
    func testCPURecipesKeepLossAndTemperature() throws {
        let expected: [(String, Recipe.LossType, Double)] = [
            ("retrieval-xquad-cpu", .infonce, 0.05), ("text-matching-stsb-cpu", .cosent, 0.05),
            ("classification-cpu", .classification, 0.02), ("separation-cpu", .separation, 0.02),
        ]
        for (name, loss, tau) in expected {
            let r = try Recipe.load(path: TestPaths.repo.appendingPathComponent("recipes/\(name).yaml").path)
            XCTAssertEqual(r.loss.type, loss, name)
            XCTAssertEqual(r.loss.temperature, tau, name)
        }
    }
}
