import Foundation
import XCTest
@testable import TaskLoRA

private typealias F = TrainerFixture

/// The base at its best: native prompts per family, prefixes that default to them, several dev
/// sets with `eval.select`, and the below-base warning in the log, metrics.jsonl and the report.
final class BaseComparisonTests: XCTestCase {

    // MARK: Native prompts

    func testNativePromptsAreRecordedOrInferred() throws {
        var ckpt = Checkpoint()
        ckpt.metadata["source"] = "e5-small-q4.bin"
        XCTAssertEqual(try NativePrompts(checkpoint: ckpt, source: "x").prompts, NativePrompts.e5.prompts)
        ckpt.metadata["source"] = "multilingual-e5-small"
        XCTAssertEqual(try NativePrompts(checkpoint: ckpt, source: "x").prompt(.passage), "passage: ")
        for name in ["tiny-bert", "all-MiniLM-L6-v2", "be5t", "e50"] {
            ckpt.metadata["source"] = name
            XCTAssertTrue(try NativePrompts(checkpoint: ckpt, source: "x").isEmpty, name)
        }
        // jina-embeddings-v3 by its config's task instructions.
        ckpt.configJSON = #"{"model_type": "xlm-roberta", "task_instructions": {"retrieval.query": "Q: ", "retrieval.passage": "P: ", "text-matching": null}}"#
        let jina = try NativePrompts(checkpoint: ckpt, source: "x")
        XCTAssertEqual([jina.prompt(.query), jina.prompt(.passage), jina.prompt(.symmetric)], ["Q: ", "P: ", ""])
        XCTAssertEqual(jina.prompts["separation"], "")
        // A recorded attribute wins over inference, "{}" included.
        ckpt.metadata[NativePrompts.metadataKey] = "{}"
        let recorded = try NativePrompts(checkpoint: ckpt, source: "x")
        XCTAssertTrue(recorded.isEmpty)
        XCTAssertEqual(recorded.origin, "recorded")
        ckpt.metadata[NativePrompts.metadataKey] = #"{"query": 3}"#
        XCTAssertThrowsError(try NativePrompts(checkpoint: ckpt, source: "m.h5")) { error in
            XCTAssertTrue("\(error)".contains("m.h5") && "\(error)".contains("native_prompts[query] is not a string"), "\(error)")
        }
    }

    func testLeftOutPrefixesDefaultToTheNativePromptOfTheRole() throws {
        let yaml = """
        model: m.h5
        output: runs/x
        adapters:
          - {name: q}
          - {name: p, prefix: "Represent the document: "}
          - {name: other}
        data: {train: t.jsonl, anchor_adapter: q, positive_adapter: p}
        """
        let r = try Recipe.parse(yaml: yaml, source: "test")
        XCTAssertEqual([r.role(ofAdapter: 0), r.role(ofAdapter: 1), r.role(ofAdapter: 2)], [.query, .passage, nil])
        let (resolved, differing) = r.resolvingPrefixes(.e5)
        XCTAssertEqual(resolved.adapters.map(\.prefix), ["query: ", "Represent the document: ", "query: "])
        XCTAssertEqual(differing, [Recipe.PromptChoice(adapter: "p", role: .passage, prefix: "Represent the document: ", native: "passage: ")])
        // One adapter on both sides: the symmetric prompt.
        let sym = try Recipe.parse(yaml: "model: m\noutput: o\nadapters: [{name: s}]\ndata: {train: t}", source: "test")
        XCTAssertEqual(sym.resolvingPrefixes(.e5).recipe.adapters[0].prefix, "query: ")
        XCTAssertEqual(sym.resolvingPrefixes(.none).recipe.adapters[0].prefix, "")
    }

