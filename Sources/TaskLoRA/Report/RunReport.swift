import Foundation

/// `tasklora report RUN_DIR`: one self-contained HTML page (inline SVG, no scripts, no network)
/// with the training loss and learning rate by step, the dev metric by step, quality by
/// Matryoshka dim before vs after training, and the before/after table.
public struct RunReport {
    public struct StepLine { public var step: Int; public var loss: Double?; public var lr: Double?; public var tokensPerSecond: Double? }
    public struct EvalLine {
        public var step: Int; public var metric: String; public var dims: [Int: [String: Double]]
        /// The `eval.select` score (nil in runs written before it existed).
        public var value: Double? = nil
        /// Every dev set: name → (metric, dim → metric name → value).
        public var dev: [(name: String, metric: String, dims: [Int: [String: Double]])] = []
        /// The adapter strength λ evaluated (`eval.strengths`); 1 = the adapters as trained.
        public var strength: Double = 1
        /// The same step at the recipe's other strengths.
        public var others: [EvalLine] = []

        /// "step N", with the strength when it is not 1.
        public var label: String { "step \(step)" + (strength == 1 ? "" : String(format: ", strength %g", strength)) }
    }
    /// The base model with its native prompts, from the step-0 evaluation.
    public struct BaseLine {
        public var prompts: [String: String]
        public var origin: String
        public var dev: [(name: String, metric: String, dims: [Int: [String: Double]])]
    }
    /// The `below_base` record written at the end of a run whose best checkpoint is below the base.
    public struct BelowBase {
        public var step: Int, bestStep: Int, bestStrength: Double = 1
        public var below: [(dev: String, dim: Int, metric: String, base: Double, adapter: Double)]
        /// Per entry of `below`, its paired bootstrap (nil when the run could not compute it: resumed).
        public var paired: [(lower: Double, upper: Double, verdict: String)?] = []
    }

