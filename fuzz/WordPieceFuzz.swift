import Foundation
import TaskLoRA

/// The WordPiece tokenizer (BERT normalizer and pre-tokenizer included) on arbitrary bytes. By
/// default a hand-made vocabulary; TASKLORA_FUZZ_TOKENIZER names a real WordPiece tokenizer.json.
let wordPiece: any TextTokenizer = {
    if let path = ProcessInfo.processInfo.environment["TASKLORA_FUZZ_TOKENIZER"] {
        return try! loadHuggingFaceTokenizer(path: path)
    }
    let vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "b", "##a", "##b", "ab", "##ab", "日", "##本", ",", "!", "é",
                 "##é", "[MASK]"]
    return try! WordPieceTokenizer(vocab: vocab, unkId: 1, clsId: 2, sepId: 3, padId: 0,
                                   specialTokens: [("[MASK]", 16), ("[CLS]", 2)])
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWordPiece(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    Fuzz.tokenize(wordPiece, data, size)
    return 0
}
