import Foundation

/// How `/weights` tensors are stored. Adapters and training state are always float32.
public enum WeightStorage: String, Sendable, CaseIterable {
    case float32, float16, bfloat16
}

/// One adapter: its settings (rank, alpha, target modules, ...) and its tensors.
public struct AdapterArchive: Sendable {
    public var attributes: [String: String]
    public var tensors: [String: Tensor]

    public init(attributes: [String: String] = [:], tensors: [String: Tensor] = [:]) {
        self.attributes = attributes
        self.tensors = tensors
    }
}

/// tasklora's HDF5 checkpoint: model config, tokenizer, frozen weights, adapters and
/// optional training state, in a layout h5py reads directly (docs/checkpoint-format.md).
/// Every dataset carries the CRC-32 of its stored bytes as attribute `checksum`.
public struct Checkpoint: Sendable {
    public static let formatName = "tasklora"
    /// The version this build writes and the newest it reads.
    public static let currentFormatVersion = 1

    /// The version read from the file; `write` always writes `currentFormatVersion`.
    public var formatVersion: Int
    /// Root string attributes: created_by, source, created_at, and any others.
    public var metadata: [String: String]
    /// The model's Hugging Face-style config.json text.
    public var configJSON: String
    public var tokenizer: TokenizerArchive?
    /// Encoder weights by dotted name, e.g. `encoder.layer.0.attention.self.query.weight`.
    public var weights: [String: Tensor]
    /// Matrices of `/weights` stored as bfloat16, kept as their bits: filled only by
    /// `read(…, keepBFloat16Matrices: true)` (bf16 compute), empty otherwise. Never written.
    public var bfloat16Weights = BFloat16Store()
    /// Whether any frozen weight was read (a base checkpoint rather than an adapter-only one).
    public var hasWeights: Bool { !weights.isEmpty || !bfloat16Weights.isEmpty }
    /// The stored CRC-32 of every `/weights` dataset by name, as read from the file (also with
    /// `loadWeights: false`; empty for a checkpoint built in memory). What an adapter checkpoint's
    /// `base_model_checksum` is computed from (`BaseModelReference`).
    public var weightChecksums: [String: UInt32] = [:]
    /// Adapters by name (names may contain dots, e.g. `retrieval.query`).
    public var adapters: [String: AdapterArchive]
    /// Resume state (optimizer moments, ...); written only when non-empty.
    public var training: [String: Tensor]
    public var trainingAttributes: [String: String]

    public init(metadata: [String: String] = [:], configJSON: String = "{}", tokenizer: TokenizerArchive? = nil,
                weights: [String: Tensor] = [:], adapters: [String: AdapterArchive] = [:],
                training: [String: Tensor] = [:], trainingAttributes: [String: String] = [:]) {
        self.formatVersion = Self.currentFormatVersion
        self.metadata = metadata
        self.configJSON = configJSON
        self.tokenizer = tokenizer
        self.weights = weights
        self.adapters = adapters
        self.training = training
        self.trainingAttributes = trainingAttributes
    }

    /// Attribute names the format itself uses; user attributes may not take them.
    static let reservedRootAttributes: Set<String> = ["format", "format_version"]
    static let reservedGroupAttributes: Set<String> = ["tensor_count"]
    static let reservedTokenizerAttributes: Set<String> = ["tensor_count", "kind"]

    // MARK: - Writing

    /// Writes the checkpoint to `path` atomically: a temporary file in the same folder is
    /// fsynced and renamed over `path` only when complete. Fills `created_by` ("tasklora")
    /// and `created_at` (now, ISO 8601) when `metadata` lacks them.
    public func write(to path: String, storage: WeightStorage = .float32, gzipLevel: Int? = nil) throws {
        for key in metadata.keys where Self.reservedRootAttributes.contains(key) {
            throw TaskLoRAError.file(path, "metadata key \(key) is reserved by the checkpoint format")
        }
        let file = try HDF5File.create(path)
        let root = try file.root()
        try root.setAttribute("format", Self.formatName)
        try root.setAttribute("format_version", Int64(Self.currentFormatVersion))
        var metadata = self.metadata
        if metadata["created_by"] == nil { metadata["created_by"] = "tasklora" }
        if metadata["created_at"] == nil { metadata["created_at"] = ISO8601DateFormatter().string(from: Date()) }
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) { try root.setAttribute(key, value) }

