import Foundation
import TaskLoRA
#if canImport(Glibc)
import Glibc
#endif

/// Test hook for the fault tests of data-parallel training: `TASKLORA_TEST_FAULT=RANK:STEP:KIND`
/// makes rank RANK, right after step STEP, die at once (`kill`: SIGKILL, as an out-of-memory kill
/// or a lost machine) or stop making progress (`hang`), so the tests can check that the job still
/// ends within bounded time, names the rank and leaves a checkpoint to resume from.
struct RankFault {
    enum Kind: String { case kill, hang }
    var rank: Int, step: Int, kind: Kind

    static func fromEnvironment() throws -> RankFault? {
        guard let text = ProcessInfo.processInfo.environment["TASKLORA_TEST_FAULT"] else { return nil }
        let parts = text.split(separator: ":").map(String.init)
        guard parts.count == 3, let rank = Int(parts[0]), let step = Int(parts[1]), let kind = Kind(rawValue: parts[2]) else {
            throw TaskLoRAError("TASKLORA_TEST_FAULT must be RANK:STEP:kill or RANK:STEP:hang, got \"\(text)\"")
        }
        return RankFault(rank: rank, step: step, kind: kind)
    }

    func strike(rank: Int, step: Int) {
        guard rank == self.rank, step == self.step else { return }
        switch kind {
        case .kill: kill(getpid(), SIGKILL)
        case .hang: while true { sleep(3600) }
        }
    }
}
