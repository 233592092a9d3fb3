import ArgumentParser

/// How the commands that embed texts cut them into forward passes (`embed`, `eval`, `mine`).
struct BatchOptions: ParsableArguments {
    @Option(name: .long, help: "Sequences per forward pass.")
    var batchSize = 32

    @Option(name: .long, help: "Maximum tokens per text, special tokens included.")
    var maxLength = 512

    func validate() throws {
        guard (1...4096).contains(batchSize) else { throw ValidationError("--batch-size must be in 1...4096") }
        guard maxLength >= 2 else { throw ValidationError("--max-length must be at least 2") }
    }
}
