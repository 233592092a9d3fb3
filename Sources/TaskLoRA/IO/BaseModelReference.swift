import Foundation

/// How an adapters-only checkpoint (a run's `best.h5`, `final.h5`, `checkpoints/step-*.h5`) names
/// the base checkpoint it was trained on, in its root metadata:
///
///     base_model           the path as the recipe gave it (relative to the folder training ran in)
///     base_model_absolute  that path made absolute at training time
///     base_model_relative  the path from the adapter file's folder to the base
///     base_model_size      the base file's size in bytes
///     base_model_checksum  "weights-crc32:XXXXXXXX", a digest of the base's weights (`checksum(of:)`)
///
/// The paths let the adapter file find its base from another working directory, and after the run
/// folder and the base were moved side by side; size and checksum make sure what is found is the
/// same model. Checkpoints written before these keys existed have only `base_model`.
public struct BaseModelReference: Equatable, Sendable {
    public var given: String
    public var absolute: String?
    /// From the adapter file's folder; recorded per file, since a run's files sit in two folders.
    public var relative: String?
    public var size: UInt64?
    public var checksum: String?

    static let givenKey = "base_model", absoluteKey = "base_model_absolute", relativeKey = "base_model_relative"
    static let sizeKey = "base_model_size", checksumKey = "base_model_checksum"
    /// Every metadata key this record uses: what a merged export, which is no adapter file, drops.
    public static let metadataKeys = [givenKey, absoluteKey, relativeKey, sizeKey, checksumKey]

    /// The reference to the base at `path` (as the recipe gives it), already read as `base`.
    public init(base path: String, checkpoint base: Checkpoint) throws {
        given = path
        absolute = Self.absolutePath(path)
        size = try Self.fileSize(path)
        checksum = Self.checksum(of: base.weightChecksums)
    }

    /// The reference an adapter checkpoint records; nil when it names no base.
    public init?(metadata: [String: String]) {
        guard let given = metadata[Self.givenKey] else { return nil }
        self.given = given
        absolute = metadata[Self.absoluteKey]
        relative = metadata[Self.relativeKey]
        size = metadata[Self.sizeKey].flatMap { UInt64($0) }
        checksum = metadata[Self.checksumKey]
    }

    /// The metadata to record in an adapter file written to `adapterPath`.
    public func metadata(adapterPath: String) -> [String: String] {
        var out = [Self.givenKey: given]
        if let absolute {
            out[Self.absoluteKey] = absolute
            out[Self.relativeKey] = Self.relativePath(from: (Self.absolutePath(adapterPath) as NSString).deletingLastPathComponent,
                                                      to: absolute)
        }
        if let size { out[Self.sizeKey] = String(size) }
        if let checksum { out[Self.checksumKey] = checksum }
        return out
    }

    /// `weights-crc32:` and the CRC-32, as eight lowercase hex digits, of every `/weights` dataset's
    /// name (UTF-8), a NUL byte and its stored CRC-32 (4 bytes, little-endian), in byte order of the
    /// names. Every dataset already carries the CRC-32 of its bytes, verified whenever the base is
    /// loaded, so this digest stands for the weights' bytes yet costs a few hundred attribute reads
    /// instead of a pass over a 2.3 GB file (docs/checkpoint-format.md).
    public static func checksum(of weightChecksums: [String: UInt32]) -> String {
        var crc: UInt32 = 0
        for (name, value) in weightChecksums.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
            var bytes = Array(name.utf8) + [0]
            withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
            crc = bytes.withUnsafeBytes { CRC32.checksum($0, continuing: crc) }
        }
        return "weights-crc32:" + String(format: "%08x", crc)
    }

    /// `path` made absolute against the working directory, with `.` and `..` folded away.
    static func absolutePath(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// The path from folder `from` to `to`, both absolute. Symbolic links in either are resolved
    /// first, because the system follows `..` from where a link points, not from the link.
    static func relativePath(from folder: String, to target: String) -> String {
        let resolve = { (p: String) in URL(fileURLWithPath: p).resolvingSymlinksInPath().standardizedFileURL.pathComponents }
        let base = resolve(folder), dest = resolve(target)
        var common = 0
        while common < base.count, common < dest.count, base[common] == dest[common] { common += 1 }
        let parts = Array(repeating: "..", count: base.count - common) + dest[common...]
        return parts.isEmpty ? "." : parts.joined(separator: "/")
    }

    static func fileSize(_ path: String) throws -> UInt64 {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw TaskLoRAError.file(path, "cannot read its size: \(String(cString: strerror(errno)))")
        }
        return UInt64(max(info.st_size, 0))
    }
}
