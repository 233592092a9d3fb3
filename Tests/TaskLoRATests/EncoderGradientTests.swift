import XCTest
import TaskLoRA

/// The taped encoder's LoRA gradients against finite differences of the whole model (Float, so the
/// tolerance is loose; PyTorch parity in LoRAGradientParityTests is the tight check).
final class EncoderGradientTests: XCTestCase {
    func loadTiny(_ folder: String) throws -> TextEncoder {
        let model = try ModelImporter.loadHuggingFace(folder: TestPaths.fixture(folder))
        return TextEncoder(config: model.config,
                       weights: try EncoderWeights(config: model.config, tensors: model.tensors, source: folder))
    }

    func checkFiniteDifferences(folder: String, targets: [LoRATarget], file: StaticString = #filePath, line: UInt = #line) throws {
        let encoder = try loadTiny(folder)
        let c = encoder.config
        let adapters = try LoRAAdapters(names: ["a", "b"], configs: [LoRAConfig(rank: 2, alpha: 4, targets: targets),
                                                                     LoRAConfig(rank: 3, alpha: 3, targets: targets)],
                                        model: c)
        var rng = SplitMix64(seed: 11)
        for i in 0..<adapters.parameterCount { adapters.parameters[i] = Float((rng.nextUnit() * 2 - 1) * 0.3) }
        // Two adapters routed per sequence, non-contiguously, so runs and routing are exercised.
        let batch = TokenBatch(sequences: [[2, 5, 9, 3], [2, 7, 7, 11, 13, 3], [2, 4, 3], [2, 8, 8, 3]],
                               adapters: [0, 1, 1, 0])
        let t = batch.tokenCount, h = c.hiddenSize
        let g = (0..<(t * h)).map { _ in Float(rng.nextUnit() * 2 - 1) }
        func loss() -> Double {
            let out = encoder.forward(batch, adapters: adapters)
            return (0..<(t * h)).reduce(0.0) { $0 + Double(out[$1]) * Double(g[$1]) }
        }
        let tape = Tape()
        adapters.zeroGradients()
        _ = encoder.forward(batch, adapters: adapters, tape: tape)
        g.withUnsafeBufferPointer { encoder.backward(tape: tape, dHidden: $0.baseAddress!, tokenCount: t) }
        var checked = 0, worst = 0.0
        // Sample parameters across every module (A and B of each).
        for m in adapters.modules {
            for offset in [m.aOffset, m.aOffset + m.aCount / 2, m.bOffset, m.bOffset + m.bCount - 1] {
                if m.target == .wordEmbeddings, offset < m.bOffset {
                    // Only rows of A for ids in the batch matter; take one that is used.
                    let row = 7
                    checkOne(m.aOffset + row * m.rank)
                } else {
                    checkOne(offset)
                }
            }
        }
        func checkOne(_ i: Int) {
            let eps: Float = 1e-2
            let keep = adapters.parameters[i]
            adapters.parameters[i] = keep + eps; let up = loss()
            adapters.parameters[i] = keep - eps; let down = loss()
            adapters.parameters[i] = keep
            let numeric = (up - down) / Double(2 * eps), analytic = Double(adapters.gradients[i])
            worst = max(worst, abs(numeric - analytic) / max(0.05, abs(numeric)))
            checked += 1
        }
        XCTAssertGreaterThan(checked, 0, file: file, line: line)
        XCTAssertLessThan(worst, 2e-2, "\(folder): worst relative error \(worst) over \(checked) parameters", file: file, line: line)
    }

    func testBERTAllTargets() throws {
        try checkFiniteDifferences(folder: "tiny-bert", targets: [.query, .key, .value, .attentionOutput, .ffnIn, .ffnOut,
                                                                  .wordEmbeddings, .tokenTypeEmbeddings])
    }

    func testRotaryFusedQKV() throws {
        try checkFiniteDifferences(folder: "tiny-rotary", targets: [.qkv, .attentionOutput, .ffnIn, .ffnOut, .wordEmbeddings])
    }

    func testXLMRQueryValue() throws {
        try checkFiniteDifferences(folder: "tiny-xlmr", targets: [.query, .value])
    }

    func testZeroInitializedAdapterIsTheIdentity() throws {
        let encoder = try loadTiny("tiny-bert")
        let adapters = try LoRAAdapters(names: ["new"], configs: [LoRAConfig(rank: 4, alpha: 8,
            targets: [.query, .value, .ffnIn, .wordEmbeddings])], model: encoder.config)
        adapters.initialize(adapter: 0, seed: 1)
        let seqs: [[Int32]] = [[2, 5, 9, 3], [2, 7, 3]]
        let base = encoder.forward(TokenBatch(sequences: seqs))
        let adapted = encoder.forward(TokenBatch(sequences: seqs, adapters: [0, 0]), adapters: adapters)
        XCTAssertEqual(base.array, adapted.array)
        XCTAssertTrue((0..<adapters.parameterCount).contains { adapters.parameters[$0] != 0 })
    }

    func testTapedAndUntapedForwardAgree() throws {
        let encoder = try loadTiny("tiny-rotary")
        let adapters = try LoRAAdapters(names: ["x"], configs: [LoRAConfig(rank: 2, targets: [.qkv, .ffnOut])],
                                        model: encoder.config)
        for i in 0..<adapters.parameterCount { adapters.parameters[i] = Float(i % 7) * 0.01 }
        let batch = TokenBatch(sequences: [[2, 5, 9, 3], [2, 7, 3]], adapters: [0, -1])
        let plain = encoder.forward(batch, adapters: adapters)
        let taped = encoder.forward(batch, adapters: adapters, tape: Tape())
        XCTAssertEqual(plain.array, taped.array)
    }
}
