import Foundation
import TaskLoRA

/// tokenizer.json: the JSON parser, the Unigram/WordPiece model sections, normalizers and
/// special tokens; a tokenizer that loads then encodes a few texts.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizerJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = Fuzz.file(Fuzz.bytes(data, size), name: "tokenizer.json")
    Fuzz.run {
        let tokenizer = try loadHuggingFaceTokenizer(path: path)
        _ = tokenizer.encodeAll(["Hello, world!", "  spaced   out  ", "日本語のテキスト", ""], maxLength: 32)
    }
    return 0
}