    func testDevListForms() throws {
        let base = "model: m\noutput: o\nadapters: [{name: s}]\n"
        let one = try Recipe.parse(yaml: base + "data: {train: t, dev: d.csv}", source: "t")
        XCTAssertEqual(one.data.dev, [Recipe.DevSource(path: "d.csv")])
        let list = try Recipe.parse(yaml: base + """
            data: {train: [a.json, b.json], held_out: 0.2, dev: [d.csv, {path: e.txt, name: sick, format: sick}, {held_out: per_file}, {held_out: cross}]}
            eval: {select: min_gain}
            """, source: "t")
        XCTAssertEqual(list.data.dev.count, 4)
        XCTAssertEqual(list.data.dev[1], Recipe.DevSource(path: "e.txt", name: "sick", format: .sick))
        XCTAssertEqual(list.data.dev[3].heldOut, .cross)
        XCTAssertEqual(list.eval.select, .minGain)
        XCTAssertEqual(try Recipe.parse(yaml: list.resolvedYAML(), source: "resolved"), list)
        func message(_ data: String) -> String {
            F.error { _ = try Recipe.parse(yaml: base + "data: " + data, source: "r.yaml") }
        }
        XCTAssertTrue(message("{train: t, dev: [{held_out: pooled}]}").contains("data.dev.0.held_out needs data.held_out > 0"))
        XCTAssertTrue(message("{train: t, held_out: 0.1, dev: [{path: a, held_out: pooled}]}").contains("data.dev.0 must name a file (path) or held_out, not both"))
        XCTAssertTrue(message("{train: t, dev: [{path: a, name: x}, {path: b, name: x}]}").contains("\"x\" names two dev sets"))
        XCTAssertTrue(message("{train: t, dev: [{path: a, nmae: x}]}").contains("did you mean \"name\""))
    }

    // MARK: Selection and the below-base warning

    /// Scored pairs that reward what training on `F.pairs` destroys: pairs sharing their first two
    /// words are "unrelated" (score 0), pairs sharing nothing are "related" (score 5).
    static func contrarySTS(_ count: Int, seed: UInt64) -> [String] {
        var s = F.Sentences(seed: seed)
        return (0..<count).map { i in
            let a = s.next()
            let shared = i % 2 == 0
            let b = shared ? a.split(separator: " ").prefix(2).joined(separator: " ") + " " + s.next(2) : s.next()
            return F.json(["sentence1": a, "sentence2": b, "score": shared ? 0.0 : 5.0])
        }
    }

    private func run(select: SelectionRule, train: String, inDomain: String, contrary: String, extra: [String] = []) throws
        -> (trainer: Trainer, log: [String], reports: [EvalReport]) {
        var log: [String] = []
        let recipe = try F.recipe(train: train, dev: inDomain, output: F.newDirectory("select-\(select.rawValue)"), overrides: [
            "data.dev=[{path: \"\(inDomain)\", name: in-domain}, {path: \"\(contrary)\", name: contrary}]",
            "eval.select=\(select.rawValue)", "eval.every=2", "eval.dims=[16]", "schedule.steps=12", "save.every=0",
            "adapters.0.dropout=0"] + extra)
        let t = try Trainer(recipe: recipe, log: { log.append($0) })
        var reports: [EvalReport] = []
        try t.train(evaluated: { reports.append($0) })
        return (t, log, reports)
    }

