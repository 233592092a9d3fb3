import Foundation

extension BaseModelReference {
    /// One place the base may be, and why it is looked for there.
    struct Candidate {
        var path: String
        var how: String
    }

    /// Where to look, in order: the absolute path recorded at training time, the recorded path
    /// relative to the adapter file (the run folder and the base moved together), and the path as
    /// given, from the working directory (the only one an older checkpoint has). Places that
    /// come out the same are looked at once.
    func candidates(adapterPath: String) -> [Candidate] {
        var all: [Candidate] = []
        if let absolute { all.append(Candidate(path: absolute, how: "recorded absolute path")) }
        if let relative {
            let folder = (adapterPath as NSString).deletingLastPathComponent
            all.append(Candidate(path: folder.isEmpty ? relative : folder + "/" + relative, how: "relative to the adapter file"))
        }
        all.append(Candidate(path: given, how: "as given, from the working directory"))
        var seen = Set<String>()
        return all.filter { seen.insert(Self.absolutePath($0.path)).inserted }
    }

    /// The base of the adapters-only checkpoint `adapterPath`: the first candidate that exists and,
    /// when the reference records them, has the recorded size and checksum. A candidate that
    /// exists but differs is a base replaced by another model; if no candidate fits, the one-line
    /// error names the adapter file, every place looked at and what was wrong there, and how to
    /// name the base explicitly.
    func resolve(adapterPath: String, loadWeights: Bool = true, keepBFloat16Matrices: Bool = false) throws
        -> (path: String, checkpoint: Checkpoint) {
        var findings: [String] = []
        var sawDifferentModel = false
        for candidate in candidates(adapterPath: adapterPath) {
            let shown = "\(Self.absolutePath(candidate.path)) (\(candidate.how))"
            var info = stat()
            guard stat(candidate.path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
                findings.append("no file at \(shown)")
                continue
            }
            if let size, UInt64(max(info.st_size, 0)) != size {
                findings.append("\(shown) is a different model (\(info.st_size) bytes, the adapters were trained on \(size))")
                sawDifferentModel = true
                continue
            }
            let base: Checkpoint
            do { base = try Checkpoint.read(path: candidate.path, loadWeights: loadWeights, keepBFloat16Matrices: keepBFloat16Matrices) } catch {
                findings.append("\(shown) does not read (\(error))")
                continue
            }
            if let checksum {
                let found = Self.checksum(of: base.weightChecksums)
                guard found == checksum else {
                    findings.append("\(shown) is a different model (checksum \(found), the adapters were trained on \(checksum))")
                    sawDifferentModel = true
                    continue
                }
            }
            return (candidate.path, base)
        }
        let headline = sawDifferentModel
            ? "the adapters' base model \(given) was replaced by a different model"
            : "the adapters' base model \(given) is missing"
        throw TaskLoRAError.file(adapterPath, "\(headline): \(findings.joined(separator: "; ")); "
                                 + "name the base explicitly with --model BASE.h5 --adapters \(adapterPath)")
    }

    /// The base behind `adapters`, an adapters-only checkpoint read from `adapterPath`: found as
    /// `resolve` does and checked to have the shape the adapters were trained on.
    /// `keepBFloat16Matrices` as in `Checkpoint.read`.
    public static func openBase(of adapters: Checkpoint, adapterPath: String, loadWeights: Bool = true,
                                keepBFloat16Matrices: Bool = false) throws
        -> (path: String, checkpoint: Checkpoint) {
        guard let reference = BaseModelReference(metadata: adapters.metadata) else {
            throw TaskLoRAError.file(adapterPath, "holds adapters only and does not name its base model; "
                                     + "name it with --model BASE.h5 --adapters \(adapterPath)")
        }
        let found = try reference.resolve(adapterPath: adapterPath, loadWeights: loadWeights,
                                          keepBFloat16Matrices: keepBFloat16Matrices)
        try LoadedModel.checkSameModel(adapters, adapterPath: adapterPath, base: found.checkpoint, basePath: found.path)
        return found
    }
}
