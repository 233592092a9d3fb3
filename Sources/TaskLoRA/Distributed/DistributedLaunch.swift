import Foundation

/// Whether this process was started by a launcher as one of several (`mpirun -np N`, `srun` with
/// N tasks), read from the environment the launchers set. Only then does tasklora initialize MPI:
/// a plain `tasklora train` (or a launch with one process) never calls MPI at all.
public enum DistributedLaunch {
    /// The world size the launcher announced (1 without a launcher).
    public static func worldSize(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Int {
        // Open MPI's mpirun; MPICH/Hydra and Slurm's PMI; Slurm's own task count.
        for key in ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "SLURM_NTASKS"] {
            if let n = environment[key].flatMap(Int.init), n >= 1 {
                // SLURM_NTASKS alone is set in every job step's environment, even a batch script's:
                // only a task that srun started (SLURM_PROCID) is a rank.
                if key == "SLURM_NTASKS", environment["SLURM_PROCID"] == nil { continue }
                return n
            }
        }
        return 1
    }

    /// The communicator for this process: MPI when launched as one of several, else `SingleProcess`.
    /// `timeout`: seconds a rank waits in a collective before it names the missing ranks and ends
    /// the job (`TASKLORA_MPI_TIMEOUT`, default 300).
    public static func communicator(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Communicator {
        guard worldSize(environment) > 1 else { return SingleProcess() }
        var timeout = 300.0
        if let text = environment["TASKLORA_MPI_TIMEOUT"] {
            guard let t = Double(text), t > 0, t.isFinite else {
                throw TaskLoRAError("TASKLORA_MPI_TIMEOUT must be a positive number of seconds, got \"\(text)\"")
            }
            timeout = t
        }
        return try MPICommunicator(timeout: timeout)
    }
}