    func testMinGainKeepsAnEarlierCheckpointThanMeanAndTheReportWarns() throws {
        let train = try F.write(F.pairs(48), name: "train.jsonl")
        let inDomain = try F.write(F.pairs(16, seed: 9), name: "in-domain.jsonl")
        let contrary = try F.write(Self.contrarySTS(40, seed: 5), name: "contrary.jsonl")
        let mean = try run(select: .mean, train: train, inDomain: inDomain, contrary: contrary)
        let minGain = try run(select: .minGain, train: train, inDomain: inDomain, contrary: contrary)
        let table = mean.reports.map { r in "step \(r.step): mean \(r.value) " + r.gains.map { String(format: "%@/%d %+.4f", $0.dev, $0.dim, $0.gain) }.joined(separator: " ") }
        print("[BaseComparisonTests]\n" + table.joined(separator: "\n"))

        // The premise: training helps the in-domain set and hurts the contrary one.
        let last = try XCTUnwrap(mean.reports.last)
        XCTAssertTrue(last.gains.contains { $0.dev == "in-domain" && $0.gain > 0.05 }, table.joined(separator: "\n"))
        XCTAssertTrue(last.gains.contains { $0.dev == "contrary" && $0.isBelowBase }, table.joined(separator: "\n"))
        // Step 0 is the base itself (no native prompts for tiny-bert): every gain exactly 0.
        XCTAssertEqual(mean.reports.first?.gains.map(\.gain), [0, 0])

        let meanBest = try XCTUnwrap(mean.trainer.best), minBest = try XCTUnwrap(minGain.trainer.best)
        XCTAssertLessThan(minBest.step, meanBest.step, table.joined(separator: "\n"))
        // min_gain's choice is never below the base: step 0 scores a gain of exactly 0.
        XCTAssertGreaterThanOrEqual(minBest.value, 0)
        XCTAssertFalse(minGain.log.contains { $0.hasPrefix("WARNING") }, "\(minGain.log)")
        XCTAssertTrue(try F.metrics(minGain.trainer.run).allSatisfy { $0.object["event"] == nil })

        // mean's choice is below the base on the contrary set: the log, metrics.jsonl and the report say so.
        XCTAssertTrue(mean.log.contains { $0.hasPrefix("WARNING") && $0.contains("BELOW the base") && $0.contains("contrary") },
                      "\(mean.log)")
        let event = try XCTUnwrap(try F.metrics(mean.trainer.run).first { $0.object["event"] as? String == "below_base" })
        XCTAssertEqual(event.object["best_step"] as? Int, meanBest.step)
        let below = try XCTUnwrap(event.object["below"] as? [[String: Any]])
        XCTAssertFalse(below.isEmpty)
        XCTAssertTrue(below.allSatisfy { $0["dev"] as? String == "contrary" && ($0["gain"] as? Double ?? 0) < -0.2 }, "\(below)")
        // Each pair below carries the paired bootstrap over the set's 40 pairs: its interval holds the
        // difference, and the log and the report give the verdict.
        for g in below {
            let p = try XCTUnwrap(g["paired"] as? [String: Any], "\(g)")
            let (lo, hi, d) = try (XCTUnwrap(p["lower"] as? Double), XCTUnwrap(p["upper"] as? Double), XCTUnwrap(p["difference"] as? Double))
            XCTAssertEqual(d, g["gain"] as? Double ?? .nan, accuracy: 1e-9)
            XCTAssertTrue(lo <= d && d <= hi, "\(p)")
            XCTAssertEqual(p["items"] as? Int, 40)
            XCTAssertEqual(p["verdict"] as? String, hi < 0 ? "significantly below" : lo > 0 ? "significantly above" : "not significant")
        }
        XCTAssertTrue(mean.log.contains { $0.hasPrefix("WARNING    paired bootstrap over the items (95 %):") }, "\(mean.log)")
        let html = try RunReport(runPath: mean.trainer.run.path).html()
        XCTAssertTrue(html.contains("is below the base model with its native prompts"), html)
        XCTAssertTrue(html.contains("95 % paired interval ["), html)
        XCTAssertTrue(html.contains("Against the base at its best"))
        let okHTML = try RunReport(runPath: minGain.trainer.run.path).html()
        XCTAssertTrue(okHTML.contains("at or above the base model"))
        XCTAssertFalse(okHTML.contains("is below the base model"))
        // The base line rides on the step-0 evaluation: one line per step and per evaluation, plus the event.
        XCTAssertEqual(try F.metrics(mean.trainer.run).count, 12 + 7 + 1)
    }

