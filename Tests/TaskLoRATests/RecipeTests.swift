import Foundation
import XCTest
import TaskLoRA

/// Recipes (strict loading, overrides, resolved round trip), AdamW, clipping and LR schedules.
/// Reference numbers come from scripts/reference/adamw_reference.py (torch 2.13, transformers 5.24).
final class RecipeTests: XCTestCase {
    static let minimal = """
        model: m.h5
        output: runs/x
        adapters:
          - name: a
        data:
          train: t.jsonl
        """

    func recipe(_ yaml: String = minimal, _ overrides: [String] = []) throws -> Recipe {
        try Recipe.parse(yaml: yaml, source: "recipes/x.yaml", overrides: overrides)
    }

    /// Asserts loading fails with one message containing every fragment.
    func assertFails(_ yaml: String = minimal, set overrides: [String] = [], _ fragments: String...,
                     file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try recipe(yaml, overrides)
            XCTFail("loaded without error; expected \(fragments)", file: file, line: line)
        } catch let error as TaskLoRAError {
            XCTAssertTrue(error.message.hasPrefix("recipes/x.yaml: "), error.message, file: file, line: line)
            XCTAssertFalse(error.message.contains("\n"), "multi-line error: \(error.message)", file: file, line: line)
            for f in fragments {
                XCTAssertTrue(error.message.contains(f), "\"\(error.message)\" lacks \"\(f)\"", file: file, line: line)
            }
        } catch {
            XCTFail("not a TaskLoRAError: \(error)", file: file, line: line)
        }
    }

    /// multilingual-e5-small's shape.
    static let e5Small = EncoderConfig(modelType: "xlm-roberta", hiddenSize: 384, numHiddenLayers: 12, numAttentionHeads: 12,
                                       intermediateSize: 1536, vocabSize: 250_037, maxPositionEmbeddings: 514,
                                       typeVocabSize: 1, layerNormEps: 1e-12, padTokenId: 1)

    // MARK: Loading

    func testExampleRecipesLoadAndValidate() throws {
        let root = TestPaths.repo.path
        let sts = try Recipe.load(path: root + "/recipes/text-matching-stsb-cpu.yaml")
        XCTAssertEqual(sts.model, "checkpoints/multilingual-e5-small.h5")
        XCTAssertEqual(sts.loss.type, .cosent)
        XCTAssertEqual(sts.loss.temperature, 0.05)
        XCTAssertEqual(sts.loss.matryoshka?.dims, [32, 64, 128, 256, 384])
        XCTAssertEqual(sts.loss.matryoshka?.weights, [1, 1, 1, 1, 1])
        XCTAssertEqual(sts.adapters.map(\.lora), [LoRAConfig(rank: 8, alpha: 16, dropout: 0,
            targets: [.query, .key, .value, .attentionOutput, .ffnIn, .ffnOut])])
        XCTAssertEqual(sts.optimizer.lr, 1e-4)
        XCTAssertEqual(sts.data.batchSize, 32)
        XCTAssertEqual(sts.data.maxLength, 64)
        XCTAssertEqual(sts.data.format, .stsbCSV)
        XCTAssertEqual(sts.data.anchorAdapter, "text-matching")
        XCTAssertEqual(sts.eval.metric, .stsSpearman)
        XCTAssertEqual(sts.schedule.warmup, 20)
        XCTAssertGreaterThan(sts.data.train.count, 1)
        try sts.validate(against: Self.e5Small)

        let ret = try Recipe.load(path: root + "/recipes/retrieval-xquad-cpu.yaml")
        XCTAssertEqual(ret.adapters.map(\.name), ["retrieval.query", "retrieval.passage"])
        // No prefixes: the adapters start from e5's native prompts (the base at its best).
        XCTAssertEqual(ret.adapters.map(\.prefix), [nil, nil])
        XCTAssertEqual(ret.resolvingPrefixes(.e5).recipe.prefixes, Prefixes(anchor: "query: ", positive: "passage: "))
        XCTAssertEqual(ret.eval.select, .minGain)
        XCTAssertEqual(ret.data.dev.map(\.heldOut), [.pooled, .perFile, .cross])
        XCTAssertEqual(ret.data.anchorAdapter, "retrieval.query")
        XCTAssertEqual(ret.data.positiveAdapter, "retrieval.passage")
        XCTAssertEqual(ret.loss.type, .infonce)
        XCTAssertGreaterThan(ret.loss.hardNegatives, 0)
        XCTAssertEqual(ret.data.format, .squad)
        XCTAssertEqual(ret.eval.metric, .ndcg10)
        XCTAssertEqual(ret.data.readerFormat, .squad)
        XCTAssertEqual(sts.resolvingPrefixes(.e5).recipe.prefixes, .symmetric("query: "))
        XCTAssertEqual(sts.data.dev.count, 6)
        // Every named recipe format is one the readers know.
        for f in Recipe.DataFormat.allCases where f != .auto {
            var d = sts.data
            d.format = f
            XCTAssertEqual(d.readerFormat?.rawValue, f.rawValue)
        }
        try ret.validate(against: Self.e5Small)
    }

    /// Every shipped recipe names its data inside the clone: under data/ (scripts/get-data.sh, listed
    /// in scripts/data/sources.tsv) or runs/ (made by a script from data/), never beside or above it.
    func testShippedRecipesNameDataInsideTheClone() throws {
        let listed = Set(try String(contentsOfFile: TestPaths.repo.appendingPathComponent("scripts/data/sources.tsv").path, encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("#") }.map { "data/" + $0.split(separator: "\t")[0] })
        XCTAssertEqual(listed.count, 40)
        for file in try ReproductionRecipeTests.recipeFiles() {
            let recipe = try Recipe.load(path: TestPaths.repo.appendingPathComponent(file).path)
            for (key, path) in recipe.inputFiles where key.hasPrefix("data.") {
                XCTAssertFalse(path.hasPrefix("/") || path.contains(".."), "\(file) \(key): \(path) is outside the clone")
                XCTAssertTrue(path.hasPrefix("runs/") || listed.contains(path), "\(file) \(key): \(path) is not in scripts/data/sources.tsv")
            }
        }
    }

    /// The shipped recipes' data is there (skips until scripts/get-data.sh has run).
    func testShippedRecipeDataIsPresent() throws {
        for file in ["recipes/text-matching-stsb-cpu.yaml", "recipes/retrieval-xquad-cpu.yaml", "recipes/paper/text-matching.yaml"] {
            let recipe = try Recipe.load(path: TestPaths.repo.appendingPathComponent(file).path)
            for (key, path) in recipe.inputFiles where key.hasPrefix("data.") {
                XCTAssertTrue(path.hasPrefix("data/"), "\(file) \(key): \(path)")
                _ = try TestPaths.dataFile(String(path.dropFirst("data/".count)))   // skips when absent
            }
        }
    }

    /// A missing input stops with one line naming the key, the file and the script that provides it.
    func testMissingRecipeDataNamesTheScript() throws {
        let root = try makeScratchFolder("recipe-inputs").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let sts = try Recipe.load(path: TestPaths.repo.appendingPathComponent("recipes/text-matching-stsb-cpu.yaml").path)
        let first = message { try sts.checkInputs(root: root, source: "recipes/text-matching-stsb-cpu.yaml") }
        XCTAssertEqual(first, "recipes/text-matching-stsb-cpu.yaml: model: no such file checkpoints/multilingual-e5-small.h5"
                       + " (scripts/quickstart.sh imports the default base; or tasklora import)")
        try FileManager.default.createDirectory(atPath: root + "/checkpoints", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: root + "/checkpoints/multilingual-e5-small.h5", contents: Data())
        let data = message { try sts.checkInputs(root: root, source: "recipes/text-matching-stsb-cpu.yaml") }
        XCTAssertEqual(data, "recipes/text-matching-stsb-cpu.yaml: data.train.0: no such file data/stsb-multi-mt/stsb-en-train.csv"
                       + " (run scripts/get-data.sh from the repository root to fetch the recipes' data)")
        XCTAssertFalse(data.contains("\n"))
    }

    func testDefaults() throws {
        let r = try recipe()
        XCTAssertEqual(r.seed, 42)
        XCTAssertEqual(r.adapters[0], Recipe.Adapter(name: "a", rank: 8, alpha: 16, dropout: 0, targets: [.query, .value], prefix: nil))
        XCTAssertEqual(r.loss, Recipe.Loss(type: .infonce, temperature: 0.05))
        XCTAssertEqual(r.data.train, ["t.jsonl"])
        XCTAssertEqual(r.data.anchorAdapter, "a")
        XCTAssertEqual(r.data.positiveAdapter, "a")
        XCTAssertEqual(r.data.maxLength, 128)
        XCTAssertEqual(r.data.batchSize, 32)
        XCTAssertEqual(r.data.whitespace, .transformers)
        XCTAssertEqual(r.optimizer, Recipe.Optimizer(lr: 1e-4, weightDecay: 0.01, betas: [0.9, 0.999], eps: 1e-8,
                                                     gradClip: 1, gradAccumulation: 1, gradcacheChunk: 0))
        XCTAssertEqual(r.schedule.type, .linear)
        XCTAssertEqual(r.schedule.warmup, 0)
        XCTAssertEqual(r.eval.metric, .ndcg10)
        XCTAssertEqual(r.eval.dims, [])
        XCTAssertEqual(r.save, Recipe.Save(every: 0, keepBest: true, keepLast: 2))
        // Matryoshka dims become the eval dims unless eval lists its own.
        let m = try recipe(Self.minimal + "\nloss: {type: cosent, matryoshka: {dims: [16, 32]}}")
        XCTAssertEqual(m.eval.dims, [16, 32])
        XCTAssertEqual(m.eval.metric, .stsSpearman)
        // Aliases for targets, a lone target, null meaning "default".
        let t = try recipe(Self.minimal + "\noptimizer: {lr: null}", ["adapters.0.targets=[q_proj, v_proj, fc1]"])
        XCTAssertEqual(t.adapters[0].targets, [.query, .value, .ffnIn])
        XCTAssertEqual(t.optimizer.lr, 1e-4)
        XCTAssertEqual(try recipe(Self.minimal, ["adapters.0.targets=Wqkv"]).adapters[0].targets, [.qkv])
    }

    func testUnknownKeysAreNamed() {
        assertFails(Self.minimal + "\nmodle: x.h5", "unknown key \"modle\"", "did you mean \"model\"")
        assertFails(Self.minimal + "\noptimizer:\n  lrr: 1e-4", "unknown key \"optimizer.lrr\"")
        assertFails(Self.minimal.replacingOccurrences(of: "- name: a", with: "- name: a\n    rnak: 4"),
                    "unknown key \"adapters.0.rnak\"")
        assertFails(Self.minimal + "\nloss:\n  matryoshka: {dims: [8], dimz: [8]}", "unknown key \"loss.matryoshka.dimz\"")
        assertFails(Self.minimal + "\nschedule: {wibble: 1}", "unknown key \"schedule.wibble\"", "known keys here")
        assertFails(Self.minimal, set: ["optimizer.lrr=1e-4"], "--set optimizer.lrr=1e-4", "unknown key \"optimizer.lrr\"")
        assertFails(Self.minimal, set: ["evaluation.every=5"], "--set evaluation.every=5", "unknown key \"evaluation\"")
        assertFails(Self.minimal + "\nseed: 1\nseed: 2", "not valid YAML")
    }

    func testWrongTypesNameKeyAndType() {
        assertFails(Self.minimal + "\noptimizer: {lr: fast}", "optimizer.lr must be a number, got \"fast\"")
        assertFails(Self.minimal + "\ndata2: 1", "unknown key \"data2\"")
        assertFails(Self.minimal, set: ["data.batch_size=3.5"], "data.batch_size must be an integer, got \"3.5\"")
        assertFails(Self.minimal, set: ["data.length_bucketing=maybe"], "data.length_bucketing must be true or false")
        assertFails(Self.minimal, set: ["optimizer=0.1"], "optimizer must be a map")
        assertFails(Self.minimal, set: ["loss.type=infonc"], "loss.type must be one of infonce, cosent, separation, classification; got \"infonc\"")
        assertFails(Self.minimal, set: ["schedule.type=exp"], "schedule.type must be one of linear, cosine, constant")
        assertFails(Self.minimal, set: ["eval.metric=ndcg"], "eval.metric must be one of sts_spearman, ndcg@10")
        assertFails(Self.minimal, set: ["data.whitespace=literal"],
                    "--set data.whitespace=literal", "data.whitespace must be one of transformers, tokenizer-json; got \"literal\"")
        assertFails(Self.minimal + "\n  whitespace: 1", "data.whitespace must be one of transformers, tokenizer-json; got \"1\"")
        assertFails(Self.minimal, set: ["adapters.0.targets=[query, quer]"], "adapters.0.targets.1: unknown LoRA target \"quer\"")
        assertFails(Self.minimal, set: ["loss.matryoshka.dims=[8, x]"], "loss.matryoshka.dims.1 must be an integer, got \"x\"")
        assertFails("model: m.h5\noutput: o\nadapters: {name: a}\ndata: {train: t}", "adapters must be a list")
        assertFails("model: m.h5\noutput: o\nadapters: [{name: a}]", "missing required key \"data\"")
        assertFails("model: m.h5\noutput: o\nadapters: [{name: a}]\ndata: {dev: d}", "missing required key \"data.train\"")
        assertFails("model: m.h5\noutput: o\nadapters: [{rank: 4}]\ndata: {train: t}", "missing required key \"adapters.0.name\"")
        assertFails("- just\n- a list", "must be a map of keys")
    }

    func testOutOfRangeValues() throws {
        let cases: [(String, String)] = [
            ("optimizer.lr=0", "optimizer.lr must be > 0, got 0.0"),
            ("optimizer.lr=-1e-4", "optimizer.lr must be > 0, got -0.0001"),
            ("optimizer.lr=.nan", "optimizer.lr must be > 0"),
            ("optimizer.weight_decay=-0.1", "optimizer.weight_decay must be >= 0"),
            ("optimizer.betas=[0.9, 1.0]", "optimizer.betas.1 must be in [0, 1), got 1.0"),
            ("optimizer.betas=[-0.1, 0.9]", "optimizer.betas.0 must be in [0, 1)"),
            ("optimizer.betas=[0.9]", "optimizer.betas must be two numbers"),
            ("optimizer.eps=0", "optimizer.eps must be > 0"),
            ("optimizer.grad_clip=-1", "optimizer.grad_clip must be >= 0"),
            ("optimizer.grad_accumulation=0", "optimizer.grad_accumulation must be >= 1"),
            ("optimizer.gradcache_chunk=64", "optimizer.gradcache_chunk must be at most data.batch_size (32)"),
            ("loss.temperature=0", "loss.temperature must be > 0"),
            ("loss.hard_negatives=-1", "loss.hard_negatives must be >= 0"),
            ("adapters.0.rank=0", "adapters.0.rank must be >= 1, got 0"),
            ("adapters.0.alpha=0", "adapters.0.alpha must be > 0"),
            ("adapters.0.dropout=1", "adapters.0.dropout must be in [0, 1)"),
            ("adapters.0.targets=[]", "adapters.0.targets must list at least one module"),
            ("adapters.0.targets=[qkv, query]", "adapters.0.targets qkv overlaps query/key/value"),
            ("adapters.0.name=a/b", "adapters.0.name must be a non-empty name"),
            ("adapters=[]", "adapters must list at least one adapter"),
            ("data.batch_size=1", "data.batch_size must be >= 2 for loss infonce, got 1"),
            ("data.max_length=2", "data.max_length must be >= 3"),
            ("data.score_scale=0", "data.score_scale must be > 0"),
            ("data.anchor_adapter=b", "data.anchor_adapter \"b\" is not one of the adapters (a)"),
            ("data.train=[]", "data.train must list at least one file"),
            ("loss.matryoshka.dims=[64, 32]", "loss.matryoshka.dims must be strictly ascending, got [64, 32]"),
            ("loss.matryoshka.dims=[0, 32]", "loss.matryoshka.dims must be positive"),
            ("loss.matryoshka.dims=[]", "loss.matryoshka.dims must list at least one dimension"),
            ("loss.matryoshka={dims: [8, 16], weights: [1]}", "loss.matryoshka.weights needs one weight per dimension (2), got 1"),
            ("loss.matryoshka={dims: [8, 16], weights: [0, 0]}", "loss.matryoshka.weights must be >= 0 and not all 0"),
            ("eval.dims=[32, 32]", "eval.dims must be strictly ascending"),
            ("eval.every=100", "eval.every needs a dev set (data.dev or data.held_out)"),
            ("eval.early_stopping_patience=-1", "eval.early_stopping_patience must be >= 0"),
            ("schedule.steps=0", "schedule.steps must be >= 1"),
            ("schedule.warmup_steps=2000", "schedule.warmup_steps must be in [0, schedule.steps = 1000], got 2000"),
            ("schedule.warmup_ratio=1.5", "schedule.warmup_ratio must be in [0, 1]"),
            ("schedule.min_lr_ratio=-0.5", "schedule.min_lr_ratio must be in [0, 1]"),
            ("save.keep_last=0", "save.keep_last must be >= 1"),
            ("seed=-3", "seed must be >= 0"),
            ("rotary_base=1", "rotary_base must be > 1, got 1.0"),
            ("precision=int8", "precision int8 is inference only (embed, eval, mine --precision int8); training runs at fp32 or bf16"),
        ]
        for (set, message) in cases {
            assertFails(Self.minimal, set: [set], "--set \(set): \(message)")
        }
        // From the file itself there is no --set in the message.
        assertFails(Self.minimal + "\nloss: {temperature: -1}", "recipes/x.yaml: loss.temperature must be > 0, got -1.0")
        assertFails(Self.minimal + "\nschedule: {warmup_steps: 5, warmup_ratio: 0.1}", "give warmup_steps or warmup_ratio, not both")
        assertFails(Self.minimal + "\nloss: {type: cosent, hard_negatives: 2}", "loss.hard_negatives applies to loss type infonce only")
        // CoSENT needs pairs of pairs; classification runs with one example.
        assertFails(Self.minimal, set: ["loss.type=cosent", "data.batch_size=1"], "data.batch_size must be >= 2 for loss cosent")
        XCTAssertNoThrow(try recipe(Self.minimal, ["loss.type=classification", "data.batch_size=1"]))
        // precision: fp32 by default, bf16 accepted and written back by resolvedYAML.
        XCTAssertEqual(try recipe(Self.minimal, []).precision, .fp32)
        let bf16 = try recipe(Self.minimal, ["precision=bf16"])
        XCTAssertEqual(bf16.precision, .bf16)
        XCTAssertEqual(try Recipe.parse(yaml: bf16.resolvedYAML(), source: "r.yaml").precision, .bf16)
    }

    func testValidateAgainstModel() throws {
        func fails(_ overrides: [String], _ fragment: String, line: UInt = #line) throws {
            let r = try recipe(Self.minimal, overrides)
            XCTAssertThrowsError(try r.validate(against: Self.e5Small, source: "recipes/x.yaml"), line: line) { error in
                let message = (error as? TaskLoRAError)?.message ?? "\(error)"
                XCTAssertTrue(message.contains(fragment), message, line: line)
            }
        }
        try fails(["loss.matryoshka.dims=[64, 512]"], "loss.matryoshka.dims 512 exceeds the model's embedding size 384")
        try fails(["eval.dims=[768]"], "eval.dims 768 exceeds the model's embedding size 384")
        try fails(["data.max_length=1024"], "data.max_length 1024 exceeds the model's 512 positions")
        try fails(["adapters.0.rank=500"], "adapters.0 (a): LoRA rank 500 exceeds the hidden size 384")
        try fails(["rotary_base=10000"], "rotary_base applies to rotary models only; this model has absolute positions")
        XCTAssertNoThrow(try recipe(Self.minimal, ["loss.matryoshka.dims=[64, 384]", "data.max_length=512"])
            .validate(against: Self.e5Small))
    }

    func testOverrides() throws {
        let base = Self.minimal + "\nadapters:\n  - name: q\n  - name: p\n    rank: 4"
        XCTAssertThrowsError(try recipe(base))  // duplicate key "adapters": not valid YAML
        let yaml = Self.minimal.replacingOccurrences(of: "  - name: a", with: "  - name: q\n  - name: p\n    rank: 4")
        let r = try recipe(yaml, [
            "optimizer.lr=5e-4", "data.batch_size=64", "adapters.1.rank=16", "adapters.0.prefix=\"query: \"",
            "loss.matryoshka.dims=[32, 64]", "data.dev=dev.csv", "eval.every=10", "schedule.warmup_ratio=0.05",
            "data.positive_adapter=p", "optimizer.lr=3e-4",  // the last of two wins
            "data.whitespace=tokenizer-json",
        ])
        XCTAssertEqual(r.data.whitespace, .tokenizerJSON)
        XCTAssertEqual(r.optimizer.lr, 3e-4)
        XCTAssertEqual(r.data.batchSize, 64)
        XCTAssertEqual(r.adapters.map(\.rank), [8, 16])
        XCTAssertEqual(r.adapters[0].prefix, "query: ")
        XCTAssertEqual(r.loss.matryoshka, Recipe.Matryoshka(dims: [32, 64], weights: [1, 1]))
        XCTAssertEqual(r.data.dev, [Recipe.DevSource(path: "dev.csv")])
        XCTAssertEqual(r.data.anchorAdapter, "q")
        XCTAssertEqual(r.data.positiveAdapter, "p")
        XCTAssertEqual(r.schedule.warmup, 50)
        // null restores the default; a section set to null can be overridden into a map.
        XCTAssertEqual(try recipe(yaml, ["data.dev=x", "data.dev=null"]).data.dev, [])
        XCTAssertEqual(try recipe(Self.minimal + "\nloss: {matryoshka: null}", ["loss.matryoshka.dims=[8]"]).loss.matryoshka?.dims, [8])

        assertFails(yaml, set: ["adapters.5.rank=8"], "--set adapters.5.rank=8", "\"adapters\" has 2 entries; no entry 5")
        assertFails(yaml, set: ["adapters.rank=8"], "\"adapters\" is a list; select an entry by number, e.g. adapters.0.rank")
        assertFails(yaml, set: ["model.path=x"], "\"model\" is a single value, not a map")
        assertFails(yaml, set: ["optimizer.lr"], "--set optimizer.lr: expected key.path=value")
        assertFails(yaml, set: ["optimizer..lr=1"], "is not a key path")
        assertFails(yaml, set: ["optimizer.lr=[1, 2"], "--set optimizer.lr=[1, 2: value is not valid YAML")
    }

    func testResolvedYAMLRoundTrip() throws {
        let root = TestPaths.repo.path
        var recipes = [
            try Recipe.load(path: root + "/recipes/text-matching-stsb-cpu.yaml"),
            try Recipe.load(path: root + "/recipes/retrieval-xquad-cpu.yaml"),
            try recipe(),
        ]
        // Floats that Yams would write as 9e-1, or cut to 15 digits.
        var r = try recipe(Self.minimal, ["loss.matryoshka={dims: [8, 16], weights: [0.3, 0.7]}", "data.whitespace=tokenizer-json",
                                          "data.dev=\"yes\"", "adapters.0.prefix=\"a: b #c \"", "adapters.0.init_from=jina"])
        r.optimizer.lr = 5e-4
        r.optimizer.betas = [0.9, 0.98]
        r.optimizer.eps = 1e-8
        r.loss.temperature = 0.05
        r.adapters[0].alpha = 0.1 + 0.2  // 0.30000000000000004
        r.adapters[0].dropout = 1.0 / 3
        r.schedule.minLRRatio = 1e-5
        r.schedule.warmupRatio = 0.1
        r.data.scoreScale = 5
        recipes.append(r)

        for original in recipes {
            let text = original.resolvedYAML()
            let back = try Recipe.parse(yaml: text, source: "resolved")
            XCTAssertEqual(back, original, text)
            XCTAssertEqual(back.resolvedYAML(), text, "resolving twice changes the text")
            for section in ["model:", "output:", "seed:", "adapters:", "loss:", "data:", "optimizer:", "schedule:", "eval:", "save:"] {
                XCTAssertTrue(text.contains(section), "resolved recipe lacks \(section)")
            }
        }
        let text = r.resolvedYAML()
        for line in ["lr: 0.0005", "betas: [0.9, 0.98]", "eps: 1.0e-08", "temperature: 0.05", "alpha: 0.30000000000000004",
                     "score_scale: 5.0", "min_lr_ratio: 1.0e-05", "warmup_steps: null", "init_from: jina",
                     "dims: [8, 16]", "weights: [0.3, 0.7]", "whitespace: tokenizer-json"] {
            XCTAssertTrue(text.contains(line), "missing \"\(line)\" in\n\(text)")
        }
        XCTAssertFalse(text.contains("9e-1"), text)
        XCTAssertEqual(try Recipe.parse(yaml: text, source: "resolved").data.dev, [Recipe.DevSource(path: "yes")])
    }

    // MARK: AdamW

    static let n = 19
    static func p0() -> [Float] { (0..<n).map { Float(0.5 * sin(Double($0 + 1))) } }
    static func grad(_ t: Int) -> [Float] {
        (0..<n).map { $0 == 3 ? 0 : Float(0.1 * Double(t + 1) * cos(Double(($0 + 1) * (t + 1)))) }
    }

    // scripts/reference/adamw_reference.py: torch.optim.AdamW(lr per step 1e-2, 5e-3, 2e-3,
    // betas (0.9, 0.999), eps 1e-8, weight_decay 0.1, foreach=False).
    let adamwAfterStep1: [Float] = [0.41031476855278015, 0.46419405937194824, 0.08048944175243378, -0.37802284955978394, -0.4889826774597168, -0.14956803619861603, 0.3181648254394531, 0.5041844844818115, 0.21585319936275482, -0.2617385685443878, -0.5094949007034302, -0.27801817655563354, 0.1998734325170517, 0.48480841517448425, 0.3348187804222107, -0.1338077038526535, -0.47021806240081787, -0.38511812686920166, 0.0648636668920517]
    let adamwAfterStep2: [Float] = [0.4114072322845459, 0.4685232937335968, 0.07867633551359177, -0.37783384323120117, -0.48562759160995483, -0.15438365936279297, 0.31358712911605835, 0.5078960061073303, 0.21458415687084198, -0.26180166006088257, -0.5055269002914429, -0.2828798294067383, 0.19480371475219727, 0.48804011940956116, 0.33635473251342773, -0.1353009194135666, -0.4657742381095886, -0.3867039978504181, 0.0599871501326561]
    let adamwAfterStep3: [Float] = [0.41266387701034546, 0.4678821861743927, 0.07932336628437042, -0.37775829434394836, -0.483931303024292, -0.1563236266374588, 0.31407400965690613, 0.5081101059913635, 0.21483899652957916, -0.2622750699520111, -0.5042524337768555, -0.28390491008758545, 0.1928166151046753, 0.48952946066856384, 0.33539676666259766, -0.13471223413944244, -0.46589741110801697, -0.3855481743812561, 0.05804268643260002]
    let adamwM3: [Float] = [-0.03281396999955177, 0.013668734580278397, -0.018069785088300705, 0.0, -0.03559626266360283, 0.04277625307440758, -0.007864000275731087, -0.005691052880138159, -0.0042586191557347775, 0.005176540929824114, -0.01836174912750721, 0.010631527751684189, 0.02699415571987629, -0.028218895196914673, 0.01238271314650774, -0.011945354752242565, 0.0047615403309464455, -0.021834075450897217, 0.05219583585858345]
    let adamwV3: [Float] = [9.804130240809172e-05, 0.00010177466901950538, 0.00012133572454331443, 0.0, 8.087783498922363e-05, 7.689757330808789e-05, 3.3420124964322895e-05, 5.30525685462635e-05, 3.338933311169967e-05, 1.5822328350623138e-05, 3.9972932427190244e-05, 1.577030161570292e-05, 3.134044527541846e-05, 5.1612878451123834e-05, 3.1547202524961904e-05, 7.38427261239849e-05, 7.910105341579765e-05, 6.690373265882954e-05, 0.00011908439773833379]

    func testAdamWMatchesTorch() {
        let opt = AdamW(count: Self.n, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1)
        var p = Self.p0()
        let expected = [adamwAfterStep1, adamwAfterStep2, adamwAfterStep3]
        for (t, lr) in [1e-2, 5e-3, 2e-3].enumerated() {
            let g = Self.grad(t)
            p.withUnsafeMutableBufferPointer { pp in
                g.withUnsafeBufferPointer { opt.update(parameters: pp.baseAddress!, gradients: $0.baseAddress!, lr: lr) }
            }
            for i in 0..<Self.n {
                XCTAssertEqual(p[i], expected[t][i], accuracy: 2e-7, "step \(t + 1) element \(i)")
            }
        }
        XCTAssertEqual(opt.step, 3)
        let s = opt.state
        for i in 0..<Self.n {
            XCTAssertEqual(s.m[i], adamwM3[i], accuracy: 1e-8)
            XCTAssertEqual(s.v[i], adamwV3[i], accuracy: 1e-11)
        }
    }

    /// The SIMD, threaded path equals a plain scalar loop bit for bit, and frozen ranges stay put.
    func testAdamWVectorizedMatchesScalarAndSkipsFrozen() {
        let count = 100_003
        var p = (0..<count).map { Float(sin(Double($0) * 0.37)) }
        let g = (0..<count).map { Float(cos(Double($0) * 0.11) * 0.01) }
        var ref = p, mRef = [Float](repeating: 0, count: count), vRef = mRef
        let opt = AdamW(count: count, weightDecay: 0.01)
        opt.frozen = [10..<20, 50_000..<60_017]
        let frozen = Set(opt.frozen.flatMap { Array($0) })
        for (t, lr) in [1e-3, 7e-4].enumerated() {
            p.withUnsafeMutableBufferPointer { pp in
                g.withUnsafeBufferPointer { opt.update(parameters: pp.baseAddress!, gradients: $0.baseAddress!, lr: lr) }
            }
            let step = Double(t + 1)
            let bc1 = 1 - pow(0.9, step), bc2 = 1 - pow(0.999, step)
            let decay = Float(1 - lr * 0.01), negStep = Float(-(lr / bc1)), bc2Sqrt = Float(bc2.squareRoot())
            for i in 0..<count where !frozen.contains(i) {
                ref[i] *= decay
                mRef[i] = mRef[i] + Float(1 - 0.9) * (g[i] - mRef[i])
                vRef[i] = vRef[i] * Float(0.999) + (Float(1 - 0.999) * g[i]) * g[i]
                ref[i] = ref[i] + negStep * (mRef[i] / (vRef[i].squareRoot() / bc2Sqrt + Float(1e-8)))
            }
        }
        XCTAssertEqual(p, ref)
        XCTAssertEqual(opt.state.m, mRef)
        XCTAssertEqual(opt.state.v, vRef)
        XCTAssertEqual(p[15], Float(sin(15 * 0.37)))
        XCTAssertEqual(opt.state.m[55_000], 0)
    }

    func testAdamWStateRestoresBitForBit() throws {
        let count = 1000
        let grads = (0..<3).map { t in (0..<count).map { Float(sin(Double($0 * (t + 2)))) * 0.05 } }
        func run(_ opt: AdamW, _ p: inout [Float], steps: Range<Int>) {
            for t in steps {
                p.withUnsafeMutableBufferPointer { pp in
                    grads[t].withUnsafeBufferPointer { opt.update(parameters: pp.baseAddress!, gradients: $0.baseAddress!, lr: 1e-3) }
                }
            }
        }
        let a = AdamW(count: count)
        var pa = [Float](repeating: 0.25, count: count)
        run(a, &pa, steps: 0..<2)
        let saved = a.state
        var pb = pa
        run(a, &pa, steps: 2..<3)

        let b = AdamW(count: count)
        try b.restore(saved)
        XCTAssertEqual(b.state, saved)
        run(b, &pb, steps: 2..<3)
        XCTAssertEqual(pa, pb)
        XCTAssertEqual(a.state, b.state)
        XCTAssertThrowsError(try AdamW(count: 3).restore(saved))
    }

    func testAdamWOverAdaptersSkipsFrozenAdapters() throws {
        let config = EncoderConfig(modelType: "bert", hiddenSize: 8, numHiddenLayers: 2, numAttentionHeads: 2,
                                   intermediateSize: 16, vocabSize: 30, maxPositionEmbeddings: 16, typeVocabSize: 2,
                                   layerNormEps: 1e-12, padTokenId: 0)
        let adapters = try LoRAAdapters(names: ["x", "y", "z"], configs: [LoRAConfig(rank: 2), LoRAConfig(rank: 2), LoRAConfig(rank: 2)],
                                        model: config)
        for i in 0..<adapters.parameterCount { adapters.parameters[i] = 1; adapters.gradients[i] = 1 }
        adapters.frozen = [0, 2]
        let ranges = AdamW.frozenRanges(adapters)
        XCTAssertEqual(ranges.count, 2)
        XCTAssertEqual(ranges.map(\.count), [adapters.parameterCount(adapter: 0), adapters.parameterCount(adapter: 2)])
        let opt = AdamW(count: adapters.parameterCount)
        opt.update(adapters, lr: 0.1)
        let yStart = ranges[0].upperBound
        for i in 0..<adapters.parameterCount {
            let trained = i >= yStart && i < ranges[1].lowerBound
            XCTAssertEqual(adapters.parameters[i] != 1, trained, "index \(i)")
        }
    }

    // MARK: Clipping

    func testGradientClipping() {
        var g: [Float] = (0..<70_000).map { i in i % 2 == 0 ? 3e-3 : -4e-3 }
        let a = Double(Float(3e-3)), b = Double(Float(-4e-3))
        let expected = (35_000 * (a * a + b * b)).squareRoot()
        let norm = g.withUnsafeMutableBufferPointer { GradientClipping.clip($0.baseAddress!, count: $0.count, maxNorm: 0.5) }
        XCTAssertEqual(norm, expected, accuracy: expected * 1e-12)  // Double sums lose nothing here
        let after = g.withUnsafeBufferPointer { GradientClipping.norm($0.baseAddress!, count: $0.count) }
        XCTAssertEqual(after, 0.5, accuracy: 1e-5)
        // Below the limit, or clipping off: untouched.
        let before = g
        _ = g.withUnsafeMutableBufferPointer { GradientClipping.clip($0.baseAddress!, count: $0.count, maxNorm: 1) }
        XCTAssertEqual(g, before)
        let off = g.withUnsafeMutableBufferPointer { GradientClipping.clip($0.baseAddress!, count: $0.count, maxNorm: 0) }
        XCTAssertEqual(off, after)
        XCTAssertEqual(g, before)
        // Non-finite gradients are reported and left alone.
        XCTAssertTrue(g.withUnsafeBufferPointer { GradientClipping.allFinite($0.baseAddress!, count: $0.count) })
        for bad in [Float.nan, .infinity, -.infinity] {
            var h = before
            h[12_345] = bad
            let n = h.withUnsafeMutableBufferPointer { GradientClipping.clip($0.baseAddress!, count: $0.count, maxNorm: 0.1) }
            XCTAssertFalse(n.isFinite)
            XCTAssertFalse(h.withUnsafeBufferPointer { GradientClipping.allFinite($0.baseAddress!, count: $0.count) })
            XCTAssertEqual(h[0], before[0])
        }
        // Huge but finite floats do not overflow the Double sum.
        var big: [Float] = [3e38, 2e38]
        let bn = big.withUnsafeMutableBufferPointer { GradientClipping.clip($0.baseAddress!, count: 2, maxNorm: 1) }
        XCTAssertTrue(bn.isFinite)
        XCTAssertTrue(big.allSatisfy(\.isFinite))
    }

    // MARK: Schedules

    // scripts/reference/adamw_reference.py: lr 5e-4, warmup 10, total 100, lr read before each
    // optimizer update k as the HF Trainer does (LambdaLR stepped after the update).
    let scheduleSteps = [0, 1, 5, 9, 10, 11, 37, 50, 99, 100]
    let linearLR: [Double] = [0.0, 5e-05, 0.00025, 0.00045000000000000004, 0.0005, 0.0004944444444444445, 0.00035, 0.0002777777777777778, 5.555555555555556e-06, 0.0]
    let cosineLR: [Double] = [0.0, 5e-05, 0.00025, 0.00045000000000000004, 0.0005, 0.0004998477067547739, 0.0003969463130731183, 0.00029341204441673266, 1.5229324522605948e-07, 0.0]
    let cosineMinLR: [Double] = [0.0, 5e-05, 0.00025, 0.00045000000000000004, 0.0005, 0.0004998629360792965, 0.0004072516817658065, 0.00031407083997505935, 5.013706392070345e-05, 5e-05]
    let constantLR: [Double] = [0.0, 5e-05, 0.00025, 0.00045000000000000004, 0.0005, 0.0005, 0.0005, 0.0005, 0.0005, 0.0005]
    let linearNoWarmupLR: [Double] = [0.0005, 0.000495, 0.000475, 0.000455, 0.00045000000000000004, 0.00044500000000000003, 0.000315, 0.00025, 5e-06, 0.0]

    func testSchedulesMatchTransformers() {
        let cases: [(LRSchedule, [Double])] = [
            (LRSchedule(type: .linear, peak: 5e-4, warmupSteps: 10, totalSteps: 100), linearLR),
            (LRSchedule(type: .cosine, peak: 5e-4, warmupSteps: 10, totalSteps: 100), cosineLR),
            (LRSchedule(type: .cosine, peak: 5e-4, warmupSteps: 10, totalSteps: 100, minRatio: 0.1), cosineMinLR),
            (LRSchedule(type: .constant, peak: 5e-4, warmupSteps: 10, totalSteps: 100), constantLR),
            (LRSchedule(type: .linear, peak: 5e-4, warmupSteps: 0, totalSteps: 100), linearNoWarmupLR),
        ]
        for (schedule, expected) in cases {
            for (step, lr) in zip(scheduleSteps, expected) {
                XCTAssertEqual(schedule.lr(step: step), lr, accuracy: 1e-18, "\(schedule.type) step \(step)")
            }
        }
        // Linear with a floor ends at min_lr_ratio · lr.
        let floor = LRSchedule(type: .linear, peak: 1, warmupSteps: 0, totalSteps: 10, minRatio: 0.2)
        XCTAssertEqual(floor.lr(step: 10), 0.2, accuracy: 1e-15)
        XCTAssertEqual(floor.lr(step: 5), 0.6, accuracy: 1e-15)
        // From a recipe: a warm-up ratio rounds up, as transformers does.
        let r = try? recipe(Self.minimal, ["schedule={type: cosine, warmup_ratio: 0.033, steps: 100}", "optimizer.lr=2e-4"])
        let s = r.map(LRSchedule.init(recipe:))
        XCTAssertEqual(s?.warmupSteps, 4)
        XCTAssertEqual(s?.peak, 2e-4)
        XCTAssertEqual(s?.type, .cosine)
    }
}
