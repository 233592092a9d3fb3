import Foundation
import Yams

/// A training run, as written in a YAML recipe (docs/recipes.md): which checkpoint, which
/// adapters, which loss, data, optimizer, schedule, evaluation and saving.
///
/// Loading is strict: unknown keys, wrong types and out-of-range values are errors naming the
/// file and the key. Missing keys take documented defaults, and `resolvedYAML()` writes every
/// key back out, so a checkpoint's stored recipe says exactly what ran.
public struct Recipe: Codable, Equatable, Sendable {
    /// tasklora .h5 checkpoint holding the encoder (and any adapters to start from).
    public var model: String
    /// Run directory: checkpoints, metrics and logs go here.
    public var output: String
    public var seed: Int
    public var adapters: [Adapter]
    public var loss: Loss
    public var data: Dataset
    public var optimizer: Optimizer
    public var schedule: Schedule
    public var eval: Eval
    public var save: Save
    /// Rotary models only: the RoPE base while training (jina-embeddings-v3 trains at 10,000 and
    /// embeds at 20,000). nil = the checkpoint's `rotary_emb_base`, which embedding and the
    /// in-training evaluation always use.
    public var rotaryBase: Float?
    /// The arithmetic of the frozen base's projections, forward and backward (docs/precision.md):
    /// fp32 (the reference) or bf16. int8 is inference only.
    public var precision: Precision

    public init(model: String, output: String, seed: Int = 42, adapters: [Adapter], loss: Loss = Loss(),
                data: Dataset, optimizer: Optimizer = Optimizer(), schedule: Schedule = Schedule(),
                eval: Eval? = nil, save: Save = Save(), rotaryBase: Float? = nil, precision: Precision = .fp32) {
        self.model = model
        self.output = output
        self.seed = seed
        self.adapters = adapters
        self.loss = loss
        self.data = data
        self.optimizer = optimizer
        self.schedule = schedule
        self.eval = eval ?? Eval()
        self.save = save
        self.rotaryBase = rotaryBase
        self.precision = precision
        resolveDefaults(evalMetricGiven: eval != nil, evalDimsGiven: eval != nil)
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case model, output, seed, adapters, loss, data, optimizer, schedule, eval, save
        case rotaryBase = "rotary_base"
        case precision
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decode(String.self, forKey: .model)
        output = try c.decode(String.self, forKey: .output)
        seed = try c.value(.seed, or: 42)
        adapters = try c.decode([Adapter].self, forKey: .adapters)
        loss = try c.value(.loss, or: Loss())
        data = try c.decode(Dataset.self, forKey: .data)
        optimizer = try c.value(.optimizer, or: Optimizer())
        schedule = try c.value(.schedule, or: Schedule())
        eval = try c.value(.eval, or: Eval())
        save = try c.value(.save, or: Save())
        rotaryBase = try c.decodeIfPresent(Float.self, forKey: .rotaryBase)
        precision = try c.value(.precision, or: .fp32)
        let evalKeys = c.has(.eval) ? try c.nestedContainer(keyedBy: Eval.CodingKeys.self, forKey: .eval) : nil
        resolveDefaults(evalMetricGiven: evalKeys?.has(.metric) ?? false, evalDimsGiven: evalKeys?.has(.dims) ?? false)
    }

    /// Defaults that depend on other sections.
    private mutating func resolveDefaults(evalMetricGiven: Bool, evalDimsGiven: Bool) {
        if let first = adapters.first?.name {
            if data.anchorAdapter.isEmpty { data.anchorAdapter = first }
            if data.positiveAdapter.isEmpty { data.positiveAdapter = first }
        }
        if !evalMetricGiven { eval.metric = loss.type == .cosent ? .stsSpearman : .ndcg10 }
        if !evalDimsGiven { eval.dims = loss.matryoshka?.dims ?? [] }
    }

    public func adapter(named name: String) -> Adapter? { adapters.first { $0.name == name } }

    /// The instruction prefixes of the anchor and positive adapters, for batch building.
    public var prefixes: Prefixes {
        Prefixes(anchor: adapter(named: data.anchorAdapter)?.prefix ?? "",
                 positive: adapter(named: data.positiveAdapter)?.prefix ?? "")
    }

    /// The prefix adapter `index` embeds with ("" while unresolved).
    public func prefix(ofAdapter index: Int) -> String { adapters[index].prefix ?? "" }

    // MARK: Loading

    /// Reads a recipe file, applies `--set key.path=value` overrides, decodes and validates it.
    public static func load(path: String, overrides: [String] = []) throws -> Recipe {
        guard let bytes = FileManager.default.contents(atPath: path) else {
            throw TaskLoRAError.file(path, "cannot read recipe")
        }
        guard let text = String(data: bytes, encoding: .utf8) else {
            throw TaskLoRAError.file(path, "recipe is not UTF-8 text")
        }
        return try parse(yaml: text, source: path, overrides: overrides)
    }