    /// `eval.strengths`: every evaluation also scores the adapters with their update scaled by each
    /// λ. Training is untouched (the λ = 1 scores and final.h5 are bit-identical to a run without
    /// strengths), the selection ranks every (step, λ) and can only improve, a checkpoint saved at
    /// λ holds exactly λ · B and says so, and metrics.jsonl and the report carry the strengths.
    func testStrengthsInterpolateTowardTheBaseAndBestHoldsTheChosenOne() throws {
        let train = try F.write(F.pairs(48), name: "train.jsonl")
        let inDomain = try F.write(F.pairs(16, seed: 9), name: "in-domain.jsonl")
        let contrary = try F.write(Self.contrarySTS(40, seed: 5), name: "contrary.jsonl")
        let plain = try run(select: .minGain, train: train, inDomain: inDomain, contrary: contrary)
        let mixed = try run(select: .minGain, train: train, inDomain: inDomain, contrary: contrary,
                            extra: ["eval.strengths=[0.25, 0.5, 1]"])
        let table = mixed.reports.flatMap { r in
            ([r] + r.otherStrengths).map { x in
                String(format: "step %d λ %.2f: %.4f ", x.step, x.strength, x.value)
                    + x.gains.map { String(format: "%@ %+.4f", $0.dev, $0.gain) }.joined(separator: " ")
            }
        }.joined(separator: "\n")
        print("[BaseComparisonTests strengths]\n" + table)

        // Training is untouched: the λ = 1 evaluations and the final adapters are the same bits.
        XCTAssertEqual(plain.reports.map(\.value), mixed.reports.map(\.value))
        let finalPlain = try Checkpoint.read(path: plain.trainer.run.finalPath), finalMixed = try Checkpoint.read(path: mixed.trainer.run.finalPath)
        XCTAssertEqual(finalPlain.adapters["task"]?.tensors.mapValues(\.array), finalMixed.adapters["task"]?.tensors.mapValues(\.array))
        // Each evaluation after step 0 scored the two other strengths.
        XCTAssertTrue(mixed.reports.dropFirst().allSatisfy { $0.otherStrengths.map(\.strength) == [0.5, 0.25] }, table)
        // The selection ranks every (step, λ): best is the top score, the earlier step and then the
        // larger λ on ties; more candidates never select worse.
        let all = mixed.reports.flatMap { [$0] + $0.otherStrengths }
        let top = all.reduce(all[0]) { $1.value > $0.value ? $1 : $0 }
        let bestPlain = try XCTUnwrap(plain.trainer.best), best = try XCTUnwrap(mixed.trainer.best)
        XCTAssertEqual(best.step, top.step, table)
        XCTAssertEqual(best.value, top.value, table)
        XCTAssertEqual(best.strength, top.strength, table)
        XCTAssertGreaterThanOrEqual(best.value, bestPlain.value, table)
        // An interpolation changes the scores: λ = 0.25 at the last step is not λ = 1 there.
        XCTAssertNotEqual(mixed.reports.last?.otherStrengths.last?.gains.map(\.gain), mixed.reports.last?.gains.map(\.gain), table)

        // A checkpoint written at strength λ holds λ · B (A unchanged) and says so; the adapters are
        // restored exactly afterwards (a save at 1 gives final.h5's tensors).
        let scaledPath = F.newDirectory("strength") + ".h5", againPath = F.newDirectory("again") + ".h5"
        try mixed.trainer.save(to: scaledPath, strength: 0.5)
        try mixed.trainer.save(to: againPath)
        let scaled = try Checkpoint.read(path: scaledPath), again = try Checkpoint.read(path: againPath)
        XCTAssertEqual(scaled.metadata["adapter_strength"], "0.5")
        XCTAssertNil(again.metadata["adapter_strength"])
        let finalTensors = try XCTUnwrap(finalMixed.adapters["task"]?.tensors)
        XCTAssertEqual(again.adapters["task"]?.tensors.mapValues(\.array), finalTensors.mapValues(\.array))
        let scaledTensors = try XCTUnwrap(scaled.adapters["task"]?.tensors)
        XCTAssertEqual(Set(scaledTensors.keys), Set(finalTensors.keys))
        for (name, t) in finalTensors {
            let expected = name.hasSuffix("lora_B") ? t.array.map { $0 * 0.5 } : t.array
            XCTAssertEqual(scaledTensors[name]?.array, expected, name)
        }
        XCTAssertTrue(finalTensors.contains { $0.key.hasSuffix("lora_B") && $0.value.array.contains { $0 != 0 } })

        // metrics.jsonl carries the other strengths; the report has their table and names the best.
        let strengths = try XCTUnwrap(try F.metrics(mixed.trainer.run).last { $0.object["eval"] != nil }?.object["eval"] as? [String: Any])
        XCTAssertEqual((strengths["strengths"] as? [[String: Any]])?.compactMap { $0["strength"] as? Double }, [0.5, 0.25])
        let html = try RunReport(runPath: mixed.trainer.run.path).html()
        let label = "step \(best.step)" + (best.strength == 1 ? "" : String(format: ", strength %g", best.strength))
        XCTAssertTrue(html.contains("best = \(label) (best.h5)"), html)
        XCTAssertTrue(html.contains("Adapter strengths"))
        // Its table counts each strength's pairs below the base as the trainer does.
        let last = try XCTUnwrap(mixed.reports.last)
        for x in [last] + last.otherStrengths {
            let row = String(format: "<tr><td>%d</td><td>%g</td><td>%.4f</td><td>%d</td></tr>", x.step, x.strength, x.value,
                             x.gains.filter(\.isBelowBase).count)
            XCTAssertTrue(html.contains(row), row)
        }

        // The recipe checks.
        let base = "model: m\noutput: o\nadapters: [{name: s}]\ndata: {train: t}\n"
        for (bad, says) in [("[0.5]", "must include 1"), ("[0, 1]", "(0, 1]"), ("[1.5, 1]", "(0, 1]"), ("[0.5, 0.5, 1]", "twice")] {
            let message = F.error { _ = try Recipe.parse(yaml: base + "eval: {strengths: \(bad)}", source: "r.yaml") }
            XCTAssertTrue(message.contains("eval.strengths") && message.contains(says), message)
        }
    }

