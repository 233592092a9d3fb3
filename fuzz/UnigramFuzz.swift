import Foundation
import TaskLoRA

/// The Unigram tokenizer on arbitrary bytes. By default a hand-made vocabulary (single letters,
/// multi-byte pieces, a case-folding normalizer, a special token); TASKLORA_FUZZ_TOKENIZER names a
/// real Unigram tokenizer.json instead (e.g. multilingual-e5's, with its Precompiled normalizer).
let unigram: any TextTokenizer = {
    if let path = ProcessInfo.processInfo.environment["TASKLORA_FUZZ_TOKENIZER"] {
        return try! loadHuggingFaceTokenizer(path: path)
    }
    let pieces = ["<s>", "<pad>", "</s>", "<unk>", "▁", "▁a", "a", "b", "ab", "▁ab", "ä", "日本", "語", "\u{FFFD}",
                  "▁▁", "é", "<mask>"]
    let scores: [Double] = (0..<pieces.count).map { -Double($0) * 0.5 }
    let fold: [UInt32: [UInt32]] = [0x41: [0x61], 0x42: [0x62], 0xC4: [0x61, 0x308], 0x3000: [0x20]]
    return try! UnigramTokenizer(pieces: pieces, scores: scores, unkId: 3, bosId: 0, eosId: 2, padId: 1,
                                 normalizer: .codepointMap(fold), specialTokens: [("<mask>", 16)])
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzUnigram(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    Fuzz.tokenize(unigram, data, size)
    return 0
}
