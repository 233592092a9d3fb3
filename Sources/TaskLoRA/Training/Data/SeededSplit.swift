/// Deterministic train / held-out splits by a seeded hash of a group key: the same key always goes
/// to the same side for a given seed, whatever the file order, and rows sharing a key (an anchor
/// text, a paragraph, an article) never straddle the split.
enum SeededSplit {
    /// The group keys to hold out: keys ranked by seeded hash, taken in that order until at least
    /// round(fraction × rows) rows are held out (exact when every group has one row).
    static func heldOutKeys(_ keyOfRow: [String], fraction: Double, seed: UInt64, what: String) throws -> Set<String> {
        guard fraction.isFinite, fraction >= 0, fraction <= 1 else {
            throw TaskLoRAError("\(what): held-out fraction \(fraction) is not between 0 and 1")
        }
        var rowsOfKey: [String: Int] = [:]
        for key in keyOfRow { rowsOfKey[key, default: 0] += 1 }
        let ranked = rowsOfKey.keys.map { (key: $0, hash: StableHash.hash($0, seed: seed)) }
            .sorted { $0.hash != $1.hash ? $0.hash < $1.hash : $0.key < $1.key }
        let target = Int((fraction * Double(keyOfRow.count)).rounded())
        var held = Set<String>()
        var rows = 0
        for entry in ranked where rows < target {
            held.insert(entry.key)
            rows += rowsOfKey[entry.key]!
        }
        return held
    }
}

/// What keeps rows together in `TrainingDataset.split`.
public enum SplitKey: String, Codable, Sendable {
    /// Each row on its own (hashed by row number, so parallel files in several languages split alike).
    case row
    /// Rows with the same first text (anchor, sentence1, text) stay on one side, so a held-out
    /// query is never trained on with another positive.
    case firstText
}

extension TrainingDataset {
    /// Splits into train and held-out parts; deterministic for a given seed.
    public func split(heldOutFraction: Double, seed: UInt64, by key: SplitKey = .firstText) throws
        -> (train: TrainingDataset, heldOut: TrainingDataset) {
        split(rows: try splitRows(heldOutFraction: heldOutFraction, seed: seed, by: key))
    }

    /// The two parts for rows chosen by `splitRows` (skip counts stay with the train part).
    func split(rows: (train: [Int], heldOut: [Int])) -> (train: TrainingDataset, heldOut: TrainingDataset) {
        var train = subset(rows.train, source: source + " (train split)")
        train.skipped = skipped
        train.skipMessages = skipMessages
        return (train, subset(rows.heldOut, source: source + " (held-out split)"))
    }

    /// The rows `split` puts on each side, in row order.
    func splitRows(heldOutFraction: Double, seed: UInt64, by key: SplitKey = .firstText) throws
        -> (train: [Int], heldOut: [Int]) {
        let keys: [String] = (0..<count).map { i in key == .row ? "row \(i)" : texts(of: i)[0] }
        let held = try SeededSplit.heldOutKeys(keys, fraction: heldOutFraction, seed: seed, what: source)
        return ((0..<count).filter { !held.contains(keys[$0]) }, (0..<count).filter { held.contains(keys[$0]) })
    }
}
