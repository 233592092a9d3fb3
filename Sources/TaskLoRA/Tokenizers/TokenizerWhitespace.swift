/// How a SentencePiece (Unigram) tokenizer treats whitespace: which of the two Hugging Face stacks
/// its token ids equal. For XLM-R's tokenizer.json (whose normalizer maps tabs, newlines and Unicode
/// spaces to a space and collapses runs of spaces) the two differ only on whitespace at the end of
/// a text or of the text before a special token, on texts of whitespace only, and on U+0085, which
/// the charsmap keeps but transformers splits on; leading and inner runs tokenize the same. A file
/// without the collapsing `Replace` step also differs on inner runs.
///
/// Measured with transformers 5.24 / tokenizers 0.23 on multilingual-e5-small's tokenizer.json
/// (docs/forward-path.md#whitespace, Tests/Fixtures/tokenizer/whitespace_ids.json).
///
/// WordPiece (BERT, MiniLM) is not affected: BERT's pre-tokenizer drops all whitespace, and
/// transformers 5's BertTokenizer gives the same ids as tokenizer.json in both modes.
///
/// A runtime setting, not stored in checkpoints: the same tokenizer.json is served both ways (the
/// model's `tokenizer_class` decides in transformers, while text-embeddings-inference always runs
/// the file), so the mode belongs to the deployment whose ids are to be matched, not to the model.
public enum TokenizerWhitespace: String, CaseIterable, Sendable {
    /// transformers 5's `XLMRobertaTokenizer`, what sentence-transformers loads for XLM-R-family
    /// models whose folder names that class (multilingual-e5 does) or says `model_type:
    /// xlm-roberta`, and what SentencePiece itself did in training: the text is normalized (the
    /// charsmap only), split on Unicode whitespace, and each word gets a `▁`. Leading, trailing and
    /// repeated whitespace give no token; a text of whitespace only is `<s> </s>`. The default.
    case transformers
    /// `tokenizer.json` as written, as the `tokenizers` library, text-embeddings-inference,
    /// transformers 4 and `PreTrainedTokenizerFast` run it: the normalizer (charsmap, then
    /// `Replace(' {2,}', ' ')` when the file has it), Metaspace on the whole text. Trailing
    /// whitespace leaves one `▁` (id 6 for XLM-R), a text of whitespace only is `<s> ▁ </s>`.
    case tokenizerJSON = "tokenizer-json"

    /// The mode tasklora uses unless told otherwise.
    public static let `default` = TokenizerWhitespace.transformers
}
