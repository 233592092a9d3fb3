#!/usr/bin/env python3
"""Quality of `embed --precision bf16|int8` against fp32 on STS-B test (docs/precision.md).

For each model and language: embeds sentence1 and sentence2 of $TASKLORA_DATA/stsb-multi-mt/
stsb-<lang>-test.csv once per precision with `tasklora embed --precision P` (max length 128; e5
inputs get the prefix "query: ", as in docs/forward-path.md), then reports, for each Matryoshka
dimension D, the lowest cosine of any sentence to its fp32 embedding and the Spearman correlation
(x100) of the pair cosines with the gold scores. Dimension D is the full embedding cut to its
first D components and L2-normalized again, exactly what `embed --dim D` computes (one encoder
pass serves every D, as in `tasklora eval --dims`); `--check-dim` also runs `embed --dim D` for
the first model and language and fails if it differs.

    scripts/precision-quality.py --tasklora .build/release/tasklora \
        --model multilingual-e5-small=/tmp/e5.h5 --model all-MiniLM-L6-v2=/tmp/minilm.h5

Prints a Markdown table. Dataset rows go to a temporary folder only, never into the repo.
"""
import argparse, csv, os, subprocess, sys, tempfile
import numpy as np
from scipy.stats import spearmanr

PRECISIONS = ["fp32", "bf16", "int8"]


def read_pairs(path):
    s1, s2, gold = [], [], []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            if len(row) != 3 or any("\n" in t for t in row[:2]):
                sys.exit(f"{path}: unexpected row {row[:1]}")
            s1.append(row[0]); s2.append(row[1]); gold.append(float(row[2]))
    return s1, s2, np.array(gold)


def embed(tasklora, model, texts_path, out, precision, prefix, dim=None):
    cmd = [tasklora, "embed", "--model", model, "--input", texts_path, "--output", out,
           "--precision", precision, "--max-length", "128"]
    cmd += ["--prefix", prefix] if prefix else ["--no-prefix"]
    cmd += ["--dim", str(dim)] if dim else []
    subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
    return np.load(out).astype(np.float64)


def truncate(e, dim):
    t = e[:, :dim]
    return t / np.linalg.norm(t, axis=1, keepdims=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasklora", required=True)
    ap.add_argument("--model", action="append", required=True, help="NAME=checkpoint.h5")
    ap.add_argument("--langs", default="en,de,es,fr,zh")
    ap.add_argument("--dims", default="384,64")
    ap.add_argument("--check-dim", type=int, help="also run embed --dim D once (int8) and compare")
    args = ap.parse_args()
    data = os.path.join(os.environ.get("TASKLORA_DATA", "data"), "stsb-multi-mt")
    print("| model | lang | dim | Spearman fp32 | bf16 | int8 | lowest cosine bf16 | lowest cosine int8 |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for spec in args.model:
            name, ckpt = spec.split("=", 1)
            prefix = "query: " if "e5" in name else ""
            for lang in args.langs.split(","):
                s1, s2, gold = read_pairs(os.path.join(data, f"stsb-{lang}-test.csv"))
                texts = os.path.join(tmp, "texts.txt")
                with open(texts, "w", encoding="utf-8") as f:
                    f.write("\n".join(s1 + s2) + "\n")
                n = len(s1)
                full = {p: embed(args.tasklora, ckpt, texts, os.path.join(tmp, f"{p}.npy"), p, prefix)
                        for p in PRECISIONS}
                if args.check_dim:
                    cut = embed(args.tasklora, ckpt, texts, os.path.join(tmp, "cut.npy"), "int8", prefix, args.check_dim)
                    diff = np.abs(cut - truncate(full["int8"], args.check_dim)).max()
                    if diff > 1e-6:
                        sys.exit(f"embed --dim {args.check_dim} differs from the truncated embedding by {diff}")
                    print(f"<!-- embed --dim {args.check_dim} = truncated full embedding within {diff:.1e} -->")
                    args.check_dim = None
                for dim in map(int, args.dims.split(",")):
                    e = {p: truncate(full[p], dim) for p in PRECISIONS}
                    rho = {p: 100 * spearmanr((e[p][:n] * e[p][n:]).sum(1), gold).statistic for p in PRECISIONS}
                    low = {p: (e[p] * e["fp32"]).sum(1).min() for p in PRECISIONS}
                    print(f"| {name} | {lang} | {dim} | {rho['fp32']:.2f} | {rho['bf16']:.2f} | {rho['int8']:.2f} "
                          f"| {low['bf16']:.5f} | {low['int8']:.5f} |", flush=True)


if __name__ == "__main__":
    main()
