#!/usr/bin/env python3
"""Recompute every metric of a `tasklora eval` run independently and compare.

    tasklora eval ... --output results.json --save-embeddings emb/
    python scripts/reference/check_metrics.py results.json emb/

Reads the data files named in results.json with its own parsers (csv / json / scipy), the
normalized float32 embeddings tasklora used (emb/<kind>-<i>/<side>.d<dim>.npy with the row order in
<side>.json), and recomputes: Spearman/Pearson (scipy.stats), nDCG@10, MRR@10, Recall@1/10/100,
MAP@100 (trec_eval formulas written out), bitext accuracy and k-NN accuracy / macro-F1.
Every metric must agree to 1e-6 (absolute). Exit status 1 on any disagreement.
"""
import csv
import json
import math
import os
import sys

import numpy as np
from scipy.stats import pearsonr, spearmanr

TOL = 1e-6


def load(folder, side, dim):
    e = np.load(os.path.join(folder, f"{side}.d{dim}.npy")).astype(np.float64)
    with open(os.path.join(folder, f"{side}.json"), encoding="utf-8") as f:
        names = json.load(f)
    assert e.shape == (len(names), dim), (folder, side, e.shape)
    return e, names


# ---------------------------------------------------------------- data readers (independent)
def read_sts(path):
    pairs = []
    low = path.lower()
    if low.endswith(".jsonl") or low.endswith(".ndjson"):
        for line in open(path, encoding="utf-8-sig"):
            if line.strip():
                o = json.loads(line)
                pairs.append((o["sentence1"], o["sentence2"], float(o["score"])))
    elif low.endswith(".csv"):
        with open(path, encoding="utf-8-sig", newline="") as f:
            for row in csv.reader(f):
                if not row:
                    continue
                try:
                    pairs.append((row[0], row[1], float(row[2])))
                except ValueError:
                    continue  # header
    else:
        with open(path, encoding="utf-8-sig") as f:
            lines = f.read().split("\n")
        header = lines[0].split("\t")
        if "relatedness_score" in header:  # SICK
            a, b, s = header.index("sentence_A"), header.index("sentence_B"), header.index("relatedness_score")
            for line in lines[1:]:
                if line.strip():
                    r = line.rstrip("\r").split("\t")
                    pairs.append((r[a], r[b], float(r[s])))
        else:
            for line in lines:
                if line.strip():
                    r = line.rstrip("\r").split("\t")
                    try:
                        pairs.append((r[0], r[1], float(r[2])))
                    except ValueError:
                        continue
    return pairs


def read_squad(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)["data"]
    paragraphs, questions = {}, []
    for ai, article in enumerate(data):
        for pi, p in enumerate(article["paragraphs"]):
            pid = f"a{ai}p{pi}"
            paragraphs[pid] = p["context"]
            for qa in p.get("qas", []):
                questions.append((qa["id"], qa["question"], pid))
    return paragraphs, questions


def read_beir(folder, split="test"):
    corpus = {}
    for line in open(os.path.join(folder, "corpus.jsonl"), encoding="utf-8"):
        if line.strip():
            o = json.loads(line)
            title = o.get("title") or ""
            corpus[str(o["_id"])] = (title + " " + o["text"]) if title else o["text"]
    queries = {}
    for line in open(os.path.join(folder, "queries.jsonl"), encoding="utf-8"):
        if line.strip():
            o = json.loads(line)
            queries[str(o["_id"])] = o["text"]
    qrels = {}
    with open(os.path.join(folder, "qrels", f"{split}.tsv"), encoding="utf-8") as f:
        for n, line in enumerate(f):
            r = line.rstrip("\r\n").split("\t")
            if len(r) < 3:
                continue
            q, d, s = (r[0], r[1], r[2]) if len(r) == 3 else (r[0], r[2], r[3])
            try:
                g = int(s)
            except ValueError:
                if n == 0:
                    continue
                raise
            qrels.setdefault(q, {})[d] = g
    return corpus, queries, qrels


# ---------------------------------------------------------------- metrics (written out)
def ranking(scores):
    """Row-wise ranking: higher score first, equal scores by lower index (stable sort)."""
    return np.argsort(-scores, axis=1, kind="stable")


def retrieval_metrics(q, d, qrels_rows):
    s = q @ d.T
    order = ranking(s)
    sums = dict(ndcg10=0.0, mrr10=0.0, r1=0.0, r10=0.0, r100=0.0, map100=0.0)
    n = 0
    for qi, rel in enumerate(qrels_rows):
        rel = {k: v for k, v in rel.items() if v > 0}
        if not rel:
            continue
        n += 1
        ranked = order[qi, :100]
        dcg = sum(rel.get(int(doc), 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:10]))
        ideal = sum(g / math.log2(i + 2) for i, g in enumerate(sorted(rel.values(), reverse=True)[:10]))
        sums["ndcg10"] += dcg / ideal if ideal > 0 else 0
        hits = [i for i, doc in enumerate(ranked) if int(doc) in rel]
        if hits and hits[0] < 10:
            sums["mrr10"] += 1 / (hits[0] + 1)
        for k, key in ((1, "r1"), (10, "r10"), (100, "r100")):
            sums[key] += sum(1 for doc in ranked[:k] if int(doc) in rel) / len(rel)
        sums["map100"] += sum((j + 1) / (i + 1) for j, i in enumerate(hits)) / len(rel)
    return {k: (v / n if n else 0.0) for k, v in sums.items()}, n


