import ArgumentParser
import TaskLoRA

@main
struct TaskLoRACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tasklora",
        abstract: "Train task-specific LoRA adapters on frozen multilingual embedding encoders.",
        discussion: "Checkpoints are HDF5 files (see docs/checkpoint-format.md).",
        subcommands: [ImportCommand.self, InspectCommand.self, TokenizeCommand.self, EmbedCommand.self, SimilarityCommand.self, TrainCommand.self, ReportCommand.self, EvalCommand.self, ExportCommand.self, CorpusCommand.self, MineCommand.self])

    static func main() {
        // Before anything else: OpenBLAS's generic fallback kernel on a CPU it does not know costs 3×.
        OpenBLASKernel.reexecIfGeneric()
        Self.main(nil)
    }
}
