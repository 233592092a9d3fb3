import ArgumentParser
import Foundation
import TaskLoRA

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train LoRA adapters from a recipe (see docs/recipes.md).",
        discussion: """
            Writes the run directory named by the recipe's `output`: recipe.yaml, metrics.jsonl, \
            checkpoints/step-*.h5, best.h5 and final.h5. --resume RUN_DIR continues a run from its \
            newest complete checkpoint so that the remaining steps equal those of an uninterrupted run.

            SIGINT (Ctrl-C) or SIGTERM: the current step is finished, a checkpoint of it saved and \
            named, and the process exits with 130 (SIGINT) or 143 (SIGTERM); resume with --resume. \
            A second signal ends the process at once (the previous checkpoint stays intact).

            Under `mpirun -np N` or `srun` the run is data-parallel over N processes with the same \
            global batch, data order and results as one process (docs/distributed.md); rank 0 writes \
            the run directory.
            """)

    @Argument(help: "The recipe (.yaml). Optional with --resume, which reads RUN_DIR/recipe.yaml.")
    var recipe: String?

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a recipe key, e.g. --set optimizer.lr=1e-4.",
                                                          valueName: "key=value"))
    var overrides: [String] = []

    @Option(name: .long, help: "Continue the run in this directory.")
    var resume: String?

    func validate() throws {
        if recipe == nil, resume == nil { throw ValidationError("give a recipe, or --resume RUN_DIR") }
        if let bad = overrides.first(where: { !$0.contains("=") }) {
            throw ValidationError("--set expects key=value, got \(bad)")
        }
    }

    func run() throws {
        try runAsRank { communicator in try train(communicator) }
    }

    private func train(_ communicator: Communicator) throws {
        let root = communicator.isRoot
        let path = recipe ?? resume! + "/recipe.yaml"
        var loaded = try Recipe.load(path: path, overrides: overrides)
        if let resume { loaded.output = resume }
        try loaded.checkInputs(source: path)
        let stop = StopRequest()
        stop.catchInterrupts { signal in
            if root { note("\(StopRequest.name(of: signal)): saving a checkpoint after the current step (send it again to quit at once)") }
        }
        let trainer = try Trainer(recipe: loaded, resume: resume != nil, communicator: communicator, log: { note($0) })
        trainer.stopRequest = stop
        let bar = root ? ProgressBar("train", total: loaded.schedule.steps) : nil
        let fault = try RankFault.fromEnvironment()
        let report = try trainer.train(progress: { p in
            fault?.strike(rank: communicator.rank, step: p.step)
            bar?.update(p.step, unit: "steps",
                        status: String(format: "loss %.4f  lr %.2e  %.0f tokens/s", p.loss, p.lr, p.tokensPerSecond))
        }, evaluated: { r in
            guard root else { return }
            note(String(format: "eval step %d: score %.4f (eval.select %@; in parentheses: the gain over the base with its native prompts)",
                        r.step, r.value, loaded.eval.select.rawValue))
            for line in r.summaryLines { note("  " + line) }
        })
        if let signal = trainer.stoppedBy, let checkpoint = trainer.stopCheckpoint {
            if root {
                print("interrupted at step \(trainer.step) of \(loaded.schedule.steps): saved \(checkpoint); "
                      + "continue with: tasklora train --resume \(trainer.run.path)")
            }
            throw ExitCode(StopRequest.exitStatus(signal: signal))
        }
        guard root else { return }
        if let mpi = communicator as? MPICommunicator, trainer.step > 0 {
            note("communication: rank 0 received \(mpi.bytesReceived) bytes in \(mpi.collectives) collectives over this run's steps")
        }
        if let best = trainer.best {
            note(String(format: "best %@ %.4f at step %d", report?.metric ?? "", best.value, best.step)
                 + (best.strength == 1 ? "" : String(format: ", adapter strength %g (folded into best.h5)", best.strength)))
        }
        if trainer.skippedSteps > 0 { warn("\(trainer.skippedSteps) steps skipped for NaN/Inf loss or gradients") }
        print("run directory: \(trainer.run.path) (final adapters: \(trainer.run.finalPath))")
    }
}
