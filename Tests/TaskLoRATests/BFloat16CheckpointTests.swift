import Foundation
import XCTest
@testable import TaskLoRA

/// A `--storage bfloat16` checkpoint loaded for bf16 (or int8) compute is never widened to float32:
/// its projections exist only packed, its word embeddings stay bf16, the raw matrices are freed as
/// they are packed, and it computes exactly what the same checkpoint widened to float32 and then
/// converted computes: forward, LoRA gradients and input gradients, bit for bit.
final class BFloat16CheckpointTests: XCTestCase {
    /// The trainer fixture (tiny BERT + WordPiece) written with bf16 weight storage.
    static let bf16Checkpoint: String = {
        let path = TrainerFixture.root.appendingPathComponent("tiny-bert-bf16.h5").path
        do {
            try Checkpoint.read(path: TrainerFixture.checkpoint).write(to: path, storage: .bfloat16)
        } catch {
            fatalError("cannot write the bf16 test checkpoint: \(error)")
        }
        return path
    }()

    func testBF16CheckpointLoadsWithoutWidening() throws {
        let kept = try Checkpoint.read(path: Self.bf16Checkpoint, keepBFloat16Matrices: true)
        XCTAssertTrue(kept.hasWeights)
        XCTAssertTrue(kept.bfloat16Weights.names.contains("embeddings.word_embeddings.weight"))
        XCTAssertTrue(kept.weights.values.allSatisfy { $0.shape.count == 1 }, "a matrix was widened at read")
        let matrices = Set(kept.bfloat16Weights.names)

        let encoder = try LoadedModel.loadEncoder(kept, path: Self.bf16Checkpoint, precision: .bf16)
        guard case .bfloat16 = encoder.weights.wordEmbeddings else { return XCTFail("word embeddings widened") }
        for (l, layer) in encoder.weights.layers.enumerated() {
            XCTAssertNil(layer.qkvWeight, "layer \(l): float32 qkv kept")
            XCTAssertNil(layer.ffnOutWeight, "layer \(l): float32 FFN out kept")
            XCTAssertNotNil(layer.packed, "layer \(l): not packed")
        }
        // Every matrix the encoder uses was taken out of the store (freed once packed).
        let used = Set(EncoderWeights.expectedShapes(for: encoder.config).map(\.0))
        XCTAssertEqual(Set(kept.bfloat16Weights.names), matrices.subtracting(used))
        XCTAssertThrowsError(try encoder.weights.converted(to: .fp32)) { error in
            XCTAssertTrue("\(error)".contains("load the checkpoint at that precision"), "\(error)")
        }
    }

    /// The same values reach the same kernels: identical to the widened checkpoint at bf16 and int8.
    func testSameResultsAsTheWidenedCheckpoint() throws {
        let widened = try Checkpoint.read(path: Self.bf16Checkpoint)
        XCTAssertTrue(widened.bfloat16Weights.isEmpty)
        for precision in [Precision.bf16, .int8] {
            let kept = try Checkpoint.read(path: Self.bf16Checkpoint, keepBFloat16Matrices: true)
            let direct = try LoadedModel.loadEncoder(kept, path: Self.bf16Checkpoint, precision: precision)
            let wide = try LoadedModel.loadEncoder(widened, path: Self.bf16Checkpoint, precision: precision)
            guard case .float32 = wide.weights.wordEmbeddings else { return XCTFail("widened read kept bf16 embeddings") }
            guard case .bfloat16 = direct.weights.wordEmbeddings else { return XCTFail("\(precision): embeddings widened") }
            let a = try run(direct, training: precision == .bf16)
            let b = try run(wide, training: precision == .bf16)
            XCTAssertEqual(a.hidden, b.hidden, "\(precision): hidden states")
            XCTAssertEqual(a.gradients, b.gradients, "\(precision): LoRA gradients")
            if precision == .bf16 { XCTAssertGreaterThan(a.gradients.map(abs).max() ?? 0, 0, "no gradient flowed") }
        }
    }

    /// One forward (and, when `training`, backward of the squared hidden sum) with an all-target
    /// LoRA adapter of nonzero A and B, so that every frozen projection's backward is on the path.
    private func run(_ encoder: TextEncoder, training: Bool) throws -> (hidden: [Float], gradients: [Float]) {
        let targets: [LoRATarget] = [.qkv, .attentionOutput, .ffnIn, .ffnOut]
        let adapters = try LoRAAdapters(names: ["task"], configs: [LoRAConfig(rank: 4, alpha: 8, targets: targets)],
                                        model: encoder.config)
        var rng = SplitMix64(seed: 3)
        for i in 0..<adapters.parameterCount { adapters.parameters[i] = Float(rng.nextGaussian() * 0.05) }
        let sequences: [[Int32]] = [[2, 5, 9, 14, 3], [2, 7, 7, 21, 30, 11, 3], [2, 40, 3]]
        let batch = TokenBatch(sequences: sequences, adapters: [0, 0, 0])
        let tape = training ? Tape() : nil
        adapters.zeroGradients()
        let hidden = encoder.forward(batch, adapters: adapters, tape: tape)
        let values = hidden.array
        if let tape {
            let dHidden = Tensor(shape: [values.count], values: values.map { 2 * $0 })
            encoder.backward(tape: tape, dHidden: dHidden.data, tokenCount: batch.tokenCount)
        }
        return (values, Array(UnsafeBufferPointer(start: adapters.gradients, count: adapters.parameterCount)))
    }
}