    /// Parses recipe text (e.g. the resolved recipe stored in a checkpoint); `source` names it in errors.
    public static func parse(yaml text: String, source: String, overrides: [String] = []) throws -> Recipe {
        var tree: Node
        do {
            tree = try Yams.compose(yaml: text) ?? Node.mapping(Node.Mapping([]))
        } catch {
            throw TaskLoRAError.file(source, "not valid YAML: \(yamlErrorSummary(error))")
        }
        guard tree.mapping != nil else {
            throw TaskLoRAError.file(source, "a recipe must be a map of keys (model, output, adapters, data, ...)")
        }
        var applied: [RecipeOverride] = []
        for text in overrides {
            let o = try RecipeOverride(text, source: source)
            do {
                try o.apply(to: &tree)
            } catch let issue as RecipeIssue {
                throw TaskLoRAError.file(source, "--set \(o.text): \(issue.message)")
            }
            applied.append(o)
        }
        // The error names the --set that introduced the offending key, if any.
        func located(_ issue: RecipeIssue) -> TaskLoRAError {
            if let o = applied.last(where: { o in
                issue.key == o.key || issue.key.hasPrefix(o.key + ".") || o.key.hasPrefix(issue.key + ".")
            }) {
                return TaskLoRAError.file(source, "--set \(o.text): \(issue.message)")
            }
            return TaskLoRAError.file(source, issue.message)
        }
        let recipe: Recipe
        do {
            recipe = try YAMLDecoder().decode(Recipe.self, from: tree)
        } catch let issue as RecipeIssue {
            throw located(issue)
        } catch let error as DecodingError {
            throw located(describe(error, tree: tree))
        } catch {
            throw TaskLoRAError.file(source, "cannot read recipe: \(error)")
        }
        do {
            try recipe.check()
        } catch let issue as RecipeIssue {
            throw located(issue)
        }
        return recipe
    }

    /// Range and consistency checks that need no model (`load` runs them).
    public func validate(source: String = "recipe") throws {
        do { try check() } catch let issue as RecipeIssue { throw TaskLoRAError.file(source, issue.message) }
    }

    /// Checks that need the model: dimensions, sequence length, LoRA ranks and targets.
    public func validate(against config: EncoderConfig, source: String = "recipe") throws {
        do { try check(against: config) } catch let issue as RecipeIssue { throw TaskLoRAError.file(source, issue.message) }
    }
}

/// Turns a decoding error into "key: expected type, got value".
private func describe(_ error: DecodingError, tree: Node) -> RecipeIssue {
    switch error {
    case let .keyNotFound(key, ctx):
        let path = recipeKeyPath(ctx.codingPath + [key])
        return RecipeIssue(path, "missing required key \"\(path)\"")
    case let .typeMismatch(type, ctx), let .valueNotFound(type, ctx):
        let path = recipeKeyPath(ctx.codingPath)
        let got = node(at: ctx.codingPath, in: tree).map(describeNode) ?? "nothing"
        return RecipeIssue(path, "\(path) must be \(expectedName(type)), got \(got)")
    case let .dataCorrupted(ctx):
        let path = recipeKeyPath(ctx.codingPath)
        return RecipeIssue(path, "\(path): \(ctx.debugDescription)")
    @unknown default:
        return RecipeIssue("", "\(error)")
    }
}

private func expectedName(_ type: Any.Type) -> String {
    switch type {
    case is Double.Type, is Float.Type: return "a number"
    case is Int.Type: return "an integer"
    case is Bool.Type: return "true or false"
    case is String.Type: return "a string"
    case is Node.Mapping.Type: return "a map"
    case is Node.Sequence.Type: return "a list"
    case is Node.Scalar.Type: return "a single value"
    default: return "\(type)"
    }
}

private func describeNode(_ node: Node) -> String {
    switch node {
    case .scalar(let s): return "\"\(s.string)\""
    case .mapping: return "a map"
    case .sequence: return "a list"
    case .alias: return "an alias"
    }
}

/// The node at a decoding path, to quote the offending value.
private func node(at path: [CodingKey], in tree: Node) -> Node? {
    var current = tree
    for key in path {
        if let i = key.intValue, let seq = current.sequence {
            guard i < seq.count else { return nil }
            current = seq[i]
        } else if let map = current.mapping, let next = map[key.stringValue] {
            current = next
        } else {
            return nil
        }
    }
    return current
}

/// Yams' errors span several lines; keep the first, which has the line and column.
func yamlErrorSummary(_ error: Error) -> String {
    String(describing: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
}