def knn(train, train_labels, test, test_labels, k):
    loo = test is None
    queries = train if loo else test
    gold = train_labels if loo else test_labels
    s = queries @ train.T
    predicted = []
    for i in range(len(queries)):
        order = [int(j) for j in np.argsort(-s[i], kind="stable") if not (loo and j == i)][:k]
        labels = [train_labels[j] for j in order]
        counts = {}
        for l in labels:
            counts[l] = counts.get(l, 0) + 1
        top = max(counts.values())
        predicted.append(next(l for l in labels if counts[l] == top))
    acc = 100 * sum(p == g for p, g in zip(predicted, gold)) / len(gold)
    f1s = []
    for label in sorted(set(gold)):
        tp = sum(p == label and g == label for p, g in zip(predicted, gold))
        fp = sum(p == label and g != label for p, g in zip(predicted, gold))
        fn = sum(p != label and g == label for p, g in zip(predicted, gold))
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return acc, 100 * sum(f1s) / len(f1s)


def read_labelled(path):
    rows = []
    for line in open(path, encoding="utf-8-sig"):
        if line.strip():
            o = json.loads(line)
            label = o["label"]
            if isinstance(label, bool) or not isinstance(label, str):
                label = str(label)
            rows.append((o["text"], label))
    return rows


# ---------------------------------------------------------------- checks
class Checker:
    def __init__(self):
        self.count = 0
        self.worst = 0.0
        self.failures = []

    def same(self, what, ours, theirs):
        self.count += 1
        diff = abs(ours - theirs)
        self.worst = max(self.worst, diff)
        if not diff <= TOL:
            self.failures.append(f"{what}: tasklora {ours!r} vs reference {theirs!r} (diff {diff:.3g})")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    report = json.load(open(sys.argv[1], encoding="utf-8"))
    emb = sys.argv[2]
    dims = report["dims"]
    check = Checker()
    index = 0

    for ds in report["sts"]:
        folder = os.path.join(emb, f"sts-{index}")
        index += 1
        pairs = read_sts(ds["file"])
        assert len(pairs) == ds["pairs"], (ds["file"], len(pairs), ds["pairs"])
        for r in ds["results"]:
            e, texts = load(folder, "texts", r["dim"])
            row = {t: i for i, t in enumerate(texts)}
            cos = np.array([e[row[a]] @ e[row[b]] for a, b, _ in pairs])
            gold = np.array([s for _, _, s in pairs])
            check.same(f"{ds['name']} d{r['dim']} spearman", r["spearman"], 100 * spearmanr(cos, gold).statistic)
            check.same(f"{ds['name']} d{r['dim']} pearson", r["pearson"], 100 * pearsonr(cos, gold).statistic)

    for ds in report["retrieval"]:
        folder = os.path.join(emb, f"retrieval-{index}")
        index += 1
        if ds["format"] == "beir":
            corpus, queries, qrels = read_beir(ds["queries_file"])
        else:
            _, questions = read_squad(ds["queries_file"])
            corpus, _ = read_squad(ds["corpus_file"])
            queries = {qid: text for qid, text, _ in questions}
            qrels = {qid: {pid: 1} for qid, _, pid in questions}
        for r in ds["results"]:
            q, qids = load(folder, "queries", r["dim"])
            d, dids = load(folder, "documents", r["dim"])
            assert set(qids) == set(qrels), "evaluated queries differ from the qrels' queries"
            assert set(dids) == set(corpus), "embedded documents differ from the corpus"
            drow = {x: i for i, x in enumerate(dids)}
            rows = [{drow[doc]: g for doc, g in qrels[qid].items()} for qid in qids]
            m, n = retrieval_metrics(q, d, rows)
            for key, ours in (("ndcg10", "ndcg@10"), ("mrr10", "mrr@10"), ("r1", "recall@1"), ("r10", "recall@10"),
                              ("r100", "recall@100"), ("map100", "map@100")):
                check.same(f"{ds['name']} d{r['dim']} {ours}", r[ours], m[key])
            check.same(f"{ds['name']} d{r['dim']} queries", r["queries"], n)

    for ds in report["bitext"]:
        folder = os.path.join(emb, f"bitext-{index}")
        index += 1
        src = [l.rstrip("\r") for l in open(ds["source"], encoding="utf-8").read().split("\n")]
        if src and src[-1] == "":
            src.pop()
        for r in ds["results"]:
            a, ta = load(folder, "source", r["dim"])
            b, _ = load(folder, "target", r["dim"])
            assert ta == src, "source texts differ"
            s = a @ b.T
            n = len(a)
            fwd = 100 * np.mean(np.argmax(s, axis=1) == np.arange(n))
            bwd = 100 * np.mean(np.argmax(s, axis=0) == np.arange(n))
            check.same(f"{ds['name']} d{r['dim']} source_to_target", r["source_to_target"], fwd)
            check.same(f"{ds['name']} d{r['dim']} target_to_source", r["target_to_source"], bwd)
            check.same(f"{ds['name']} d{r['dim']} average", r["average"], (fwd + bwd) / 2)

    for ds in report["classification"]:
        folder = os.path.join(emb, f"classification-{index}")
        index += 1
        train = read_labelled(ds["train"])
        test = read_labelled(ds["test"]) if ds.get("test") else None
        for r in ds["results"]:
            tr, ttexts = load(folder, "train", r["dim"])
            assert ttexts == [t for t, _ in train], "train texts differ"
            te = load(folder, "test", r["dim"])[0] if test else None
            acc, f1 = knn(tr, [l for _, l in train], te, [l for _, l in test] if test else None, ds["k"])
            check.same(f"{ds['name']} d{r['dim']} accuracy", r["accuracy"], acc)
            check.same(f"{ds['name']} d{r['dim']} macro_f1", r["macro_f1"], f1)

    print(f"checked {check.count} metric values over {len(dims)} dims; largest difference {check.worst:.3g}")
    if check.failures:
        print("\n".join(check.failures))
        sys.exit(1)
    print("all metrics agree to 1e-6")


if __name__ == "__main__":
    main()
