import Foundation
import XCTest
@testable import TaskLoRA

/// The parts of data-parallel training that need no MPI: launch detection, thread shares, the
/// global batch's row ownership, and the replica check (with a stand-in for the other rank).
final class DistributedTests: XCTestCase {
    typealias F = TrainerFixture

    func testWorldSizeComesFromTheLauncherOnly() {
        XCTAssertEqual(DistributedLaunch.worldSize([:]), 1)
        XCTAssertEqual(DistributedLaunch.worldSize(["OMPI_COMM_WORLD_SIZE": "4", "OMPI_COMM_WORLD_RANK": "2"]), 4)
        XCTAssertEqual(DistributedLaunch.worldSize(["PMI_SIZE": "3"]), 3)
        // A batch script's environment has SLURM_NTASKS but is not a task srun started.
        XCTAssertEqual(DistributedLaunch.worldSize(["SLURM_NTASKS": "8"]), 1)
        XCTAssertEqual(DistributedLaunch.worldSize(["SLURM_NTASKS": "8", "SLURM_PROCID": "5"]), 8)
        XCTAssertTrue(try DistributedLaunch.communicator(["OMPI_COMM_WORLD_SIZE": "1"]) is SingleProcess)
        XCTAssertThrowsError(try DistributedLaunch.communicator(["OMPI_COMM_WORLD_SIZE": "2", "TASKLORA_MPI_TIMEOUT": "soon"])) {
            XCTAssertTrue("\($0)".contains("TASKLORA_MPI_TIMEOUT"), "\($0)")
        }
    }

    func testRanksOnOneMachineShareItsCores() {
        XCTAssertEqual(Parallel.threads([:], machine: 16), 16)
        XCTAssertEqual(Parallel.threads(["OMPI_COMM_WORLD_LOCAL_SIZE": "4"], machine: 16), 4)
        XCTAssertEqual(Parallel.threads(["OMPI_COMM_WORLD_LOCAL_SIZE": "3"], machine: 2), 1)
        XCTAssertEqual(Parallel.threads(["SLURM_PROCID": "0", "SLURM_CPUS_PER_TASK": "6"], machine: 32), 6)
        XCTAssertEqual(Parallel.threads(["TASKLORA_THREADS": "3", "OMPI_COMM_WORLD_LOCAL_SIZE": "4"], machine: 16), 3)
    }

    /// InfoNCE layout [anchors; positives; negatives (k per anchor)]: 5 examples over 2 ranks →
    /// rank 0 owns examples 0–1, rank 1 examples 2–4, each with its rows of every role block.
    func testGlobalBatchOwnsRowsByExampleInEveryRoleBlock() {
        let n = 5, k = 2
        let exampleOfRow = Array(0..<n) + Array(0..<n) + (0..<n).flatMap { [Int](repeating: $0, count: k) }
        let share = GlobalBatch(examples: n, exampleOfRow: exampleOfRow, rank: 1, size: 2)
        XCTAssertEqual(share.rowsOfRank[0], [0, 1, 5, 6, 10, 11, 12, 13])
        XCTAssertEqual(share.ownRows, [2, 3, 4, 7, 8, 9, 14, 15, 16, 17, 18, 19])
        XCTAssertEqual(share.rowCounts.reduce(0, +), exampleOfRow.count)
        // place ∘ gather restores the layout: row r of the global matrix holds the value r.
        let width = 2
        let gathered = share.rowsOfRank.flatMap { $0 }.flatMap { r in [Float](repeating: Float(r), count: width) }
        var global = [Float](repeating: -1, count: exampleOfRow.count * width)
        share.place(gathered: gathered, into: &global, width: width)
        XCTAssertEqual(global, (0..<exampleOfRow.count).flatMap { [Float($0), Float($0)] })
        var own = [Float](repeating: 0, count: share.ownRows.count * width)
        share.takeOwn(global, into: &own, width: width)
        XCTAssertEqual(own, share.ownRows.flatMap { [Float($0), Float($0)] })
        // More ranks than examples: some ranks own nothing, every row is still owned once.
        let sparse = GlobalBatch(examples: 2, exampleOfRow: [0, 1, 0, 1], rank: 0, size: 3)
        XCTAssertEqual(sparse.rowsOfRank, [[], [0, 2], [1, 3]])
    }

    /// A stand-in for a 2-rank job seen from rank 0: "rank 1" answers every all-gather with rank
    /// 0's own bytes, or with `corrupt` applied to them.
    final class EchoRank: Communicator {
        var corrupt: (([UInt8]) -> [UInt8])?
        var rank: Int { 0 }
        var size: Int { 2 }
        func allGather(_ send: UnsafePointer<Float>, counts: [Int], into: UnsafeMutablePointer<Float>, what: String) throws {
            into.update(from: send, count: counts[0])
            (into + counts[0]).update(from: send, count: counts[1])
        }
        func allToAll(_ send: UnsafePointer<Float>, sendCounts: [Int], into: UnsafeMutablePointer<Float>, recvCounts: [Int],
                      what: String) throws {
            into.update(from: send, count: recvCounts[0])
            (into + recvCounts[0]).update(from: send, count: recvCounts[1])
        }
        func allGatherBytes(_ bytes: [UInt8], what: String, unlimitedWait: Bool) throws -> [[UInt8]] {
            [bytes, corrupt?(bytes) ?? bytes]
        }
        func abort(exitCode: Int32) -> Never { fatalError("abort \(exitCode)") }
        func finish() {}
    }

    func testReplicaCheckNamesTheRankWhoseAdaptersDiffer() throws {
        let train = try F.write(F.pairs(20), name: "train.jsonl")
        let echo = EchoRank()
        let trainer = try Trainer(recipe: try F.recipe(train: train, dev: nil, output: F.newDirectory("replica")), communicator: echo)
        try trainer.checkReplicas(what: "step 0")
        echo.corrupt = { bytes in var b = bytes; b[0] ^= 1; return b }   // the CRC's lowest byte
        let message = F.error { try trainer.checkReplicas(what: "step 0") }
        XCTAssertTrue(message.contains("the ranks' training states differ at step 0 (rank 1 has adapter CRC"), message)
        XCTAssertTrue(message.contains(String(format: "rank 0 %08x", trainer.parameterChecksum)), message)
    }

    /// Integer sums (token counts) over the stand-in's two identical "ranks".
    func testIntegerSumOverRanks() throws {
        XCTAssertEqual(try DeterministicAllReduce.sum([3, 4], communicator: EchoRank(), what: "test"), [6, 8])
        XCTAssertEqual(try DeterministicAllReduce.sum([3, 4], communicator: SingleProcess(), what: "test"), [3, 4])
    }
}
