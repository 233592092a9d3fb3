import Foundation

/// `tasklora report RUN_DIR`: one self-contained HTML page (inline SVG, no scripts, no network)
/// with the training loss and learning rate by step, the dev metric by step, quality by
/// Matryoshka dim before vs after training, and the before/after table.
public struct RunReport {
    public struct StepLine { public var step: Int; public var loss: Double?; public var lr: Double?; public var tokensPerSecond: Double? }
    public struct EvalLine { public var step: Int; public var metric: String; public var dims: [Int: [String: Double]] }

    public let runPath: String
    public var steps: [StepLine] = []
    public var evals: [EvalLine] = []
    public var recipeYAML: String = ""

    /// Reads `metrics.jsonl` (and `recipe.yaml`) of a run directory.
    public init(runPath: String) throws {
        self.runPath = runPath
        let metrics = runPath + "/metrics.jsonl"
        guard let data = FileManager.default.contents(atPath: metrics) else {
            throw TaskLoRAError.file(runPath, "has no metrics.jsonl (is it a tasklora run directory?)")
        }
        var lastStep: [Int: StepLine] = [:], lastEval: [Int: EvalLine] = [:]
        for (n, line) in String(decoding: data, as: UTF8.self).split(separator: "\n").enumerated() {
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let step = obj["step"] as? Int else {
                throw TaskLoRAError.file(metrics, "line \(n + 1) is not a metrics object")
            }
            if let e = obj["eval"] as? [String: Any] {
                var dims: [Int: [String: Double]] = [:]
                for (k, v) in (e["dims"] as? [String: [String: Double]]) ?? [:] { if let d = Int(k) { dims[d] = v } }
                lastEval[step] = EvalLine(step: step, metric: e["metric"] as? String ?? "", dims: dims)
            } else {
                lastStep[step] = StepLine(step: step, loss: obj["loss"] as? Double, lr: obj["lr"] as? Double,
                                          tokensPerSecond: obj["tokens_per_s"] as? Double)
            }
        }
        steps = lastStep.values.sorted { $0.step < $1.step }
        evals = lastEval.values.sorted { $0.step < $1.step }
        guard !steps.isEmpty || !evals.isEmpty else { throw TaskLoRAError.file(metrics, "holds no metrics yet") }
        recipeYAML = (try? String(contentsOfFile: runPath + "/recipe.yaml", encoding: .utf8)) ?? ""
    }

    public func html() -> String {
        var body = "<h1>tasklora run: \(escape((runPath as NSString).lastPathComponent))</h1>"
        body += "<p>\(steps.count) steps logged, \(evals.count) evaluations. Source: <code>\(escape(runPath))/metrics.jsonl</code></p>"
        if !steps.isEmpty {
            let raw = steps.compactMap { s in s.loss.map { (x: Double(s.step), y: $0) } }
            // Exponential moving average (0.9) shows the trend through batch-to-batch noise.
            var ema: Double? = nil
            let smooth = raw.map { p -> (x: Double, y: Double) in
                ema = ema.map { 0.9 * $0 + 0.1 * p.y } ?? p.y
                return (p.x, ema!)
            }
            body += SVGPlot(title: "Training loss", xLabel: "step", yLabel: "loss",
                            series: [.init(name: "loss", points: raw), .init(name: "EMA 0.9", points: smooth)]).render()
            body += SVGPlot(title: "Learning rate", xLabel: "step", yLabel: "lr",
                            series: [.init(name: "lr", points: steps.compactMap { s in s.lr.map { (Double(s.step), $0) } })]).render()
        }
        if let first = evals.first, let last = evals.last {
            let metric = first.metric
            let dims = first.dims.keys.sorted()
            body += SVGPlot(title: "Dev \(metric) by step", xLabel: "step", yLabel: metric, series: dims.map { d in
                .init(name: "dim \(d)", points: evals.compactMap { e in e.dims[d]?[metric].map { (Double(e.step), $0) } })
            }).render()
            let best = evals.max { ($0.dims[dims.last!]?[metric] ?? -.infinity) < ($1.dims[dims.last!]?[metric] ?? -.infinity) }!
            body += SVGPlot(title: "Dev \(metric) by Matryoshka dim", xLabel: "dim", yLabel: metric, series: [
                .init(name: "before (step \(first.step))", points: dims.compactMap { d in first.dims[d]?[metric].map { (Double(d), $0) } }),
                .init(name: "best (step \(best.step))", points: dims.compactMap { d in best.dims[d]?[metric].map { (Double(d), $0) } }),
                .init(name: "last (step \(last.step))", points: dims.compactMap { d in last.dims[d]?[metric].map { (Double(d), $0) } }),
            ], logX: true).render()
            body += "<h2>Before and after</h2><table><tr><th>dim</th>"
            let names = first.dims[dims.last!]?.keys.sorted() ?? [metric]
            for n in names { body += "<th>\(escape(n)) before</th><th>\(escape(n)) best</th><th>Δ</th>" }
            body += "</tr>"
            for d in dims {
                body += "<tr><td>\(d)</td>"
                for n in names {
                    let b = first.dims[d]?[n] ?? .nan, a = best.dims[d]?[n] ?? .nan
                    body += String(format: "<td>%.4f</td><td>%.4f</td><td>%+.4f</td>", b, a, a - b)
                }
                body += "</tr>"
            }
            body += "</table><p>before = step \(first.step) (the untrained adapter is the identity, i.e. the base model); best = step \(best.step) by \(escape(metric)) at dim \(dims.last!).</p>"
        }
        if !recipeYAML.isEmpty { body += "<h2>Recipe</h2><pre>\(escape(recipeYAML))</pre>" }
        return """
            <!DOCTYPE html><html><head><meta charset="utf-8"><title>tasklora report</title>
            <style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}
            svg{display:block;margin:1em 0}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
            pre{background:#f6f6f6;padding:1em;overflow:auto}</style></head><body>\(body)</body></html>
            """
    }
}
