import Foundation

/// The trainer's side of data-parallel runs (`Communicator`): the loss over the gathered global
/// batch, rank 0's evaluation shared with every rank, the stop decision taken together, and the
/// replica check. With one process each is what the single-process trainer did before.
extension Trainer {
    /// The Matryoshka loss over the global micro-batch: this rank's pooled rows are all-gathered,
    /// placed in the loss's row layout, the loss and ∂loss/∂pooled computed over all of them (the
    /// same matrix, hence the same bits, on every rank), and this rank's rows of the gradient kept.
    func globalLoss(_ matryoshka: Matryoshka, _ loss: any EmbeddingLoss, share: GlobalBatch,
                    pooled: UnsafeMutablePointer<Float>, dPooled: UnsafeMutablePointer<Float>) throws -> Float {
        let h = encoder.config.hiddenSize
        let gathered = Tensor(zeros: [share.totalRows, h])
        let all = Tensor(zeros: [share.totalRows, h]), dAll = Tensor(zeros: [share.totalRows, h])
        try communicator.allGather(pooled, counts: share.rowCounts.map { $0 * h }, into: gathered.data,
                                   what: "the embedding all-gather of step \(step + 1)")
        share.place(gathered: gathered.data, into: all.data, width: h)
        let value = try matryoshka.loss(loss, pooled: all.data, rows: share.totalRows, hiddenSize: h, dPooled: dAll.data)
        share.takeOwn(dAll.data, into: dPooled, width: h)
        return value
    }

    /// Runs one micro-batch of a data-parallel rank with a dropout stream of its own (mixed from
    /// the shared one and the rank), then advances the shared stream by one draw on every rank, so
    /// ranks do not draw the same masks and their saved RNG states agree. Without dropout nothing
    /// is drawn and the stream stays as one process leaves it.
    func withRankDropoutStream<T>(_ body: () throws -> T) rethrows -> T {
        guard adapters.configs.contains(where: { $0.dropout > 0 }) else { return try body() }
        var shared = encoder.dropoutRNG
        encoder.dropoutRNG = SplitMix64(seed: StableHash.combine(shared.state, UInt64(communicator.rank) &+ 1))
        defer {
            _ = shared.next()
            encoder.dropoutRNG = shared
        }
        return try body()
    }

    // Evaluation: every rank evaluates the dev sets itself (`evaluate()`), on the same adapters
    // (the replica check keeps them bit-identical) with the same code, so each holds the same
    // reports, base scores and selection state, and best-checkpoint and early-stopping decisions
    // agree without a message; only rank 0 writes them. No collective runs meanwhile, so no time
    // limit is at stake however long the evaluation takes.

    /// The stop request every rank acts on: this process's own (`stopRequest`) with one process;
    /// with several, the first rank's in rank order that has one, agreed once per step, so that
    /// every rank stops after the same step (a scheduler's SIGTERM may reach the ranks at
    /// different moments, or only some of them).
    func agreedStopSignal() throws -> Int32? {
        let local = stopRequest.signal
        guard communicator.size > 1 else { return local }
        let all = try communicator.allGather([Int64(local ?? -1)], what: "the stop check before step \(step + 1)")
        return all.lazy.map { $0[0] }.first { $0 >= 0 }.map { Int32($0) }
    }

    /// CRC-32 of the adapters' parameters (all of them, in their flat order).
    public var parameterChecksum: UInt32 {
        CRC32.checksum(UnsafeRawBufferPointer(start: adapters.parameters, count: adapters.parameterCount * MemoryLayout<Float>.stride))
    }

    /// Every rank must hold the same adapters, step and data position; throws, naming the ranks
    /// that differ from rank 0, if they do not. No-op with one process.
    func checkReplicas(what: String) throws {
        guard communicator.size > 1 else { return }
        let mine: [Int64] = [Int64(parameterChecksum), Int64(step), Int64(sampler.state.epoch),
                             Int64(sampler.state.batchInEpoch), Int64(bitPattern: sampler.state.fingerprint)]
        let all = try communicator.allGather(mine, what: "the replica check at \(what)")
        let differing = all.indices.filter { all[$0] != all[0] }
        guard differing.isEmpty else {
            let detail = differing.map { q in
                String(format: "rank %d has adapter CRC %08x at step %lld, rank 0 %08x at step %lld", q,
                       UInt32(truncatingIfNeeded: all[q][0]), all[q][1], UInt32(truncatingIfNeeded: all[0][0]), all[0][1])
            }.joined(separator: "; ")
            throw TaskLoRAError("the ranks' training states differ at \(what) (\(detail)); every rank must run the same recipe on the same data and model files")
        }
    }
}
