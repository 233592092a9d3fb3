import ArgumentParser
import Foundation
import TaskLoRA

struct ExportCommand: ParsableCommand {
    enum Format: String, ExpressibleByArgument, CaseIterable { case hdf5, hf, peft, jina }
    enum Precision: String, ExpressibleByArgument, CaseIterable { case f32, bf16 }

    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a model with an adapter: merged HDF5 checkpoint, Hugging Face / sentence-transformers folder, PEFT adapter, or the jina-embeddings-v3 release layout with every adapter stacked.",
        discussion: "See docs/export.md. Folders are built beside --out and renamed into place; an existing --out folder is refused.")

    @OptionGroup var model: ModelOptions

    @Option(name: .long, help: "hdf5 (merged checkpoint), hf (model folder; adapter merged when --task is given), peft, or jina (release layout: config.json + model.safetensors with all adapters of --model and --adapters stacked).")
    var format: Format

    @Option(name: .long, help: "jina: tensor precision, f32 or bf16.")
    var dtype: Precision = .f32

    @Option(name: .long, help: "Output: .h5 file (hdf5) or a new folder (hf, peft).")
    var out: String

    @Option(name: .long, help: "The model's original tokenizer.json (needed for hf when the checkpoint's tokenizer is not WordPiece).")
    var tokenizerJson: String?

    @Option(name: .long, help: "hf, peft: the base model's name on the Hub or its folder, for the model card's base_model and peft's base_model_name_or_path (default: the base checkpoint path).")
    var baseModelName: String?

    @Option(name: .long, help: ArgumentHelp("hf, peft: a language of the model card (repeatable; default: multilingual for SentencePiece models, en otherwise).",
                                            valueName: "code"))
    var language: [String] = []

    @Flag(name: .long, help: "hdf5: replace an existing --out file (atomically). Folders are never replaced.")
    var force = false

    @Option(name: .long, help: "hf: max_seq_length for sentence-transformers.")
    var maxLength = 512

    func validate() throws {
        if format == .jina, model.task != nil { throw ValidationError("--format jina exports every adapter; drop --task") }
        if format != .hf, format != .jina, model.task == nil { throw ValidationError("--format \(format.rawValue) needs --task (the adapter to export)") }
        if format == .hdf5, !out.lowercased().hasSuffix(".h5") { throw ValidationError("--out must end in .h5 for --format hdf5") }
        if format == .jina, model.adapterStrength != nil {
            throw ValidationError("--adapter-strength applies to one adapter (--format hf|peft|hdf5 with --task), not to --format jina's stack")
        }
    }

    func run() throws {
        if format != .hdf5 || !force, FileManager.default.fileExists(atPath: out) {
            throw TaskLoRAError.file(out, "already exists; remove it or choose another --out" + (format == .hdf5 ? " (or --force)" : ""))
        }
        if format == .jina { return try exportStacked() }
        var source = try ExportSource.load(model: model.model, adapterFiles: model.adapters, task: model.task)
        if let strength = model.adapterStrength {
            guard let archive = source.adapter else {
                throw TaskLoRAError.file(model.model, "--adapter-strength needs an adapter to scale (--task)")
            }
            source.adapter = archive.atStrength(strength)
        }
        if format == .hdf5 {
            let (ckpt, report) = try AdapterMerge.mergedCheckpoint(source: source)
            try ckpt.write(to: out)
            summary(report)
        } else if format == .hf {
            let (weights, report) = try AdapterMerge.merge(source: source)
            try HuggingFaceExport.writeFolder(out) { dir in
                try HuggingFaceExport.writeModel(source: source, weights: weights, to: dir, tokenizerJSON: tokenizerJson,
                                                 maxSeqLength: maxLength, whitespace: model.whitespace)
                try writeCard(ModelCard.sentenceTransformers(source: source, folderName: out, baseModel: baseModelName ?? source.basePath,
                                                             languages: languages(source), run: run(source)), in: dir)
            }
            if source.adapterName != nil { summary(report) }
        } else {
            try HuggingFaceExport.writeFolder(out) { dir in
                try HuggingFaceExport.writePEFT(source: source, to: dir, baseModel: baseModelName ?? source.basePath)
                try writeCard(ModelCard.peft(source: source, folderName: out, baseModel: baseModelName ?? source.basePath,
                                             languages: languages(source), run: run(source)), in: dir)
            }
        }
        note("wrote \(out)" + (source.prefix.isEmpty ? "" : " (adapter \(source.adapterName!) expects the prefix \"\(source.prefix)\")"))
    }

    /// `--format jina`: the base with every adapter reachable from --model and --adapters, stacked.
    private func exportStacked() throws {
        let ckpt = try ExportSource.stackedCheckpoint(model: model.model, adapterFiles: model.adapters)
        try HuggingFaceExport.writeFolder(out) { dir in
            try JinaV3Layout.export(checkpoint: ckpt, to: dir, dtype: dtype == .f32 ? .f32 : .bf16)
        }
        let order = try JinaV3Layout.taskOrder(checkpoint: ckpt)
        note("wrote \(out): jina-embeddings-v3 layout, \(order.count) adapters stacked (\(order.joined(separator: ", ")))")
    }

    /// README.md, the model card (docs/export.md).
    private func writeCard(_ text: String, in dir: String) throws {
        try OutputFile.write(Data(text.utf8), to: (dir as NSString).appendingPathComponent("README.md"))
    }

    private func languages(_ source: ExportSource) -> [String] { language.isEmpty ? ModelCard.defaultLanguages(source) : language }

    /// The training run of the exported adapter: the folder of the file it came from.
    private func run(_ source: ExportSource) -> ModelCard.Run? {
        guard source.adapterName != nil, let file = source.adapterPath, file != source.basePath else { return nil }
        return ModelCard.Run.of(adapterPath: file)
    }

    private func summary(_ r: AdapterMerge.Report) {
        note(String(format: "merged %@ into %d weight tensors; largest absolute change %.6g (%@)",
                    source(), r.mergedTensors, Double(r.maxAbsChange), r.maxAbsChangeTensor))
    }

    private func source() -> String { model.task ?? "" }
}
