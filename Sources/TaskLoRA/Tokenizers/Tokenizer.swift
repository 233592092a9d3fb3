import Foundation

/// A text tokenizer as the encoder sees it: text in, token ids (with the model's special tokens) out.
public protocol TextTokenizer: Sendable {
    /// Token ids for `text` including the special tokens (`<s> … </s>` or `[CLS] … [SEP]`).
    /// When `maxLength` is given the result is cut to at most that many ids, special tokens included
    /// (content is truncated from the end; the closing special token is kept).
    func encode(_ text: String, maxLength: Int?) -> [Int32]
    /// The id used to pad batches.
    var padId: Int32 { get }
    /// Number of entries in the vocabulary.
    var vocabularySize: Int { get }
    /// The serialisable form stored in checkpoints.
    var archive: TokenizerArchive { get }
    /// The same tokenizer with whitespace handled as `mode` says (`TokenizerWhitespace`). Only
    /// SentencePiece (Unigram) tokenizers differ between the modes; WordPiece returns itself.
    func withWhitespace(_ mode: TokenizerWhitespace) -> TextTokenizer
}

extension TextTokenizer {
    public func withWhitespace(_ mode: TokenizerWhitespace) -> TextTokenizer { self }

    /// Token ids of every text, tokenized in parallel and cut to `maxLength` (the closing special
    /// token kept, as `encode(_:maxLength:)` does); also how many texts were cut. Each text is
    /// tokenized once: the cut is taken from the full encoding.
    public func encodeAll(_ texts: [String], maxLength: Int) -> (ids: [[Int32]], truncated: Int) {
        precondition(maxLength >= 2, "encodeAll needs room for the two special tokens")
        var sequences = [[Int32]](repeating: [], count: texts.count)
        var cutPerWorker = [Int](repeating: 0, count: Parallel.cores)
        sequences.withUnsafeMutableBufferPointer { seqs in
            cutPerWorker.withUnsafeMutableBufferPointer { cut in
                DispatchQueue.concurrentPerform(iterations: Parallel.cores) { worker in
                    for i in Swift.stride(from: worker, to: texts.count, by: Parallel.cores) {
                        let full = encode(texts[i], maxLength: nil)
                        if full.count > maxLength {
                            cut[worker] += 1
                            seqs[i] = Array(full.prefix(maxLength - 1)) + [full.last!]
                        } else {
                            seqs[i] = full
                        }
                    }
                }
            }
        }
        return (sequences, cutPerWorker.reduce(0, +))
    }
}

/// A tokenizer as plain arrays and attributes: what the HDF5 checkpoint stores under `/tokenizer`.
/// Each array becomes one dataset; `attributes` become string attributes of the group.
public struct TokenizerArchive: Equatable, Sendable {
    /// "unigram" or "wordpiece".
    public var kind: String
    public var attributes: [String: String]
    public var bytes: [String: [UInt8]]
    public var uint32: [String: [UInt32]]
    public var float32: [String: [Float]]

    public init(kind: String, attributes: [String: String] = [:], bytes: [String: [UInt8]] = [:],
                uint32: [String: [UInt32]] = [:], float32: [String: [Float]] = [:]) {
        self.kind = kind
        self.attributes = attributes
        self.bytes = bytes
        self.uint32 = uint32
        self.float32 = float32
    }
}