    /// A left-out prefix on an e5-named base becomes "query: ", the log says where it came from,
    /// and an explicit different prefix is logged with its step-0 cost.
    func testPromptsAreLoggedAndAnExplicitPrefixIsMeasured() throws {
        var ckpt = try Checkpoint.read(path: F.checkpoint)
        ckpt.metadata[NativePrompts.metadataKey] = NativePrompts(prompts: ["query": "bat ", "passage": "bat ", "symmetric": "bat "],
                                                                 origin: "").json
        let path = F.newDirectory("native") + ".h5"
        try ckpt.write(to: path)
        let train = try F.write(F.pairs(24), name: "train.jsonl"), dev = try F.write(F.pairs(8, seed: 9), name: "dev.jsonl")
        for (prefix, expectCost) in [(nil as String?, false), ("bep ", true)] {
            var log: [String] = []
            var recipe = try F.recipe(train: train, dev: dev, output: F.newDirectory("prompts"), overrides: ["schedule.steps=2", "eval.every=0"])
            recipe.model = path
            recipe.adapters[0].prefix = prefix
            let t = try Trainer(recipe: recipe, log: { log.append($0) })
            XCTAssertEqual(t.recipe.adapters[0].prefix, prefix ?? "bat ")
            XCTAssertTrue(log.contains { $0.contains("native (recorded)") }, "\(log)")
            try t.train()
            XCTAssertEqual(log.contains { $0.contains("instead of the base's native \"bat \"") }, expectCost, "\(log)")
            XCTAssertEqual(log.contains { $0.contains("the recipe's prefixes at step 0 vs the base's native prompts") }, expectCost, "\(log)")
            let adapter = try Checkpoint.read(path: t.run.finalPath)
            XCTAssertEqual(adapter.metadata[NativePrompts.metadataKey], ckpt.metadata[NativePrompts.metadataKey])
        }
    }
}
