import Foundation

/// A training run's folder:
///
///     recipe.yaml          the resolved recipe
///     metrics.jsonl        one JSON object per step ({"step", "loss", "lr", …}) and per evaluation ({"eval": …})
///     checkpoints/step-00000100.h5   periodic, resumable (the newest `keep_last` are kept)
///     best.h5              the adapters with the best dev metric
///     final.h5             the adapters at the end
public struct RunDirectory: Sendable {
    public let path: String
    var url: URL { URL(fileURLWithPath: path) }

    public init(path: String, create: Bool) throws {
        self.path = path
        if create {
            do {
                try FileManager.default.createDirectory(atPath: path + "/checkpoints", withIntermediateDirectories: true)
            } catch {
                throw TaskLoRAError.file(path, "cannot create the run directory: \(error.localizedDescription)")
            }
        } else {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw TaskLoRAError.file(path, "is not a run directory")
            }
        }
    }

    /// The run directory of another process (rank 0 of a data-parallel job owns it): nothing is
    /// checked or created here.
    init(referencing path: String) { self.path = path }

    public var metricsPath: String { path + "/metrics.jsonl" }
    public var recipePath: String { path + "/recipe.yaml" }
    public var bestPath: String { path + "/best.h5" }
    public var finalPath: String { path + "/final.h5" }
    public func checkpointPath(step: Int) -> String { path + String(format: "/checkpoints/step-%08d.h5", step) }

    /// A new run: refuses to overwrite one that has checkpoints (resume it instead).
    func startFresh(recipeYAML: String) throws {
        if !checkpoints().isEmpty {
            throw TaskLoRAError.file(path, "already holds a run; resume it with --resume or choose another output")
        }
        try OutputFile.write(Data(recipeYAML.utf8), to: recipePath)
        try OutputFile.write(Data(), to: metricsPath)
    }

    /// Periodic checkpoints, oldest first.
    public func checkpoints() -> [String] {
        let dir = path + "/checkpoints"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { $0.hasPrefix("step-") && $0.hasSuffix(".h5") }.sorted().map { dir + "/" + $0 }
    }

    public func latestCheckpoint() -> String? { checkpoints().last }

    /// Deletes the hidden temporary files (`.NAME.tmp-PID-N`) that saves of processes no longer
    /// running left behind when they were killed mid-write; a live process's are kept.
    func removeAbandonedTemporaryFiles() {
        for dir in [path, path + "/checkpoints"] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where name.hasPrefix(".") {
                guard let r = name.range(of: ".tmp-"),
                      let pid = name[r.upperBound...].split(separator: "-").first.flatMap({ Int32($0) }) else { continue }
                if pid == getpid() || (kill(pid, 0) == 0 || errno == EPERM) { continue }
                try? FileManager.default.removeItem(atPath: dir + "/" + name)
            }
        }
    }

    func prune(keepLast: Int) throws {
        let all = checkpoints()
        for old in all.dropLast(max(keepLast, 1)) { try? FileManager.default.removeItem(atPath: old) }
    }

    func appendMetrics(_ object: [String: Any]) throws {
        try appendLine(try JSONSerialization.data(withJSONObject: sanitize(object), options: [.sortedKeys]))
    }

    /// `{"step", "eval": {"metric", "value", "dims"}}` (the first dev set, as before several dev
    /// sets existed) plus `"select"`, `"dev"` (every set) and `"vs_base"` (adapter − base per set and
    /// dim); the step-0 line also holds `"base"`: the native prompts and the base's scores with them.
    func appendEval(_ report: EvalReport, select: SelectionRule, base: (prompts: NativePrompts, scores: [DevScores])? = nil) throws {
        var dims: [String: [String: Double]] = [:]
        for (d, m) in report.byDim { dims[String(d)] = m }
        var eval: [String: Any] = ["metric": report.metric, "value": report.value, "dims": dims, "select": select.rawValue,
                                   "dev": report.dev.map(\.jsonObject), "vs_base": report.gains.map(\.jsonObject)]
        if let base {
            eval["base"] = ["prompts": base.prompts.prompts, "origin": base.prompts.origin, "dev": base.scores.map(\.jsonObject)]
        }
        if !report.otherStrengths.isEmpty {
            // The fields above are the adapters as trained (λ = 1, what final.h5 holds); the other
            // strengths of this step follow, and `selected_strength` is the one the rule ranks.
            eval["strengths"] = report.otherStrengths.map { r in
                ["strength": r.strength, "value": r.value, "dev": r.dev.map(\.jsonObject), "vs_base": r.gains.map(\.jsonObject)] as [String: Any]
            }
            eval["selected_strength"] = report.selected.strength
        }
        try appendMetrics(["step": report.step, "eval": eval])
    }

    /// After a resume: drop lines logged past the step the run continues from.
    func truncateMetrics(afterStep step: Int) throws {
        guard let data = FileManager.default.contents(atPath: metricsPath) else { return }
        let kept = String(decoding: data, as: UTF8.self).split(separator: "\n").filter { line in
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let s = obj["step"] as? Int else { return false }
            return s <= step
        }
        try OutputFile.write(Data((kept.joined(separator: "\n") + (kept.isEmpty ? "" : "\n")).utf8), to: metricsPath)
    }

    private func appendLine(_ data: Data) throws {
        guard let handle = FileHandle(forWritingAtPath: metricsPath) else {
            throw TaskLoRAError.file(metricsPath, "cannot open for appending")
        }
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: data + Data("\n".utf8))
    }

    /// JSON has no NaN: non-finite numbers are written as null.
    private func sanitize(_ value: Any) -> Any {
        if let d = value as? Double { return d.isFinite ? d : NSNull() }
        if let dict = value as? [String: Any] { return dict.mapValues(sanitize) }
        if let list = value as? [Any] { return list.map(sanitize) }
        return value
    }
}
