"""Tokenizer loading shared by the reference scripts.

transformers 5.x rebuilds XLM-R tokenizers from its own class definition (normalizer = Precompiled only,
pre-tokenizer = WhitespaceSplit + Metaspace) instead of the pipeline stored in tokenizer.json, which for
multilingual-e5-small also has Replace(' {2,}' -> ' ') and keeps a trailing '\u2581' (id 6) for trailing
whitespace. The reference fixtures follow tokenizer.json exactly (as the `tokenizers` library and
transformers 4.x do), so we wrap the file as-is in a PreTrainedTokenizerFast.
"""
import os

from transformers import AutoTokenizer, PreTrainedTokenizerFast


def load_tokenizer(folder):
    auto = AutoTokenizer.from_pretrained(folder)
    special = {k: getattr(auto, k) for k in ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token",
                                             "cls_token", "mask_token") if getattr(auto, k, None) is not None}
    tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(folder, "tokenizer.json"), **special)
    tok.padding_side = "right"
    return tok
