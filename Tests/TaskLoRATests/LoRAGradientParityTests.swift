import Foundation
import XCTest
import TaskLoRA

/// Whole-model gradient parity (as llm.c's test_gpt2): the LoRA gradients of an InfoNCE step equal
/// PyTorch autograd with peft LoRA on the same weights and batch (fixtures from
/// scripts/reference/make_gradient_fixtures.py, computed in float64).
final class LoRAGradientParityTests: XCTestCase {
    /// At `.bf16` the frozen projections run in bf16 forward and backward (training with
    /// `precision: bf16`). The bound there is 2e-2 relative L2 over the whole LoRA gradient (all
    /// tensors as one vector, what the optimizer step sees) and 3e-2 for any one tensor (measured
    /// worst: 2.4e-2, the lowest layer's query lora_A of the rotary fixture); the error must also be
    /// visibly above float32's, or bf16 did not run.
    func check(_ name: String, precision: Precision = .fp32) throws {
        let dir = TestPaths.fixture("gradients/\(name)") + "/"
        let spec = try readJSON(dir + "case.json") as! [String: Any]
        let modelName = spec["model"] as! String
        let folder = modelName == "minilm" ? TestPaths.miniLM : TestPaths.repo.appendingPathComponent(modelName).path
        try TestPaths.require(folder)
        let model = try ModelImporter.loadHuggingFace(folder: folder)
        let config = try EncoderConfig.load(path: folder + "/" + (spec["config_file"] as! String))
        let encoder = TextEncoder(config: config, weights: try EncoderWeights(config: config, tensors: model.tensors, source: folder,
                                                                                        precision: precision))
        let targets = (spec["targets"] as! [String]).map { LoRATarget.parse($0)! }
        let lora = LoRAConfig(rank: spec["rank"] as! Int, alpha: (spec["alpha"] as! NSNumber).doubleValue, targets: targets)
        let adapters = try LoRAAdapters(names: ["task"], configs: [lora], model: config)
        let params = try SafeTensorsFile(path: dir + "lora.safetensors")
        let expected = try SafeTensorsFile(path: dir + "grads.safetensors")
        XCTAssertEqual(Set(params.names).count, adapters.modules.count * 2, "every LoRA tensor has a fixture")
        for m in adapters.modules {
            let a = try params.tensor(m.modulePath + ".lora_A"), b = try params.tensor(m.modulePath + ".lora_B")
            XCTAssertEqual(a.count, m.aCount); XCTAssertEqual(b.count, m.bCount)
            (adapters.parameters + m.aOffset).update(from: a.data, count: m.aCount)
            (adapters.parameters + m.bOffset).update(from: b.data, count: m.bCount)
        }
        let anchors = (spec["anchors"] as! [[Int]]).map { $0.map(Int32.init) }
        let positives = (spec["positives"] as! [[Int]]).map { $0.map(Int32.init) }
        let n = anchors.count, h = config.hiddenSize
        let batch = TokenBatch(sequences: anchors + positives, adapters: [Int](repeating: 0, count: 2 * n))

        let tape = Tape()
        adapters.zeroGradients()
        let hidden = encoder.forward(batch, adapters: adapters, tape: tape)
        let pooled = Tensor(zeros: [2 * n, h]), dPooled = Tensor(zeros: [2 * n, h])
        Pooling.mean.forward(hidden: hidden.data, batch: batch, hiddenSize: h, pooled: pooled.data)
        let loss = InfoNCE(temperature: (spec["tau"] as! NSNumber).doubleValue).batch(pairs: n, negativesPerAnchor: 0)
        let value = try Matryoshka(dims: [h]).loss(loss, pooled: pooled.data, rows: 2 * n, hiddenSize: h, dPooled: dPooled.data)
        let dHidden = Tensor(zeros: [batch.tokenCount, h])
        Pooling.mean.backward(dpooled: dPooled.data, batch: batch, hiddenSize: h, dhidden: dHidden.data)
        encoder.backward(tape: tape, dHidden: dHidden.data, tokenCount: batch.tokenCount)

        let refLoss = (spec["loss"] as! NSNumber).doubleValue
        let bf16 = precision == .bf16
        XCTAssertEqual(Double(value), refLoss, accuracy: (bf16 ? 2e-2 : 1e-5) * max(1, abs(refLoss)), "\(name) loss")
        var worst = 0.0, totalDiff = 0.0, totalNorm = 0.0
        for m in adapters.modules {
            for (suffix, offset, count) in [(".lora_A", m.aOffset, m.aCount), (".lora_B", m.bOffset, m.bCount)] {
                let ref = try expected.tensor(m.modulePath + suffix)
                var diff = 0.0, norm = 0.0
                for i in 0..<count {
                    let r = Double(ref[i]), g = Double(adapters.gradients[offset + i])
                    diff += (g - r) * (g - r); norm += r * r
                }
                totalDiff += diff
                totalNorm += norm
                let rel = diff.squareRoot() / max(norm.squareRoot(), 1e-12)
                worst = max(worst, rel)
                XCTAssertLessThanOrEqual(rel, bf16 ? 3e-2 : 1e-3, "\(name) \(m.modulePath)\(suffix) relative L2 error at \(precision)")
            }
        }
        let total = totalDiff.squareRoot() / max(totalNorm.squareRoot(), 1e-12)
        XCTAssertLessThanOrEqual(total, bf16 ? 2e-2 : 1e-3, "\(name): relative L2 error of the whole LoRA gradient at \(precision)")
        if bf16 { XCTAssertGreaterThan(worst, 1e-4, "\(name): bf16 gradients as close as float32's: did bf16 run?") }
        print("\(name) at \(precision): loss \(value) (reference \(refLoss)), whole-gradient relative error \(total), worst tensor \(worst)")
    }

    func testTinyBERTQueryValue() throws { try check("tiny-bert-qv") }
    func testTinyBERTAllTargets() throws { try check("tiny-bert-all") }
    func testTinyXLMRobertaAllTargets() throws { try check("tiny-xlmr-all") }
    func testTinyRotaryAllTargets() throws { try check("tiny-rotary-all") }
    func testTinyRotaryQueryValueBase20000() throws { try check("tiny-rotary-qv-base20000") }
    func testAllMiniLML6v2QueryValue() throws { try check("minilm-qv") }

    func testTinyBERTAllTargetsBF16() throws { try check("tiny-bert-all", precision: .bf16) }
    func testTinyXLMRobertaAllTargetsBF16() throws { try check("tiny-xlmr-all", precision: .bf16) }
    func testTinyRotaryAllTargetsBF16() throws { try check("tiny-rotary-all", precision: .bf16) }
    func testAllMiniLML6v2QueryValueBF16() throws { try check("minilm-qv", precision: .bf16) }
}
