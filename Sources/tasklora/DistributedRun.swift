import ArgumentParser
import Foundation
import TaskLoRA

/// Runs a subcommand's body as one rank of the job the launcher started (`mpirun -np N`, `srun`),
/// or as the whole job without one. An error on any rank of a multi-rank job is printed with the
/// rank and ends every rank (MPI_Abort), so a job never waits on a rank that has given up.
func runAsRank(_ body: (Communicator) throws -> Void) throws {
    let communicator = try DistributedLaunch.communicator()
    do {
        try body(communicator)
    } catch let exit as ExitCode {
        communicator.finish()
        throw exit
    } catch {
        if communicator.size > 1 {
            FileHandle.standardError.write(Data("tasklora: error (rank \(communicator.rank) of \(communicator.size)): \(error)\n".utf8))
            communicator.abort(exitCode: 1)
        }
        throw error
    }
    communicator.finish()
}
