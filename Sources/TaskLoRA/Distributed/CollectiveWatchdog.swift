import CMPI
import Foundation

/// Waits for nonblocking MPI requests with a time limit, so that a rank that died or hangs ends
/// the job with one line naming it instead of leaving the others blocked forever.
///
/// Each watched collective is preceded by an arrival note: every other rank sends rank 0 the
/// collective's sequence number (a point-to-point message, 8 bytes). When rank 0 has waited
/// `timeout` seconds it knows which ranks' notes for this collective are missing, prints them and
/// aborts the job. A rank other than 0 that times out gives rank 0 a grace period to do so, then
/// aborts itself (rank 0 may be the one that hangs). mpirun ends the job by itself, and names the
/// rank, when a process dies outright; the watchdog covers the ranks that stop without dying
/// (a stopped process, a deadlock, a lost network).
struct CollectiveWatchdog {
    let comm: MPI_Comm?
    let rank: Int, size: Int
    let timeout: Double
    private(set) var sequence: Int64 = 0
    private static let arrivalTag: Int32 = 7713

    init(comm: MPI_Comm?, rank: Int, size: Int, timeout: Double) {
        self.comm = comm
        self.rank = rank
        self.size = size
        self.timeout = timeout
    }

    /// Posts the arrival notes of the next collective; returns their requests (to wait with it) and
    /// the buffers they use (kept alive until then).
    mutating func arrive() -> (requests: [MPI_Request?], buffer: UnsafeMutablePointer<Int64>) {
        sequence += 1
        let buffer = UnsafeMutablePointer<Int64>.allocate(capacity: max(size, 1))
        buffer.initialize(repeating: sequence, count: max(size, 1))
        var requests: [MPI_Request?] = []
        if rank == 0 {
            for q in 1..<size {
                var r: MPI_Request? = tasklora_mpi_request_null()
                MPI_Irecv(buffer + q, 1, tasklora_mpi_int64(), Int32(q), Self.arrivalTag, comm, &r)
                requests.append(r)
            }
        } else {
            var r: MPI_Request? = tasklora_mpi_request_null()
            MPI_Isend(buffer, 1, tasklora_mpi_int64(), 0, Self.arrivalTag, comm, &r)
            requests.append(r)
        }
        return (requests, buffer)
    }

    /// Waits for `collective` and the arrival notes; past the time limit (unless `unlimited`),
    /// reports and aborts the job.
    func wait(collective: inout [MPI_Request?], arrivals: (requests: [MPI_Request?], buffer: UnsafeMutablePointer<Int64>),
              what: String, unlimited: Bool) throws {
        var notes = arrivals.requests
        defer { arrivals.buffer.deallocate() }
        let start = DispatchTime.now().uptimeNanoseconds
        var spins = 0
        var noteDone = [Bool](repeating: false, count: notes.count)
        while true {
            var flag: Int32 = 0
            let rc = MPI_Testall(Int32(collective.count), &collective, &flag, nil)
            guard rc == tasklora_mpi_success() else { throw MPICommunicator.error(rc, what) }
            for i in notes.indices where !noteDone[i] {
                var one: Int32 = 0
                MPI_Test(&notes[i], &one, tasklora_mpi_status_ignore())
                noteDone[i] = one != 0
            }
            if flag != 0, !noteDone.contains(false) { return }
            spins += 1
            if spins > 2000 { usleep(spins > 20_000 ? 1000 : 100) }
            let waited = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if unlimited || waited < timeout { continue }
            if rank == 0 {
                let missing = noteDone.enumerated().filter { !$0.element }.map { String($0.offset + 1) }
                let who = missing.isEmpty ? "every rank arrived but the exchange did not finish (a lost network?)"
                    : "rank\(missing.count == 1 ? "" : "s") \(missing.joined(separator: ", ")) did not arrive"
                Self.fail("\(what) (collective \(sequence)): \(who) within \(Self.format(timeout)) s (TASKLORA_MPI_TIMEOUT); ending the job",
                          comm: comm)
            }
            // Give rank 0 time to name the missing ranks, then end the job from here.
            if waited < timeout + max(5, timeout / 10) { continue }
            Self.fail("rank \(rank) waited \(Self.format(waited)) s in \(what) (collective \(sequence)) and rank 0 did not report; rank 0 may be the one that hangs; ending the job",
                      comm: comm)
        }
    }

    static func format(_ seconds: Double) -> String { String(format: "%.0f", seconds) }

    /// One error line, then MPI_Abort (mpirun ends every rank).
    static func fail(_ message: String, comm: MPI_Comm?) -> Never {
        FileHandle.standardError.write(Data("tasklora: error: \(message)\n".utf8))
        MPI_Abort(comm, 1)
        exit(1)
    }
}
