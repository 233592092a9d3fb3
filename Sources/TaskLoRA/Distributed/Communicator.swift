import Foundation

/// The processes of one data-parallel job and the collectives the trainer needs between them.
///
/// Distribution lives between the trainer and the losses, never inside the ops: the encoder and its
/// kernels run on one process's rows as always; the trainer exchanges pooled embeddings, gradient
/// sums and a few counters through this protocol. `SingleProcess` is the whole job when tasklora
/// runs without a launcher (no MPI call at all); `MPICommunicator` when `mpirun`/`srun` started it
/// with more than one process (`DistributedLaunch`).
///
/// Every collective must be called by every rank, in the same order. `what` names the collective
/// in the error a rank that waits too long reports (`CollectiveWatchdog`).
public protocol Communicator: AnyObject {
    /// This process's rank, 0..<size.
    var rank: Int { get }
    /// The number of processes in the job (the world size).
    var size: Int { get }
    /// Concatenates every rank's floats in rank order: rank q contributes `counts[q]` floats
    /// (`send` holds this rank's `counts[rank]`), `into` receives Σ counts.
    func allGather(_ send: UnsafePointer<Float>, counts: [Int], into: UnsafeMutablePointer<Float>, what: String) throws
    /// Personalized exchange: this rank sends `sendCounts[q]` floats to rank q (the blocks lie
    /// in `send` in rank order) and receives `recvCounts[q]` floats from rank q (in `into`, in rank order).
    func allToAll(_ send: UnsafePointer<Float>, sendCounts: [Int], into: UnsafeMutablePointer<Float>, recvCounts: [Int],
                  what: String) throws
    /// Every rank's bytes (of any length), in rank order. `unlimitedWait` waits without the
    /// watchdog's limit (while rank 0 evaluates, say), otherwise a missing rank ends the job.
    func allGatherBytes(_ bytes: [UInt8], what: String, unlimitedWait: Bool) throws -> [[UInt8]]
    /// Ends every process of the job now (after a fault that leaves no way to continue together).
    func abort(exitCode: Int32) -> Never
    /// Ends the job's communication normally; call once, when the process is done.
    func finish()
}

extension Communicator {
    public var isRoot: Bool { rank == 0 }

    /// Every rank's integers, in rank order (each rank must pass the same count).
    public func allGather(_ values: [Int64], what: String, unlimitedWait: Bool = false) throws -> [[Int64]] {
        let bytes = values.withUnsafeBytes { Array($0) }
        return try allGatherBytes(bytes, what: what, unlimitedWait: unlimitedWait).map { b in
            b.withUnsafeBytes { raw in Array(raw.bindMemory(to: Int64.self)) }
        }
    }

    /// Rank 0's bytes on every rank (the others' `bytes` are ignored).
    public func broadcastFromRoot(_ bytes: [UInt8], what: String, unlimitedWait: Bool = false) throws -> [UInt8] {
        try allGatherBytes(isRoot ? bytes : [], what: what, unlimitedWait: unlimitedWait)[0]
    }

    /// Waits until every rank has arrived here.
    public func barrier(_ what: String, unlimitedWait: Bool = false) throws {
        _ = try allGatherBytes([], what: what, unlimitedWait: unlimitedWait)
    }
}

/// The job of one process: every collective is a copy. No MPI call is ever made.
public final class SingleProcess: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func allGather(_ send: UnsafePointer<Float>, counts: [Int], into: UnsafeMutablePointer<Float>, what: String) throws {
        into.update(from: send, count: counts[0])
    }
    public func allToAll(_ send: UnsafePointer<Float>, sendCounts: [Int], into: UnsafeMutablePointer<Float>, recvCounts: [Int],
                         what: String) throws {
        into.update(from: send, count: sendCounts[0])
    }
    public func allGatherBytes(_ bytes: [UInt8], what: String, unlimitedWait: Bool) throws -> [[UInt8]] { [bytes] }
    public func abort(exitCode: Int32) -> Never { exit(exitCode) }
    public func finish() {}
}
