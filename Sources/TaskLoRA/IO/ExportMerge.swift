import Foundation

/// A base checkpoint and (optionally) one adapter chosen from it, from the adapter-only checkpoint
/// that names it (`BaseModelReference`), or from extra adapter files: what `tasklora export` starts from.
public struct ExportSource {
    public var base: Checkpoint
    public var basePath: String
    public var config: EncoderConfig
    public var adapterName: String?
    public var adapter: AdapterArchive?
    public var adapterPath: String?
    public var loraConfig: LoRAConfig?
    public var prefix: String

    /// The base checkpoint behind `path` (itself, or the base an adapters-only run checkpoint names)
    /// and every adapter reachable from `path` and `adapterFiles` (later files win), with its file.
    static func gather(model path: String, adapterFiles: [String])
        throws -> (base: Checkpoint, basePath: String, archives: [String: (AdapterArchive, String)]) {
        let first = try Checkpoint.read(path: path)
        var base = first, basePath = path
        var archives: [String: (AdapterArchive, String)] = [:]
        if first.weights.isEmpty {
            (basePath, base) = try BaseModelReference.openBase(of: first, adapterPath: path)
            for (k, v) in base.adapters { archives[k] = (v, basePath) }
        }
        try requireFinite(base.weights, source: basePath, what: "weight")
        for (k, v) in first.adapters { archives[k] = (v, path) }
        for file in adapterFiles {
            let extra = try Checkpoint.read(path: file, loadWeights: false)
            try LoadedModel.checkSameModel(extra, adapterPath: file, base: base, basePath: basePath)
            for (k, v) in extra.adapters { archives[k] = (v, file) }
        }
        return (base, basePath, archives)
    }

    /// The base checkpoint holding every adapter `gather` finds: what a stacked export (the
    /// jina-embeddings-v3 release layout) writes, e.g. a base's five tasks plus a run's new one.
    public static func stackedCheckpoint(model path: String, adapterFiles: [String] = []) throws -> Checkpoint {
        var (base, _, archives) = try gather(model: path, adapterFiles: adapterFiles)
        for (name, (archive, from)) in archives.sorted(by: { $0.key < $1.key }) {
            try requireFinite(archive.tensors, source: from, what: "adapter \(name) tensor")
            base.adapters[name] = archive
        }
        return base
    }

    /// Exports refuse NaN and Inf: a model that holds them embeds nothing useful.
    static func requireFinite(_ tensors: [String: Tensor], source: String, what: String) throws {
        for (key, t) in tensors.sorted(by: { $0.key < $1.key }) where !t.buffer.allSatisfy(\.isFinite) {
            throw TaskLoRAError.file(source, "\(what) \(key) holds NaN or Inf; refusing to export it")
        }
    }

    public static func load(model path: String, adapterFiles: [String] = [], task: String?) throws -> ExportSource {
        let (base, basePath, archives) = try gather(model: path, adapterFiles: adapterFiles)
        let config = try EncoderConfig.decode(Data(base.configJSON.utf8), source: basePath)
        var source = ExportSource(base: base, basePath: basePath, config: config, adapterName: nil, adapter: nil,
                                  adapterPath: nil, loraConfig: nil, prefix: "")
        if let task {
            guard let (archive, from) = archives[task] else {
                let known = archives.keys.sorted().joined(separator: ", ")
                throw TaskLoRAError.file(path, "has no adapter \"\(task)\" (adapters: \(known.isEmpty ? "none" : known))")
            }
            let (lora, prefix) = try LoRAAdapters.config(of: archive, name: task, source: from)
            try AdapterMerge.checkShapes(archive, lora: lora, model: config, name: task, source: from)
            source.adapterName = task
            source.adapter = archive
            source.adapterPath = from
            source.loraConfig = lora
            source.prefix = prefix
        }
        return source
    }
}

/// Folding a LoRA adapter into the frozen weights: linear W (out, in) += s · B · A, embedding
/// E (V, H) += s · A · B, with s = alpha / rank; a fused qkv update is split back into q, k, v rows.
public enum AdapterMerge {
    public struct Report: Sendable {
        /// Largest |W' − W| over all merged weights, and where.
        public var maxAbsChange: Float
        public var maxAbsChangeTensor: String
        public var mergedTensors: Int
    }

    /// The canonical weight(s) a module updates: (weight name, first row inside the module's output).
    public static func targetWeights(modulePath: String, target: LoRATarget, hidden h: Int) -> [(String, Int)] {
        if target == .qkv {
            let layer = modulePath.replacingOccurrences(of: ".qkv", with: "")
            return [(layer + ".query.weight", 0), (layer + ".key.weight", h), (layer + ".value.weight", 2 * h)]
        }
        return [(modulePath + ".weight", 0)]
    }

