import Foundation

/// Learning rate per optimizer step: linear warm-up from 0, then linear decay, cosine decay or
/// constant. With `minRatio` 0 the factors equal transformers' `get_linear_schedule_with_warmup`,
/// `get_cosine_schedule_with_warmup` and `get_constant_schedule_with_warmup`; with `minRatio` > 0
/// cosine equals `get_cosine_with_min_lr_schedule_with_warmup(min_lr_rate:)` and linear decays to
/// `minRatio · lr` the same way (`factor · (1 − minRatio) + minRatio`).
///
/// Step convention: `step` is the 0-based index of the optimizer update, i.e. the number of
/// updates already done. As with the Hugging Face Trainer (`LambdaLR`, stepped after each update)
/// the first update uses `factor(0)`, which is 0 when there is warm-up, and the update after
/// `warmup` updates is the first at the full rate.
public struct LRSchedule: Equatable, Sendable {
    public var type: Recipe.ScheduleType
    public var peak: Double
    public var warmupSteps: Int
    public var totalSteps: Int
    public var minRatio: Double

    public init(type: Recipe.ScheduleType, peak: Double, warmupSteps: Int, totalSteps: Int, minRatio: Double = 0) {
        self.type = type
        self.peak = peak
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.minRatio = minRatio
    }

    /// The schedule a recipe asks for.
    public init(recipe: Recipe) {
        self.init(type: recipe.schedule.type, peak: recipe.optimizer.lr, warmupSteps: recipe.schedule.warmup,
                  totalSteps: recipe.schedule.steps, minRatio: recipe.schedule.minLRRatio)
    }

    /// Multiplier of the peak rate for update `step` (0-based).
    public func factor(step: Int) -> Double {
        if step < warmupSteps { return Double(step) / Double(max(1, warmupSteps)) }
        let decaySteps = Double(max(1, totalSteps - warmupSteps))
        switch type {
        case .constant:
            return 1
        case .linear:
            let f = max(0, Double(totalSteps - step) / decaySteps)
            return minRatio == 0 ? f : f * (1 - minRatio) + minRatio
        case .cosine:
            // num_cycles 0.5: half a cosine from 1 to 0 over the decay steps.
            let progress = Double(step - warmupSteps) / decaySteps
            let f = 0.5 * (1 + cos(Double.pi * 0.5 * 2 * progress))
            return minRatio == 0 ? max(0, f) : max(0, f * (1 - minRatio) + minRatio)
        }
    }

    /// Learning rate for update `step` (0-based).
    public func lr(step: Int) -> Double { peak * factor(step: step) }
}
