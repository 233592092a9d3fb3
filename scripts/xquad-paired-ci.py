#!/usr/bin/env python3
"""Is an adapter really below the base on the XQuAD held-out sets, or is it one query?

Runs `tasklora eval` on the held-out paragraphs a retrieval recipe holds out (`data.held_out`, its
seed), per language and English questions → each other language's paragraphs, with the adapters
and with the base model and its native prompts (`--compare-base`), saves the embeddings, and then
for every (dev set, dim) scores each query's nDCG@10 both ways. It prints the difference of the
means (what the trainer's "below the base" judges, tie margin 0.002), how many queries got worse
and better, and a 95 % paired bootstrap interval of the difference (10,000 resamples of the
queries). On a 162-query set one query falling from rank 1 to rank 2 costs 0.0023, more than the
tie margin: the interval says whether a difference is larger than such noise.

    cache/venv/bin/python scripts/xquad-paired-ci.py --tasklora .build/release/tasklora \\
        --model runs/retrieval-xquad-cpu/final.h5 --adapter-strength 0.5 --markdown ci.md

Needs numpy. Prints the table; --markdown also writes it.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasklora", required=True, help="the tasklora executable")
    ap.add_argument("--model", required=True, help="adapter checkpoint (a run's best.h5 / final.h5)")
    ap.add_argument("--adapter-strength", type=float, help="passed to tasklora eval")
    ap.add_argument("--query-task", default="retrieval.query")
    ap.add_argument("--document-task", default="retrieval.passage")
    ap.add_argument("--data", default="data/xquad", help="folder of xquad.<lang>.train.json")
    ap.add_argument("--languages", default="en,de,es,ru,zh,ar,vi,tr")
    ap.add_argument("--held-out", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--dims", default="32,64,128,256,384")
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--markdown")
    a = ap.parse_args()

    langs = a.languages.split(",")
    sets = [(l, l, l) for l in langs] + [(f"{langs[0]} → {l}", langs[0], l) for l in langs[1:]]
    files = lambda l: os.path.join(a.data, f"xquad.{l}.train.json")
    with tempfile.TemporaryDirectory() as tmp:
        args = [a.tasklora, "eval", "--model", a.model, "--query-task", a.query_task, "--document-task", a.document_task,
                "--held-out", str(a.held_out), "--seed", str(a.seed), "--dims", a.dims, "--max-length", str(a.max_length),
                "--output", os.path.join(tmp, "eval.json"), "--save-embeddings", os.path.join(tmp, "emb"), "--compare-base"]
        if a.adapter_strength is not None:
            args += ["--adapter-strength", str(a.adapter_strength)]
        for _, q, d in sets:
            args += ["--retrieval", files(q), "--corpus-json", files(d)]
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
        rows = score(os.path.join(tmp, "emb"), sets, files, [int(x) for x in a.dims.split(",")])
    lines = ["| dev set | dim | base | adapter | Δ | queries worse / better | 95 % CI of Δ | verdict |",
             "|---|---:|---:|---:|---:|---:|---|---|"]
    for r in rows:
        verdict = ("below beyond the margin, " if r["diff"] < -0.002 else "") + (
            "significantly below" if r["hi"] < 0 else "significantly above" if r["lo"] > 0 else "not significant")
        lines.append(f"| {r['set']} | {r['dim']} | {r['base']:.4f} | {r['adapter']:.4f} | {r['diff']:+.4f} | "
                     f"{r['worse']} / {r['better']} | [{r['lo']:+.4f}, {r['hi']:+.4f}] | {verdict} |")
    below = [r for r in rows if r["diff"] < -0.002]
    lines.append("")
    lines.append(f"{len(below)} of {len(rows)} (set, dim) pairs below the base beyond 0.002; "
                 f"{sum(r['hi'] < 0 for r in rows)} significantly below, {sum(r['lo'] > 0 for r in rows)} significantly above.")
    text = "\n".join(lines)
    print(text)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text + "\n")


def score(root, sets, files, dims):
    """Per (set, dim): mean nDCG@10 of adapter and base, and the paired bootstrap of the difference."""
    relevant = {}
    for _, q, _ in sets:
        if q in relevant:
            continue
        data = json.load(open(files(q)))
        relevant[q] = {qa["id"]: f"a{i}p{j}" for i, art in enumerate(data["data"])
                       for j, p in enumerate(art["paragraphs"]) for qa in p["qas"]}
    rng = np.random.default_rng(0)
    rows = []
    # tasklora eval saves the adapter's embeddings of the k-th set in retrieval-(2k), the base's in retrieval-(2k+1).
    for k, (name, q, _) in enumerate(sets):
        adapter_dir, base_dir = os.path.join(root, f"retrieval-{2 * k}"), os.path.join(root, f"retrieval-{2 * k + 1}")
        qids = json.load(open(os.path.join(adapter_dir, "queries.json")))
        dids = json.load(open(os.path.join(adapter_dir, "documents.json")))
        target = np.array([dids.index(relevant[q][i]) for i in qids])
        for dim in dims:
            def ndcg(folder, side):
                queries = np.load(os.path.join(folder, f"{side}queries.d{dim}.npy"))
                docs = np.load(os.path.join(folder, f"{side}documents.d{dim}.npy"))
                s = queries @ docs.T
                rank = (s > s[np.arange(len(target)), target][:, None]).sum(1) + 1
                return np.where(rank <= 10, 1 / np.log2(rank + 1), 0.0)
            a, b = ndcg(adapter_dir, ""), ndcg(base_dir, "base-")
            diff = a - b
            boot = rng.choice(diff, size=(10000, len(diff))).mean(1)
            lo, hi = np.percentile(boot, [2.5, 97.5])
            rows.append({"set": name, "dim": dim, "base": b.mean(), "adapter": a.mean(), "diff": diff.mean(),
                         "worse": int((diff < 0).sum()), "better": int((diff > 0).sum()), "lo": lo, "hi": hi})
    return rows


if __name__ == "__main__":
    sys.exit(main())
