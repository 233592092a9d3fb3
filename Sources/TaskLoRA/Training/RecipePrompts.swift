import Foundation

/// Prompts by default: an adapter whose `prefix` the recipe leaves out embeds with the base
/// model's native prompt for its role, so a run starts from the base at its best.
extension Recipe {
    /// The role an adapter plays: the anchor adapter of an asymmetric pair is the query side, the
    /// positive adapter the passage side; an adapter on both sides (text matching, classification,
    /// separation, single-adapter retrieval) is symmetric. nil: the adapter embeds nothing in training.
    public func role(ofAdapter index: Int) -> NativePrompts.Role? {
        let name = adapters[index].name
        let anchor = data.anchorAdapter == name, positive = data.positiveAdapter == name
        switch (anchor, positive) {
        case (true, true): return .symmetric
        case (true, false): return .query
        case (false, true): return .passage
        default: return nil
        }
    }

    /// A prefix the recipe chose that differs from the native prompt of the adapter's role.
    public struct PromptChoice: Equatable, Sendable {
        public var adapter: String
        public var role: NativePrompts.Role
        public var prefix: String
        public var native: String
    }

    /// The recipe with every left-out prefix set to the native prompt of its adapter's role, and
    /// the explicit prefixes that differ from the native ones (to log, and whose cost the step-0
    /// evaluation measures).
    public func resolvingPrefixes(_ native: NativePrompts) -> (recipe: Recipe, differing: [PromptChoice]) {
        var out = self
        var differing: [PromptChoice] = []
        for i in adapters.indices {
            let role = role(ofAdapter: i) ?? .symmetric
            let nativePrompt = native.prompt(role)
            if let given = adapters[i].prefix {
                if given != nativePrompt {
                    differing.append(PromptChoice(adapter: adapters[i].name, role: role, prefix: given, native: nativePrompt))
                }
            } else {
                out.adapters[i].prefix = nativePrompt
            }
        }
        return (out, differing)
    }
}
