#!/usr/bin/env python3
"""Build classification and separation data from XQuAD questions (standard library only).

Rows are generated at run time from data/xquad (scripts/get-data.sh); no row is committed to the repository.

Split (the same in every language, since XQuAD articles and paragraphs line up across languages):
every article has 5 paragraphs; paragraph 4 (the last) of each of the 32 articles is held out
(32 paragraphs, about 20 % of the questions), paragraphs 0-3 are for training.

Outputs, under OUT (default runs/repro-data):
  classification-train.jsonl   tuples {"anchor","positive","negatives"[7]} for loss `classification`:
                               label = the question's article (32 classes); positive = another
                               training question of the same article and language (from another
                               paragraph when there is one), negatives = questions of 7 other
                               articles, same language. One tuple per training question.
  separation-train.jsonl       labeled texts {"text","label"} for loss `separation`: the training
                               questions of all languages, label = paragraph id ("a07p2"), shared
                               across languages (translations are the same cluster).
  eval/cls-train.<lang>.jsonl  k-NN reference set: training questions, label = article title
  eval/cls-test.<lang>.jsonl   held-out questions (paragraph 4), label = article title
  eval/sep-test.<lang>.jsonl   held-out questions, label = paragraph id (clusters never trained on)

Usage: python3 scripts/data/make_xquad_labeled.py [--data data/xquad] [--out runs/repro-data]
       [--langs en,de,es,ru,zh,ar,vi,tr] [--seed 42]
"""
import argparse
import json
import os
import random

HELD_OUT_PARAGRAPH = 4
NEGATIVES = 7


def load(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)["data"]
    rows = []  # (article index, paragraph index, question)
    titles = []
    for a, article in enumerate(data):
        titles.append(article.get("title") or "article%02d" % a)
        for p, paragraph in enumerate(article["paragraphs"]):
            for qa in paragraph["qas"]:
                q = qa["question"].strip()
                if q:
                    rows.append((a, p, q))
    return titles, rows


def write_jsonl(path, rows):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="data/xquad")
    ap.add_argument("--out", default="runs/repro-data")
    ap.add_argument("--langs", default="en,de,es,ru,zh,ar,vi,tr")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(os.path.join(args.out, "eval"), exist_ok=True)

    tuples, separation = [], []
    titles_en = None
    for lang in args.langs.split(","):
        titles, rows = load(os.path.join(args.data, "xquad.%s.train.json" % lang))
        if titles_en is None:
            titles_en = titles
        # Labels use the first language's titles (en by default; articles line up across languages).
        label = lambda a: titles_en[a]
        train = [r for r in rows if r[1] != HELD_OUT_PARAGRAPH]
        test = [r for r in rows if r[1] == HELD_OUT_PARAGRAPH]
        by_article = {}
        for r in train:
            by_article.setdefault(r[0], []).append(r)
        articles = sorted(by_article)
        for r in train:
            a, p, q = r
            same = [s for s in by_article[a] if s is not r and s[1] != p] or [s for s in by_article[a] if s is not r]
            if not same:
                continue
            positive = rng.choice(same)[2]
            others = rng.sample([b for b in articles if b != a], NEGATIVES)
            negatives = [rng.choice(by_article[b])[2] for b in others]
            tuples.append({"anchor": q, "positive": positive, "negatives": negatives})
            separation.append({"text": q, "label": "a%02dp%d" % (a, p)})
        write_jsonl(os.path.join(args.out, "eval", "cls-train.%s.jsonl" % lang),
                    [{"text": q, "label": label(a)} for a, p, q in train])
        write_jsonl(os.path.join(args.out, "eval", "cls-test.%s.jsonl" % lang),
                    [{"text": q, "label": label(a)} for a, p, q in test])
        write_jsonl(os.path.join(args.out, "eval", "sep-test.%s.jsonl" % lang),
                    [{"text": q, "label": "a%02dp%d" % (a, p)} for a, p, q in test])
        print("%s: %d train questions, %d held-out" % (lang, len(train), len(test)))
    rng.shuffle(tuples)
    rng.shuffle(separation)
    write_jsonl(os.path.join(args.out, "classification-train.jsonl"), tuples)
    write_jsonl(os.path.join(args.out, "separation-train.jsonl"), separation)
    print("classification tuples: %d, separation texts: %d (%d labels)"
          % (len(tuples), len(separation), len({r["label"] for r in separation})))


if __name__ == "__main__":
    main()
