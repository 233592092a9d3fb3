import Foundation
import XCTest
@testable import TaskLoRA

/// Every tensor layout a jina-embeddings-v3 (or BERT) folder comes in is told apart by its tensor
/// names and imports to the same canonical tensors (`TensorLayout`). Parity of each with
/// transformers: `EncoderParityTests` (module names, `save_pretrained`) and `JinaV3Tests` (release).
final class JinaLayoutTests: XCTestCase {
    static let release = TestPaths.fixture("jina-v3")
    static let saved = TestPaths.fixture("jina-v3-saved")
    var scratch: URL!

    override func setUpWithError() throws { scratch = try makeScratchFolder("tasklora-layout") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    /// `tensors` with `prefix` put in front of (or, with `remove`, taken from the front of) every name.
    func prefixed(_ tensors: inout [String: Tensor], _ prefix: String, remove: Bool = false) {
        tensors = Dictionary(uniqueKeysWithValues: tensors.map { name, tensor in
            (remove ? String(name.dropFirst(name.hasPrefix(prefix) ? prefix.count : 0)) : prefix + name, tensor)
        })
    }

    func testDetectsEveryFixtureLayoutFromTensorNames() throws {
        let expected: [(String, TensorLayout)] = [
            ("jina-v3", .jinaRelease), ("jina-v3-saved", .jinaSaved), ("tiny-rotary", .jinaModules),
            ("tiny-bert", .bert), ("tiny-xlmr", .bert),
        ]
        for (fixture, layout) in expected {
            XCTAssertEqual(try TensorLayout.detect(folder: TestPaths.fixture(fixture)), layout, fixture)
        }
        // The prefix does not decide either: the release without `roberta.` is still the release.
        let bare = try editedModelCopy(of: Self.release, in: scratch) { prefixed(&$0, "roberta.", remove: true) }
        XCTAssertEqual(try TensorLayout.detect(folder: bare), .jinaRelease)
    }

    func testUnknownLayoutNamesTheFileAndSomeTensors() throws {
        let odd = try editedModelCopy(of: TestPaths.fixture("tiny-bert"), in: scratch) { tensors in
            tensors = ["blocks.0.attn.weight": Tensor(zeros: [2]), "blocks.0.mlp.weight": Tensor(zeros: [2])]
        }
        let text = message { try ModelImporter.load(source: odd) }
        XCTAssertTrue(text.hasPrefix(odd + "/model.safetensors: tensor names match no layout tasklora reads (2 tensors: "
                                     + "blocks.0.attn.weight, blocks.0.mlp.weight;"), text)
        XCTAssertTrue(text.contains("mixer.Wqkv.weight (jinaSaved)"), text)
        XCTAssertFalse(text.contains("\n"), text)
    }

    func testMixedLayoutsAreRefused() throws {
        let mixed = try editedModelCopy(of: TestPaths.fixture("tiny-bert"), in: scratch) { tensors in
            tensors["layers.0.self_attn.q_proj.weight"] = Tensor(zeros: [32, 32])
        }
        let text = message { try ModelImporter.load(source: mixed) }
        XCTAssertTrue(text.hasPrefix(mixed + "/model.safetensors: tensor names mix layouts: jinaModules (layers.0.self_attn.q_proj.weight) and bert (encoder.layer."),
                      text)
    }

    /// The release with and without `roberta.`: the same base tensors and the same five adapters.
    func testReleaseImportsWithAndWithoutItsPrefix() throws {
        let prefixed = try ModelImporter.load(source: Self.release)
        let bare = try ModelImporter.load(source: try editedModelCopy(of: Self.release, in: scratch) {
            self.prefixed(&$0, "roberta.", remove: true)
        })
        XCTAssertEqual(bare.tensors.keys.sorted(), prefixed.tensors.keys.sorted())
        for (name, tensor) in prefixed.tensors { XCTAssertEqual(bare.tensors[name]!.array, tensor.array, name) }
        XCTAssertEqual(bare.adapters.map(\.name), JinaV3Layout.tasks)
        for ((name, a), (_, b)) in zip(bare.adapters, prefixed.adapters) {
            XCTAssertEqual(a.tensors.keys.sorted(), b.tensors.keys.sorted(), name)
            for (key, t) in b.tensors { XCTAssertEqual(a.tensors[key]!.array, t.array, "\(name) \(key)") }
        }
    }

    /// `save_pretrained`'s layout: no adapters, the pooler kept, Wqkv split into the canonical
    /// query/key/value rows, every tensor of the file used; the same with a `roberta.` prefix.
    func testSavedLayoutImportsEveryTensor() throws {
        let model = try ModelImporter.load(source: Self.saved)
        XCTAssertTrue(model.adapters.isEmpty)
        XCTAssertNil(model.configJSON, "a saved model's config is stored as the canonical one")
        XCTAssertEqual(model.config.rotaryEmbBase, 20_000)
        let file = try SafeTensorsFile(path: Self.saved + "/model.safetensors")
        XCTAssertEqual(model.parameterCount, try file.names.reduce(0) { $0 + (try file.tensor($1).count) })
        XCTAssertEqual(model.tensors["pooler.dense.weight"]!.array, try file.tensor("pooler.dense.weight").array)
        XCTAssertEqual(model.tensors["embeddings.LayerNorm.bias"]!.array, try file.tensor("emb_ln.bias").array)
        let wqkv = try file.tensor("encoder.layers.1.mixer.Wqkv.weight").array, h = 48
        XCTAssertEqual(model.tensors["encoder.layer.1.attention.self.key.weight"]!.array, Array(wqkv[(h * h)..<(2 * h * h)]))
        XCTAssertEqual(model.tensors["encoder.layer.1.output.LayerNorm.weight"]!.array,
                       try file.tensor("encoder.layers.1.norm2.weight").array)

        let withPrefix = try ModelImporter.load(source: try editedModelCopy(of: Self.saved, in: scratch) {
            self.prefixed(&$0, "roberta.")
        })
        XCTAssertEqual(withPrefix.tensors.keys.sorted(), model.tensors.keys.sorted())
        for (name, tensor) in model.tensors { XCTAssertEqual(withPrefix.tensors[name]!.array, tensor.array, name) }
    }

    func testSavedLayoutNamesAMissingOrUnexpectedTensor() throws {
        let missing = try editedModelCopy(of: Self.saved, in: scratch) { $0["encoder.layers.1.norm2.bias"] = nil }
        XCTAssertTrue(message { try ModelImporter.load(source: missing) }
            .hasSuffix("/model.safetensors: missing tensor encoder.layers.1.norm2.bias"))
        let extra = try editedModelCopy(of: Self.saved, in: scratch) { $0["encoder.layers.0.mixer.Wqkv.lora_A"] = Tensor(zeros: [4, 48]) }
        XCTAssertTrue(message { try ModelImporter.load(source: extra) }.contains("unexpected tensor encoder.layers.0.mixer.Wqkv.lora_A"))
    }
}