    /// Checks every tensor of the archive against the shapes the model and config require.
    public static func checkShapes(_ archive: AdapterArchive, lora: LoRAConfig, model: EncoderConfig, name: String,
                                   source: String) throws {
        let adapters: LoRAAdapters
        do {
            adapters = try LoRAAdapters(names: [name], configs: [lora], model: model)
        } catch let e as TaskLoRAError {
            throw TaskLoRAError.file(source, "adapter \(name) does not fit the base model: \(e.message)")
        }
        var expected = Set<String>()
        for m in adapters.modules {
            let a = m.target.isEmbedding ? [m.inFeatures, m.rank] : [m.rank, m.inFeatures]
            let b = m.target.isEmbedding ? [m.rank, m.outFeatures] : [m.outFeatures, m.rank]
            for (suffix, shape) in [(".lora_A", a), (".lora_B", b)] {
                let key = m.modulePath + suffix
                expected.insert(key)
                guard let t = archive.tensors[key] else {
                    throw TaskLoRAError.file(source, "adapter \(name) is missing tensor \(key)")
                }
                guard t.shape == shape else {
                    throw TaskLoRAError.file(source, "adapter \(name) tensor \(key) has shape \(t.shape), but the base model needs \(shape)")
                }
                guard t.buffer.allSatisfy(\.isFinite) else {
                    throw TaskLoRAError.file(source, "adapter \(name) tensor \(key) holds NaN or Inf; refusing to merge or export it")
                }
            }
        }
        if let extra = archive.tensors.keys.sorted().first(where: { !expected.contains($0) && !LoRAAdapters.isCarriedTensor($0) }) {
            throw TaskLoRAError.file(source, "adapter \(name) has tensor \(extra), which its targets do not explain")
        }
    }

    /// The modules of one adapter in a fixed order (embeddings, then layer by layer).
    public static func modules(lora: LoRAConfig, model: EncoderConfig, name: String) throws -> [LoRAModule] {
        try LoRAAdapters(names: [name], configs: [lora], model: model).modules
    }

    /// `weights` with the adapter merged in (the tensors it changes are copies; the rest are shared).
    public static func merge(source: ExportSource) throws -> (weights: [String: Tensor], report: Report) {
        guard let archive = source.adapter, let lora = source.loraConfig, let name = source.adapterName else {
            return (source.base.weights, Report(maxAbsChange: 0, maxAbsChangeTensor: "", mergedTensors: 0))
        }
        var weights = source.base.weights
        let h = source.config.hiddenSize
        var report = Report(maxAbsChange: 0, maxAbsChangeTensor: "", mergedTensors: 0)
        for m in try modules(lora: lora, model: source.config, name: name) {
            let a = archive.tensors[m.modulePath + ".lora_A"]!, b = archive.tensors[m.modulePath + ".lora_B"]!
            for (weightName, row) in targetWeights(modulePath: m.modulePath, target: m.target, hidden: h) {
                guard let w = weights[weightName] else {
                    throw TaskLoRAError.file(source.basePath, "has no weight \(weightName) for adapter module \(m.modulePath)")
                }
                let merged = w.copy()
                if m.target.isEmbedding {
                    // (V, H) += s · A (V, r) · B (r, H)
                    guard w.shape == [m.inFeatures, m.outFeatures] else {
                        throw TaskLoRAError.file(source.basePath, "weight \(weightName) has shape \(w.shape), adapter \(name) expects [\(m.inFeatures), \(m.outFeatures)]")
                    }
                    BLAS.gemm(m: m.inFeatures, n: m.outFeatures, k: m.rank, alpha: m.scale, a: a.data, lda: m.rank,
                              b: b.data, ldb: m.outFeatures, beta: 1, c: merged.data, ldc: m.outFeatures)
                } else {
                    // (rows, in) += s · B[row ..< row + rows] (rows, r) · A (r, in)
                    let rows = w.shape[0]
                    guard w.shape.count == 2, w.shape[1] == m.inFeatures, row + rows <= m.outFeatures else {
                        throw TaskLoRAError.file(source.basePath, "weight \(weightName) has shape \(w.shape), which adapter \(name) module \(m.modulePath) does not fit")
                    }
                    BLAS.gemm(m: rows, n: m.inFeatures, k: m.rank, alpha: m.scale, a: b.data + row * m.rank, lda: m.rank,
                              b: a.data, ldb: m.inFeatures, beta: 1, c: merged.data, ldc: m.inFeatures)
                }
                var largest: Float = 0
                for i in 0..<w.count {
                    let v = merged.data[i]
                    guard v.isFinite else {
                        throw TaskLoRAError.file(source.adapterPath ?? source.basePath, "merging adapter \(name) makes \(weightName) non-finite (NaN or Inf); refusing to write it")
                    }
                    largest = max(largest, abs(v - w.data[i]))
                }
                if largest > report.maxAbsChange { report.maxAbsChange = largest; report.maxAbsChangeTensor = weightName }
                weights[weightName] = merged
                report.mergedTensors += 1
            }
        }
        return (weights, report)
    }

    /// A base checkpoint with the adapter merged and no adapters or training state left.
    public static func mergedCheckpoint(source: ExportSource) throws -> (Checkpoint, Report) {
        let (weights, report) = try merge(source: source)
        var ckpt = Checkpoint(configJSON: source.base.configJSON, tokenizer: source.base.tokenizer, weights: weights)
        ckpt.metadata = source.base.metadata
        ckpt.metadata["created_at"] = nil
        for key in BaseModelReference.metadataKeys { ckpt.metadata[key] = nil }
        ckpt.metadata["kind"] = nil
        if let name = source.adapterName {
            ckpt.metadata["merged_adapter"] = name
            ckpt.metadata["merged_adapter_prefix"] = source.prefix
            ckpt.metadata["merged_from"] = source.adapterPath ?? source.basePath
        }
        return (ckpt, report)
    }
}
