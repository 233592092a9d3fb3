#!/usr/bin/env python3
"""Is an adapter really below the base on the XQuAD held-out sets, or is it one query?

Runs `tasklora eval --compare-base` on the held-out paragraphs a retrieval recipe holds out
(`data.held_out`, its seed), per language and English questions → each other language's
paragraphs, and prints, for every (dev set, dim), the adapter against the base model with its
native prompts: the difference of the means (what the trainer's "below the base" judges, tie margin
0.002), how many queries got worse and better, and the 95 % paired bootstrap interval of the
difference (10,000 resamples of the queries) that `tasklora eval` computes (`PairedBootstrap`).
On a 162-query set one query falling from rank 1 to rank 2 costs 0.0023, more than the tie margin:
the interval says whether a difference is larger than such noise.

    python3 scripts/xquad-paired-ci.py --tasklora .build/release/tasklora \\
        --model runs/retrieval-xquad-cpu/final.h5 --adapter-strength 0.5 --markdown ci.md

Standard library only. Prints the table; --markdown also writes it.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile


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
        out = os.path.join(tmp, "eval.json")
        args = [a.tasklora, "eval", "--model", a.model, "--query-task", a.query_task, "--document-task", a.document_task,
                "--held-out", str(a.held_out), "--seed", str(a.seed), "--dims", a.dims, "--max-length", str(a.max_length),
                "--output", out, "--compare-base"]
        if a.adapter_strength is not None:
            args += ["--adapter-strength", str(a.adapter_strength)]
        for _, q, d in sets:
            args += ["--retrieval", files(q), "--corpus-json", files(d)]
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
        report = json.load(open(out))
    dims = [int(x) for x in a.dims.split(",")]
    rows = report["vs_base"]  # set by set, dim by dim, in the order of the --retrieval arguments
    assert len(rows) == len(sets) * len(dims), "tasklora eval returned an unexpected number of comparisons"
    lines = ["| dev set | dim | base | adapter | Δ | queries worse / better | 95 % CI of Δ | verdict |",
             "|---|---:|---:|---:|---:|---:|---|---|"]
    for i, r in enumerate(rows):
        p, diff = r["paired"], r["adapter"] - r["base"]
        verdict = ("below beyond the margin, " if diff < -0.002 else "") + (
            "significantly below" if p["upper"] < 0 else "significantly above" if p["lower"] > 0 else "not significant")
        lines.append(f"| {sets[i // len(dims)][0]} | {r['dim']} | {r['base']:.4f} | {r['adapter']:.4f} | {diff:+.4f} | "
                     f"{p['worse']} / {p['better']} | [{p['lower']:+.4f}, {p['upper']:+.4f}] | {verdict} |")
    below = [r for r in rows if r["adapter"] - r["base"] < -0.002]
    lines.append("")
    lines.append(f"{len(below)} of {len(rows)} (set, dim) pairs below the base beyond 0.002; "
                 f"{sum(r['paired']['upper'] < 0 for r in rows)} significantly below, "
                 f"{sum(r['paired']['lower'] > 0 for r in rows)} significantly above.")
    text = "\n".join(lines)
    print(text)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
