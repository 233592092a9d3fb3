#!/usr/bin/env python3
"""Check tasklora's Hugging Face and PEFT exports against tasklora's own embeddings.

    python scripts/reference/check_export.py --texts T.txt --expected E.npy \
        [--hf DIR] [--peft DIR --base-hf DIR --prefix "query: "] [--min-cos 0.99999]

--hf:   loaded with sentence_transformers.SentenceTransformer (offline, as written; the folder's
        default prompt supplies the adapter's prefix) and with transformers.AutoModel, which must
        report no missing or unexpected weights.
--peft: applied with peft.PeftModel.from_pretrained on top of AutoModel(--base-hf); mean pooling
        over the attention mask, L2 normalization; --prefix is prepended to every text.
Every row must have cosine >= --min-cos with --expected (tasklora embed, same adapter). Prints the
smallest cosine per check; exit status 1 when one is below the bound.
"""
import argparse
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import torch


def read_texts(path):
    lines = open(path, encoding="utf-8").read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [l.rstrip("\r") for l in lines]


def min_cos(a, b):
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return float(np.min(np.sum(a * b, axis=1))), float(np.max(np.abs(a - b)))


def mean_pool(model, tokenizer, texts, max_length):
    out = []
    with torch.no_grad():
        for i in range(0, len(texts), 16):
            batch = tokenizer(texts[i:i + 16], padding=True, truncation=True, max_length=max_length, return_tensors="pt")
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
    return np.concatenate(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--texts", required=True)
    ap.add_argument("--expected", required=True)
    ap.add_argument("--hf")
    ap.add_argument("--peft")
    ap.add_argument("--base-hf")
    ap.add_argument("--prefix", default="")
    ap.add_argument("--max-length", type=int, default=512)
    ap.add_argument("--min-cos", type=float, default=0.99999)
    args = ap.parse_args()
    torch.set_num_threads(2)
    texts = read_texts(args.texts)
    expected = np.load(args.expected).astype(np.float64)
    assert expected.shape[0] == len(texts), (expected.shape, len(texts))
    results = {}

    from transformers import AutoModel, AutoTokenizer

    if args.hf:
        from sentence_transformers import SentenceTransformer
        _, info = AutoModel.from_pretrained(args.hf, output_loading_info=True)
        problems = {k: v for k, v in info.items() if v and k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
        if problems:
            print(f"AutoModel({args.hf}) loading problems: {problems}")
            sys.exit(1)
        st = SentenceTransformer(args.hf, device="cpu")
        got = st.encode(texts, batch_size=16, convert_to_numpy=True)
        results["sentence-transformers"] = min_cos(got.astype(np.float64), expected)

    if args.peft:
        from peft import PeftModel
        base = AutoModel.from_pretrained(args.base_hf)
        tokenizer = AutoTokenizer.from_pretrained(args.base_hf)
        model = PeftModel.from_pretrained(base, args.peft).eval()
        with open(os.path.join(args.base_hf, "sentence_bert_config.json")) as f:
            max_length = min(args.max_length, json.load(f).get("max_seq_length", args.max_length))
        got = mean_pool(model, tokenizer, [args.prefix + t for t in texts], max_length)
        results["peft"] = min_cos(got.astype(np.float64), expected)
        merged = model.merge_and_unload()
        got = mean_pool(merged, tokenizer, [args.prefix + t for t in texts], max_length)
        results["peft merge_and_unload"] = min_cos(got.astype(np.float64), expected)

    failed = False
    for name, (value, diff) in results.items():
        ok = value >= args.min_cos
        failed |= not ok
        print(f"{name}: min cosine {value:.9f} (1 - min = {1 - value:.2e}, max |diff| {diff:.2e}) over {len(texts)} texts ({'ok' if ok else 'BELOW ' + str(args.min_cos)})")
    if not results:
        sys.exit("nothing to check: give --hf and/or --peft")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
