import ArgumentParser
import TaskLoRA

@main
struct TaskLoRACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tasklora",
        abstract: "Train task-specific LoRA adapters on frozen multilingual embedding encoders.",
        subcommands: [])
}
