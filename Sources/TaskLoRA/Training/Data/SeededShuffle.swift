/// Seeded draws for data order. Our own Fisher–Yates: `Array.shuffle(using:)` does not promise the
/// same order across Swift versions, and a resumed run must see the same order.
enum SeededShuffle {
    /// Uniform in 0..<bound (multiply-high; the bias is below bound·2⁻⁶⁴, far too small to matter).
    static func below(_ bound: UInt64, _ rng: inout SplitMix64) -> UInt64 {
        rng.next().multipliedFullWidth(by: bound).high
    }

    static func shuffle<T>(_ a: inout [T], _ rng: inout SplitMix64) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) {
            a.swapAt(i, Int(below(UInt64(i + 1), &rng)))
        }
    }
}
