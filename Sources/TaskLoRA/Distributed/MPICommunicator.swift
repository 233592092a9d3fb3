import CMPI
import Foundation

/// The job's processes over MPI (Open MPI's `mpirun`, Slurm's `srun`): `MPI_COMM_WORLD`, with
/// every collective nonblocking and waited for under a `CollectiveWatchdog`.
///
/// MPI is called from the main thread only (MPI_THREAD_FUNNELED); the kernels' worker threads
/// never touch it. Errors come back as return codes (MPI_ERRORS_RETURN) and become `TaskLoRAError`s.
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    private let comm: MPI_Comm?
    private var watchdog: CollectiveWatchdog
    private var finished = false
    /// Bytes this rank has received from the others in collectives (its own share not counted),
    /// and the number of collectives: what `docs/distributed.md` reports per step.
    public private(set) var bytesReceived = 0, collectives = 0

    public init(timeout: Double) throws {
        var provided: Int32 = 0
        var rc = MPI_Init_thread(nil, nil, tasklora_mpi_thread_funneled(), &provided)
        guard rc == tasklora_mpi_success() else { throw Self.error(rc, "MPI_Init_thread") }
        comm = tasklora_mpi_comm_world()
        MPI_Comm_set_errhandler(comm, tasklora_mpi_errors_return())
        var r: Int32 = 0, n: Int32 = 0
        rc = MPI_Comm_rank(comm, &r)
        guard rc == tasklora_mpi_success() else { throw Self.error(rc, "MPI_Comm_rank") }
        MPI_Comm_size(comm, &n)
        rank = Int(r)
        size = Int(n)
        watchdog = CollectiveWatchdog(comm: comm, rank: rank, size: size, timeout: timeout)
    }

    static func error(_ code: Int32, _ what: String) -> TaskLoRAError {
        var text = [CChar](repeating: 0, count: 1024)
        var length: Int32 = 0
        MPI_Error_string(code, &text, &length)
        let message = String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return TaskLoRAError("MPI: \(what) failed: \(message) (error \(code))")
    }

    /// Counts and displacements in memory of their own: a nonblocking collective reads them until
    /// it completes, longer than a Swift array's temporary pointer lives.
    private final class Layout {
        let counts: UnsafeMutablePointer<Int32>, displs: UnsafeMutablePointer<Int32>
        let total: Int
        init(_ values: [Int]) {
            counts = .allocate(capacity: max(values.count, 1))
            displs = .allocate(capacity: max(values.count, 1))
            var at = 0
            for (q, c) in values.enumerated() {
                counts[q] = Int32(c)
                displs[q] = Int32(at)
                at += c
            }
            total = at
        }
        deinit {
            counts.deallocate()
            displs.deallocate()
        }
    }

    private func layout(_ counts: [Int], _ what: String) throws -> Layout {
        guard counts.count == size else { throw TaskLoRAError("MPI: \(what): \(counts.count) counts for \(size) ranks") }
        guard counts.allSatisfy({ $0 >= 0 }), counts.reduce(0, +) <= Int(Int32.max) else {
            throw TaskLoRAError("MPI: \(what): counts \(counts) out of range")
        }
        return Layout(counts)
    }

    /// Starts one nonblocking collective and waits for it under the watchdog.
    private func run(_ what: String, unlimited: Bool, _ start: (UnsafeMutablePointer<MPI_Request?>) -> Int32) throws {
        collectives += 1
        let arrivals = watchdog.arrive()
        var request: [MPI_Request?] = [tasklora_mpi_request_null()]
        let rc = request.withUnsafeMutableBufferPointer { start($0.baseAddress!) }
        guard rc == tasklora_mpi_success() else {
            arrivals.buffer.deallocate()
            throw Self.error(rc, what)
        }
        try watchdog.wait(collective: &request, arrivals: arrivals, what: what, unlimited: unlimited)
    }

    public func allGather(_ send: UnsafePointer<Float>, counts: [Int], into: UnsafeMutablePointer<Float>, what: String) throws {
        let l = try layout(counts, what)
        try withExtendedLifetime(l) {
            try run(what, unlimited: false) { r in
                MPI_Iallgatherv(send, l.counts[rank], tasklora_mpi_float(), into, l.counts, l.displs, tasklora_mpi_float(), comm, r)
            }
        }
        bytesReceived += (l.total - counts[rank]) * MemoryLayout<Float>.size
    }

    public func allToAll(_ send: UnsafePointer<Float>, sendCounts: [Int], into: UnsafeMutablePointer<Float>, recvCounts: [Int],
                         what: String) throws {
        let s = try layout(sendCounts, what), r_ = try layout(recvCounts, what)
        try withExtendedLifetime((s, r_)) {
            try run(what, unlimited: false) { r in
                MPI_Ialltoallv(send, s.counts, s.displs, tasklora_mpi_float(), into, r_.counts, r_.displs, tasklora_mpi_float(), comm, r)
            }
        }
        bytesReceived += (r_.total - recvCounts[rank]) * MemoryLayout<Float>.size
    }

    public func allGatherBytes(_ bytes: [UInt8], what: String, unlimitedWait: Bool) throws -> [[UInt8]] {
        // Lengths first, then the bytes.
        let lengths = UnsafeMutablePointer<Int64>.allocate(capacity: size + 1)
        defer { lengths.deallocate() }
        lengths[size] = Int64(bytes.count)
        try run(what, unlimited: unlimitedWait) { r in
            MPI_Iallgather(lengths + size, 1, tasklora_mpi_int64(), lengths, 1, tasklora_mpi_int64(), comm, r)
        }
        let l = try layout((0..<size).map { Int(lengths[$0]) }, what)
        let send = UnsafeMutablePointer<UInt8>.allocate(capacity: max(bytes.count, 1))
        let all = UnsafeMutablePointer<UInt8>.allocate(capacity: max(l.total, 1))
        defer {
            send.deallocate()
            all.deallocate()
        }
        if !bytes.isEmpty { bytes.withUnsafeBufferPointer { send.update(from: $0.baseAddress!, count: bytes.count) } }
        try withExtendedLifetime(l) {
            try run(what, unlimited: unlimitedWait) { r in
                MPI_Iallgatherv(send, l.counts[rank], tasklora_mpi_byte(), all, l.counts, l.displs, tasklora_mpi_byte(), comm, r)
            }
        }
        bytesReceived += (size - 1) * 8 + l.total - bytes.count
        return (0..<size).map { q in Array(UnsafeBufferPointer(start: all + Int(l.displs[q]), count: Int(l.counts[q]))) }
    }

    public func abort(exitCode: Int32) -> Never {
        MPI_Abort(comm, exitCode)
        exit(exitCode)
    }

    public func finish() {
        guard !finished else { return }
        finished = true
        MPI_Finalize()
    }
}
