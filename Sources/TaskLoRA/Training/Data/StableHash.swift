/// A seeded 64-bit hash of text that is the same in every process and on every platform
/// (Swift's `Hasher` is randomized per process, so it cannot decide splits or data order).
/// FNV-1a over the UTF-8 bytes, then the SplitMix64 finalizer mixed with the seed.
enum StableHash {
    static func hash(_ text: String, seed: UInt64 = 0) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            h ^= UInt64(byte)
            h &*= 0x0000_0100_0000_01B3
        }
        return mix(h ^ mix(seed &+ 0x9E37_79B9_7F4A_7C15))
    }

    static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Combines hashes in order (for fingerprints).
    static func combine(_ a: UInt64, _ b: UInt64) -> UInt64 {
        mix(a &* 0x9E37_79B9_7F4A_7C15 ^ b)
    }
}