    public let runPath: String
    public var steps: [StepLine] = []
    public var evals: [EvalLine] = []
    public var recipeYAML: String = ""
    public var base: BaseLine?
    public var belowBase: BelowBase?

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
                var line = EvalLine(step: step, metric: e["metric"] as? String ?? "", dims: Self.dims(e["dims"]),
                                    value: e["value"] as? Double, dev: Self.devList(e["dev"]))
                for o in e["strengths"] as? [[String: Any]] ?? [] {
                    let dev = Self.devList(o["dev"])
                    line.others.append(EvalLine(step: step, metric: line.metric, dims: dev.first?.dims ?? [:],
                                                value: o["value"] as? Double, dev: dev, strength: o["strength"] as? Double ?? 1))
                }
                lastEval[step] = line
                if let b = e["base"] as? [String: Any] {
                    base = BaseLine(prompts: b["prompts"] as? [String: String] ?? [:], origin: b["origin"] as? String ?? "",
                                    dev: Self.devList(b["dev"]))
                }
            } else if obj["event"] as? String == "below_base" {
                let below = (obj["below"] as? [[String: Any]] ?? []).compactMap { g -> (String, Int, String, Double, Double)? in
                    guard let dev = g["dev"] as? String, let dim = g["dim"] as? Int, let metric = g["metric"] as? String,
                          let b = g["base"] as? Double, let a = g["adapter"] as? Double else { return nil }
                    return (dev, dim, metric, b, a)
                }
                let paired = (obj["below"] as? [[String: Any]] ?? []).map { g -> (lower: Double, upper: Double, verdict: String)? in
                    guard let p = g["paired"] as? [String: Any], let lo = p["lower"] as? Double, let hi = p["upper"] as? Double,
                          let verdict = p["verdict"] as? String else { return nil }
                    return (lo, hi, verdict)
                }
                belowBase = BelowBase(step: step, bestStep: obj["best_step"] as? Int ?? -1,
                                      bestStrength: obj["best_strength"] as? Double ?? 1,
                                      below: below.map { (dev: $0.0, dim: $0.1, metric: $0.2, base: $0.3, adapter: $0.4) },
                                      paired: below.count == paired.count ? paired : [])
            } else if obj["event"] == nil {
                lastStep[step] = StepLine(step: step, loss: obj["loss"] as? Double, lr: obj["lr"] as? Double,
                                          tokensPerSecond: obj["tokens_per_s"] as? Double)
            }
        }
        steps = lastStep.values.sorted { $0.step < $1.step }
        evals = lastEval.values.sorted { $0.step < $1.step }
        guard !steps.isEmpty || !evals.isEmpty else { throw TaskLoRAError.file(metrics, "holds no metrics yet") }
        recipeYAML = (try? String(contentsOfFile: runPath + "/recipe.yaml", encoding: .utf8)) ?? ""
    }

    static func dims(_ raw: Any?) -> [Int: [String: Double]] {
        var dims: [Int: [String: Double]] = [:]
        for (k, v) in (raw as? [String: [String: Double]]) ?? [:] { if let d = Int(k) { dims[d] = v } }
        return dims
    }

    static func devList(_ raw: Any?) -> [(name: String, metric: String, dims: [Int: [String: Double]])] {
        (raw as? [[String: Any]] ?? []).compactMap { o in
            guard let name = o["name"] as? String, let metric = o["metric"] as? String else { return nil }
            return (name, metric, dims(o["dims"]))
        }
    }

    /// The evaluation best.h5 holds: the highest `eval.select` score over every step and adapter
    /// strength (the first on ties: the earlier step, then the larger strength, as the trainer
    /// ranks), or, for runs written before it existed, the first dev set's metric at its largest dim.
    func bestEval() -> EvalLine? {
        guard let first = evals.first else { return nil }
        let candidates = evals.flatMap { [$0] + $0.others }
        if let b = belowBase, let e = candidates.first(where: { $0.step == b.bestStep && $0.strength == b.bestStrength }) {
            return e
        }
        if candidates.allSatisfy({ $0.value != nil }) {
            return candidates.reduce(first) { ($1.value! > $0.value!) ? $1 : $0 }
        }
        let top = first.dims.keys.max() ?? 0
        return evals.max { ($0.dims[top]?[first.metric] ?? -.infinity) < ($1.dims[top]?[first.metric] ?? -.infinity) }
    }

    /// The warning and the per-dev-set table against the base with its native prompts.
    func baseSection() -> String {
        guard let base, let first = evals.first, let best = bestEval() else { return "" }
        var out = ""
        if let b = belowBase {
            out += "<div class=\"warn\"><b>The best checkpoint (\(best.label)) is below the base model with its native prompts</b> on "
            out += b.below.enumerated().map { i, g in
                let p = i < b.paired.count ? b.paired[i] : nil
                return escape(g.dev) + String(format: " at dim %d (%@ %.4f vs base %.4f, %+.4f", g.dim, g.metric, g.adapter, g.base, g.adapter - g.base)
                    + (p.map { String(format: "; 95 %% paired interval [%+.4f, %+.4f]: ", $0.lower, $0.upper) + $0.verdict } ?? "") + ")"
            }.joined(separator: "; ") + ".</div>"
        } else {
            out += "<p class=\"ok\">The best checkpoint (\(best.label)) is at or above the base model with its native prompts on every dev set and dim (ties within \(TieMargin.value)).</p>"
        }
        let prompts = base.prompts.isEmpty ? "none" : ["query", "passage", "symmetric"].compactMap { r in
            base.prompts[r].map { "\(r) <code>\(escape($0))</code>" }
        }.joined(separator: ", ")
        out += "<h2>Against the base at its best</h2><p>base = the base model with its native prompts (\(prompts); \(escape(base.origin))); "
        out += "step \(first.step) = the untrained adapters with the recipe's prompts (its difference to the base is what the recipe's prompts cost); "
        let last = evals.last!
        out += "best = \(best.label) (best.h5); last = step \(last.step) (final.h5).</p>"
        for b in base.dev {
            let zero = first.dev.first { $0.name == b.name }, top = best.dev.first { $0.name == b.name }
            let end = last.dev.first { $0.name == b.name }
            out += "<h3>\(escape(b.name)) (\(escape(b.metric)))</h3><table><tr><th>dim</th><th>base</th><th>step \(first.step)</th>"
                + "<th>best</th><th>best − base</th><th>last</th><th>last − base</th></tr>"
            func cell(_ gain: Double) -> String {
                String(format: "<td%@>%+.4f</td>", TieMargin.isBelow(gain: gain, metric: b.metric) ? " class=\"below\"" : "", gain)
            }
            for d in b.dims.keys.sorted() {
                let bv = b.dims[d]?[b.metric] ?? .nan, z = zero?.dims[d]?[b.metric] ?? .nan
                let a = top?.dims[d]?[b.metric] ?? .nan, l = end?.dims[d]?[b.metric] ?? .nan
                out += String(format: "<tr><td>%d</td><td>%.4f</td><td>%.4f</td><td>%.4f</td>", d, bv, z, a) + cell(a - bv)
                    + String(format: "<td>%.4f</td>", l) + cell(l - bv) + "</tr>"
            }
            out += "</table>"
        }
        if evals.contains(where: { !$0.others.isEmpty }) {
            out += "<h3>Adapter strengths (<code>eval.strengths</code>)</h3><p>The adapters' update scaled by λ "
                + "(0 = the base, 1 = as trained); best.h5 holds the selected λ folded into B.</p>"
                + "<table><tr><th>step</th><th>strength λ</th><th>eval.select score</th><th>dev set/dim pairs below the base</th></tr>"
            for e in evals where !e.others.isEmpty {
                for x in [e] + e.others {
                    out += String(format: "<tr><td>%d</td><td>%g</td><td>%.4f</td><td>%d</td></tr>", x.step, x.strength,
                                  x.value ?? .nan, belowBaseCount(x, base: base))
                }
            }
            out += "</table>"
        }
        return out
    }

    /// (dev set, dim) pairs of `e` below the base beyond the tie margin, as `BaseGain.isBelowBase` judges.
    func belowBaseCount(_ e: EvalLine, base: BaseLine) -> Int {
        var count = 0
        for d in e.dev {
            guard let b = base.dev.first(where: { $0.name == d.name }) else { continue }
            for (dim, values) in d.dims {
                if let a = values[d.metric], let bv = b.dims[dim]?[d.metric], TieMargin.isBelow(gain: a - bv, metric: d.metric) { count += 1 }
            }
        }
        return count
    }

    public func html() -> String {
        var body = "<h1>tasklora run: \(escape((runPath as NSString).lastPathComponent))</h1>"
        body += "<p>\(steps.count) steps logged, \(evals.count) evaluations. Source: <code>\(escape(runPath))/metrics.jsonl</code></p>"
        body += baseSection()
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
            let best = bestEval()!
            body += SVGPlot(title: "Dev \(metric) by Matryoshka dim", xLabel: "dim", yLabel: metric, series: [
                .init(name: "before (step \(first.step))", points: dims.compactMap { d in first.dims[d]?[metric].map { (Double(d), $0) } }),
                .init(name: "best (\(best.label))", points: dims.compactMap { d in best.dims[d]?[metric].map { (Double(d), $0) } }),
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
            body += "</table><p>before = step \(first.step) (the untrained adapter is the identity, i.e. the base model with the recipe's prompts); best = \(best.label)"
                + (best.value == nil ? " by \(escape(metric)) at dim \(dims.last!)" : " by the eval.select score") + ".</p>"
        }
        if !recipeYAML.isEmpty { body += "<h2>Recipe</h2><pre>\(escape(recipeYAML))</pre>" }
        return """
            <!DOCTYPE html><html><head><meta charset="utf-8"><title>tasklora report</title>
            <style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}
            svg{display:block;margin:1em 0}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
            pre{background:#f6f6f6;padding:1em;overflow:auto}
            .warn{background:#fde8e8;border:1px solid #c33;padding:.6em 1em}.ok{color:#262}td.below{background:#fde8e8;color:#a00}</style></head><body>\(body)</body></html>
            """
    }
}