        try root.createGroup("config").setAttribute("json", configJSON)

        let weightsGroup = try root.createGroup("weights")
        try Self.writeTensors(weights, to: weightsGroup, storage: storage, gzipLevel: gzipLevel)

        if let tokenizer { try Self.writeTokenizer(tokenizer, to: root.createGroup("tokenizer"), gzipLevel: gzipLevel) }

        let adaptersGroup = try root.createGroup("adapters")
        for (name, adapter) in adapters.sorted(by: { $0.key < $1.key }) {
            let group = try adaptersGroup.createGroup(name)
            try Self.writeAttributes(adapter.attributes, to: group)
            try Self.writeTensors(adapter.tensors, to: group, storage: .float32, gzipLevel: gzipLevel)
        }

        if !training.isEmpty || !trainingAttributes.isEmpty {
            let group = try root.createGroup("training")
            try Self.writeAttributes(trainingAttributes, to: group)
            try Self.writeTensors(training, to: group, storage: .float32, gzipLevel: gzipLevel)
        }
        try file.commit()
    }

    private static func writeAttributes(_ attributes: [String: String], to group: HDF5Group,
                                        reserved: Set<String> = reservedGroupAttributes) throws {
        for (key, value) in attributes.sorted(by: { $0.key < $1.key }) {
            guard !reserved.contains(key) else {
                throw group.failure("attribute name \(key) is reserved by the checkpoint format")
            }
            try group.setAttribute(key, value)
        }
    }

    private static func writeTensors(_ tensors: [String: Tensor], to group: HDF5Group,
                                     storage: WeightStorage, gzipLevel: Int?) throws {
        try group.setAttribute("tensor_count", Int64(tensors.count))
        for (name, tensor) in tensors.sorted(by: { $0.key < $1.key }) {
            let (dataset, crc) = try group.createFloatDataset(
                name, shape: tensor.shape, values: UnsafeBufferPointer(tensor.buffer), storage: storage, gzipLevel: gzipLevel)
            try dataset.setAttribute("checksum", Int64(crc), as: .uint32)
        }
    }

    private static func writeTokenizer(_ tokenizer: TokenizerArchive, to group: HDF5Group, gzipLevel: Int?) throws {
        try group.setAttribute("kind", tokenizer.kind)
        try writeAttributes(tokenizer.attributes, to: group, reserved: reservedTokenizerAttributes)
        let names = Array(tokenizer.bytes.keys) + Array(tokenizer.uint32.keys) + Array(tokenizer.float32.keys)
        guard Set(names).count == names.count else {
            throw group.failure("tokenizer array names must be unique across bytes, uint32 and float32")
        }
        try group.setAttribute("tensor_count", Int64(names.count))
        func add<T: HDF5Element>(_ arrays: [String: [T]]) throws {
            for (name, values) in arrays.sorted(by: { $0.key < $1.key }) {
                let dataset = try group.createDataset(name, values: values, gzipLevel: gzipLevel)
                let crc = values.withUnsafeBytes { CRC32.checksum($0) }
                try dataset.setAttribute("checksum", Int64(crc), as: .uint32)
            }
        }
        try add(tokenizer.bytes)
        try add(tokenizer.uint32)
        try add(tokenizer.float32)
    }

    // MARK: - Reading

    /// Reads and verifies a checkpoint. With `loadWeights: false`, `/weights` is checked to
    /// exist but its tensors are not read (`weights` is empty): enough to load adapters.
    /// libhdf5 may crash on a hostile file, so the same read runs first in a child (`HDF5Sandbox`).
    /// The child opens every weight tensor but skips reading the data of those stored as a plain
    /// byte range inside the file (checked): that read is bounded and interprets nothing, and
    /// repeating it would double the load time of a base model.
    ///
    /// With `keepBFloat16Matrices`, the 2-D `/weights` tensors stored as bfloat16 go into
    /// `bfloat16Weights` as their bits instead of being widened into `weights`: a bf16 base loaded
    /// for bf16 compute never exists in float32 (`LoadedModel`, docs/precision.md).
    public static func read(path: String, loadWeights: Bool = true, keepBFloat16Matrices: Bool = false) throws -> Checkpoint {
        try HDF5Sandbox.check(path, weights: loadWeights) {
            _ = try readInProcess(path: path, loadWeights: loadWeights, keepBFloat16: keepBFloat16Matrices,
                                  skipPlainWeightData: true)
        }
        return try readInProcess(path: path, loadWeights: loadWeights, keepBFloat16: keepBFloat16Matrices,
                                 skipPlainWeightData: false)
    }

    private static func readInProcess(path: String, loadWeights: Bool, keepBFloat16: Bool,
                                      skipPlainWeightData: Bool) throws -> Checkpoint {
        let file = try HDF5File.open(path)
        let root = try file.root()
        guard root.hasAttribute("format"), try root.attributeKind("format") == .string,
              try root.stringAttribute("format") == formatName else {
            throw TaskLoRAError.file(path, "is an HDF5 file but not a tasklora checkpoint (root attribute format is not \"\(formatName)\")")
        }
        guard root.hasAttribute("format_version"), try root.attributeKind("format_version") == .integer else {
            throw TaskLoRAError.file(path, "is not a valid tasklora checkpoint (no integer root attribute format_version)")
        }
        let version = try root.intAttribute("format_version")
        guard version <= currentFormatVersion else {
            throw TaskLoRAError.file(path, "was written in checkpoint format version \(version), newer than this tasklora reads (\(currentFormatVersion)); upgrade tasklora")
        }
        guard version >= 1 else { throw TaskLoRAError.file(path, "has invalid checkpoint format_version \(version)") }
        guard root.hasAttribute("created_by") else {
            throw TaskLoRAError.file(path, "is not a valid tasklora checkpoint (no root attribute created_by)")
        }

        var checkpoint = Checkpoint()
        checkpoint.formatVersion = Int(version)
        checkpoint.metadata = try stringAttributes(of: root, excluding: reservedRootAttributes)

        let configKind = root.kind(of: "config")
        guard configKind == .group else { throw TaskLoRAError.file(path, HDF5Group.problem("/config", configKind, otherwise: "has no /config group")) }
        checkpoint.configJSON = try root.openGroup("config").stringAttribute("json")

        let weightsKind = root.kind(of: "weights")
        guard weightsKind == .group else { throw TaskLoRAError.file(path, HDF5Group.problem("/weights", weightsKind, otherwise: "has no /weights group")) }
        let weightsGroup = try root.openGroup("weights")
        if loadWeights {
            checkpoint.weights = try readTensors(weightsGroup, skipPlainData: skipPlainWeightData,
                                                 bfloat16Into: keepBFloat16 ? checkpoint.bfloat16Weights : nil)
        }
        checkpoint.weightChecksums = storedChecksums(weightsGroup)

        if root.contains("tokenizer") { checkpoint.tokenizer = try readTokenizer(root.openGroup("tokenizer")) }

        if root.contains("adapters") {
            let adaptersGroup = try root.openGroup("adapters")
            for name in try adaptersGroup.childNames() {
                let group = try adaptersGroup.openGroup(name)
                checkpoint.adapters[name] = AdapterArchive(
                    attributes: try stringAttributes(of: group, excluding: reservedGroupAttributes),
                    tensors: try readTensors(group))
            }
        }

        if root.contains("training") {
            let group = try root.openGroup("training")
            checkpoint.trainingAttributes = try stringAttributes(of: group, excluding: reservedGroupAttributes)
            checkpoint.training = try readTensors(group)
        }
        return checkpoint
    }

    private static func stringAttributes(of object: HDF5Object, excluding reserved: Set<String>) throws -> [String: String] {
        var result: [String: String] = [:]
        for name in try object.attributeNames() where !reserved.contains(name) {
            if try object.attributeKind(name) == .string { result[name] = try object.stringAttribute(name) }
        }
        return result
    }

    /// Datasets of a tensor group, after checking the recorded count (a deleted tensor is an error).
    private static func datasets(of group: HDF5Group) throws -> [HDF5Dataset] {
        let names = try group.childNames()
        guard group.hasAttribute("tensor_count") else { throw group.failure("has no tensor_count attribute") }
        let expected = try group.intAttribute("tensor_count")
        guard expected == names.count else {
            throw group.failure("records \(expected) tensors but holds \(names.count) (a tensor is missing?)")
        }
        return try names.map { name in
            let kind = group.kind(of: name)
            guard kind == .dataset else { throw group.failure(HDF5Group.problem(name, kind, otherwise: "\(name) is not a dataset")) }
            return try group.openDataset(name)
        }
    }

    private static func verify(_ dataset: HDF5Dataset, crc: UInt32) throws {
        guard dataset.hasAttribute("checksum") else { throw dataset.failure("has no checksum attribute") }
        guard try dataset.intAttribute("checksum") == Int64(crc) else {
            throw TaskLoRAError.file(dataset.file.path, "tensor \(dataset.path) fails its checksum (file corrupted?)")
        }
    }

    /// Each dataset's `checksum` attribute, without reading its data: cheap even for a 2 GB base.
    /// Lenient (a child that is no dataset or has no CRC-32 is left out), because `loadWeights:
    /// false` promises not to judge the weights; a base that lacks anything gets another
    /// `BaseModelReference` digest all the same, and a full read checks every tensor strictly.
    private static func storedChecksums(_ group: HDF5Group) -> [String: UInt32] {
        var checksums: [String: UInt32] = [:]
        for name in (try? group.childNames()) ?? [] where group.kind(of: name) == .dataset {
            guard let dataset = try? group.openDataset(name), dataset.hasAttribute("checksum"),
                  let value = try? dataset.intAttribute("checksum"), let crc = UInt32(exactly: value) else { continue }
            checksums[name] = crc
        }
        return checksums
    }

    /// The float tensors of `group`, widened to float32; with `bfloat16Into`, its bfloat16 matrices
    /// (2-D) go there as bits instead.
    private static func readTensors(_ group: HDF5Group, skipPlainData: Bool = false,
                                    bfloat16Into store: BFloat16Store? = nil) throws -> [String: Tensor] {
        var tensors: [String: Tensor] = [:]
        for dataset in try datasets(of: group) where !(skipPlainData && dataset.isPlainRangeInFile) {
            let name = String(dataset.path.split(separator: "/").last!)
            if let store, dataset.shape.count == 2, dataset.floatStorage == .bfloat16 {
                let matrix = BFloat16Tensor(zeros: dataset.shape)
                let crc = try dataset.readBFloat16(into: UnsafeMutableBufferPointer(start: matrix.bits, count: matrix.count))
                try verify(dataset, crc: crc)
                store.insert(matrix, as: name)
                continue
            }
            let tensor = Tensor(zeros: dataset.shape)
            let crc = try dataset.readFloats(into: tensor.buffer)
            try verify(dataset, crc: crc)
            tensors[name] = tensor
        }
        return tensors
    }

    private static func readTokenizer(_ group: HDF5Group) throws -> TokenizerArchive {
        guard group.hasAttribute("kind") else { throw group.failure("has no kind attribute") }
        var archive = TokenizerArchive(kind: try group.stringAttribute("kind"))
        archive.attributes = try stringAttributes(of: group, excluding: reservedTokenizerAttributes)
        for dataset in try datasets(of: group) {
            let name = String(dataset.path.split(separator: "/").last!)
            guard dataset.shape.count == 1 else { throw dataset.failure("tokenizer arrays must be 1-D, found shape \(dataset.shape)") }
            switch dataset.elementType {
            case .uint8:
                let values: [UInt8] = try dataset.read()
                try verify(dataset, crc: values.withUnsafeBytes { CRC32.checksum($0) })
                archive.bytes[name] = values
            case .uint32:
                let values: [UInt32] = try dataset.read()
                try verify(dataset, crc: values.withUnsafeBytes { CRC32.checksum($0) })
                archive.uint32[name] = values
            case .float32:
                let values: [Float] = try dataset.read()
                try verify(dataset, crc: values.withUnsafeBytes { CRC32.checksum($0) })
                archive.float32[name] = values
            default:
                throw dataset.failure("tokenizer arrays must be uint8, uint32 or float32, found \(dataset.elementType.rawValue)")
            }
        }
        return archive
    }
}
