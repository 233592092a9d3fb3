/// Adapters in checkpoints: one `AdapterArchive` per named adapter, holding `<module>.lora_A` and
/// `<module>.lora_B` in tasklora's layout (linear A (r, in), B (out, r); embedding A (vocab, r),
/// B (r, H)) and its settings as attributes.
extension LoRAAdapters {
    public func archive(adapter: Int, prefix: String = "") -> AdapterArchive {
        let c = configs[adapter]
        var tensors: [String: Tensor] = [:]
        for m in modules where m.adapter == adapter {
            let aShape = m.target.isEmbedding ? [m.inFeatures, m.rank] : [m.rank, m.inFeatures]
            let bShape = m.target.isEmbedding ? [m.rank, m.outFeatures] : [m.outFeatures, m.rank]
            let a = Tensor(zeros: aShape), b = Tensor(zeros: bShape)
            a.data.update(from: parameters + m.aOffset, count: m.aCount)
            b.data.update(from: parameters + m.bOffset, count: m.bCount)
            tensors[m.modulePath + ".lora_A"] = a
            tensors[m.modulePath + ".lora_B"] = b
        }
        return AdapterArchive(attributes: [
            "rank": String(c.rank), "alpha": String(c.alpha), "dropout": String(c.dropout),
            "targets": c.targets.map(\.rawValue).joined(separator: ","), "prefix": prefix,
        ], tensors: tensors)
    }

    /// The settings stored with an adapter archive.
    public static func config(of archive: AdapterArchive, name: String, source: String) throws -> (LoRAConfig, String) {
        func attr(_ key: String) throws -> String {
            guard let v = archive.attributes[key] else {
                throw TaskLoRAError.file(source, "adapter \(name) has no attribute \(key)")
            }
            return v
        }
        guard let rank = Int(try attr("rank")), let alpha = Double(try attr("alpha")) else {
            throw TaskLoRAError.file(source, "adapter \(name) has a malformed rank or alpha")
        }
        let dropout = Double(archive.attributes["dropout"] ?? "0") ?? 0
        var targets: [LoRATarget] = []
        for t in try attr("targets").split(separator: ",") {
            guard let target = LoRATarget.parse(String(t)) else {
                throw TaskLoRAError.file(source, "adapter \(name) has unknown target \(t)")
            }
            targets.append(target)
        }
        return (LoRAConfig(rank: rank, alpha: alpha, dropout: dropout, targets: targets), archive.attributes["prefix"] ?? "")
    }

    /// Builds adapters from archives (e.g. a checkpoint's `/adapters`), checking every tensor's shape.
    public convenience init(archives: [(name: String, archive: AdapterArchive)], model: EncoderConfig, source: String) throws {
        let configs = try archives.map { try Self.config(of: $0.archive, name: $0.name, source: source).0 }
        try self.init(names: archives.map(\.name), configs: configs, model: model)
        for (ai, entry) in archives.enumerated() {
            try load(adapter: ai, from: entry.archive, source: source)
        }
    }

    /// Archive tensors that are kept but never loaded: the pooler's LoRA of jina-embeddings-v3
    /// (`pooler.dense.lora_A/B`, see docs/jina-v3.md); no embedding uses the pooler.
    public static func isCarriedTensor(_ key: String) -> Bool { key.hasPrefix("pooler.dense.") }

    /// Copies an archive's tensors into adapter `adapter`'s parameters.
    public func load(adapter: Int, from archive: AdapterArchive, source: String) throws {
        var expected = Set<String>()
        for m in modules where m.adapter == adapter {
            for (suffix, offset, count) in [(".lora_A", m.aOffset, m.aCount), (".lora_B", m.bOffset, m.bCount)] {
                let key = m.modulePath + suffix
                expected.insert(key)
                guard let t = archive.tensors[key] else {
                    throw TaskLoRAError.file(source, "adapter \(names[adapter]) is missing tensor \(key)")
                }
                guard t.count == count else {
                    throw TaskLoRAError.file(source, "adapter \(names[adapter]) tensor \(key) has shape \(t.shape), expected \(count) elements")
                }
                (parameters + offset).update(from: t.data, count: count)
            }
        }
        if let extra = archive.tensors.keys.first(where: { !expected.contains($0) && !Self.isCarriedTensor($0) }) {
            throw TaskLoRAError.file(source, "adapter \(names[adapter]) has tensor \(extra), which its targets do not explain")
        }
    }
}
