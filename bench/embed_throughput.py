#!/usr/bin/env python3
"""Embedding throughput: `tasklora embed` vs sentence-transformers on the same sentences, same machine,
one run, interleaved (A B A B ...), so the ratio is not skewed by the machine's load drifting.

Usage (run by hand; needs the reference venv, see scripts/reference/README.md):
    /work/venv/bin/python bench/embed_throughput.py [--repeats 3] [--quick]

Both sides embed the 2,758 sentences of STS-B en test (../shared/data) with prefix "query: ",
max length 128, batch size 32, mean pooling + L2 normalization, and report sentences per second
of the encode call alone (model loading excluded on both sides). sentence-transformers runs on the
multilingual-e5-small Hugging Face folder made from the same E5S1 weights
(scripts/reference/e5_to_hf.py), torch 2.13.0+cpu with 2 threads; tasklora on its checkpoint.
Peak resident memory of each side is measured on its own process.
"""
import argparse, csv, json, os, re, resource, statistics, subprocess, sys, tempfile, time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(os.path.dirname(REPO), "shared", "data", "stsb-multi-mt", "stsb-en-test.csv")
CACHE = os.environ.get("TASKLORA_CACHE", os.path.join(REPO, "cache"))
HF_E5 = os.path.join(CACHE, "e5-small-hf")
CKPT = os.path.join(REPO, "checkpoints", "multilingual-e5-small.h5")

ST_SNIPPET = r'''
import json, resource, sys, time, torch
torch.set_num_threads(2)
from sentence_transformers import SentenceTransformer
texts = [l.rstrip("\n") for l in open(sys.argv[1], encoding="utf-8")]
m = SentenceTransformer(sys.argv[2], device="cpu")
m.max_seq_length = 128
m.encode(texts[:64], batch_size=32)  # warm-up
t = time.perf_counter()
m.encode(["query: " + x for x in texts], batch_size=32, normalize_embeddings=True)
dt = time.perf_counter() - t
print(json.dumps({"seconds": dt, "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
'''


def sentences():
    out = []
    with open(DATA, encoding="utf-8", newline="") as f:
        for row in csv.reader(f):
            out += [row[0], row[1]]
    return out


def run_tasklora(binary, path, out):
    cmd = ["/usr/bin/time", "-f", "%M", binary, "embed", "--model", CKPT, "--input", path, "--output", out,
           "--prefix", "query: ", "--max-length", "128", "--batch-size", "32"]
    p = subprocess.run(cmd, capture_output=True, text=True, check=True)
    m = re.search(r"in ([0-9.]+) s", p.stderr)
    rss_kib = int(p.stderr.strip().splitlines()[-1])
    return {"seconds": float(m.group(1)), "rss_mib": rss_kib / 1024}


def run_st(path):
    p = subprocess.run([sys.executable, "-c", ST_SNIPPET, path, HF_E5], capture_output=True, text=True, check=True,
                       env=dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false"))
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="200 sentences, 1 repeat (smoke test)")
    ap.add_argument("--write", default=os.path.join(REPO, "docs", "benchmarks-embed.json"))
    a = ap.parse_args()
    texts = sentences()
    if a.quick:
        texts, a.repeats = texts[:200], 1
    binary = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=REPO, capture_output=True,
                            text=True, check=True).stdout.strip() + "/tasklora"
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "sentences.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(texts) + "\n")
        results = {"tasklora": [], "sentence-transformers": []}
        for _ in range(a.repeats):
            results["tasklora"].append(run_tasklora(binary, path, os.path.join(tmp, "e.npy")))
            results["sentence-transformers"].append(run_st(path))
    summary = {"sentences": len(texts), "repeats": a.repeats, "machine": os.uname().nodename, "cpus": os.cpu_count()}
    for side, runs in results.items():
        secs = [r["seconds"] for r in runs]
        summary[side] = {"median_sentences_per_s": len(texts) / statistics.median(secs),
                         "min_s": min(secs), "max_s": max(secs), "peak_rss_mib": max(r["rss_mib"] for r in runs)}
    summary["ratio_throughput"] = (summary["tasklora"]["median_sentences_per_s"]
                                   / summary["sentence-transformers"]["median_sentences_per_s"])
    summary["ratio_memory"] = summary["tasklora"]["peak_rss_mib"] / summary["sentence-transformers"]["peak_rss_mib"]
    print(json.dumps(summary, indent=2))
    if not a.quick:
        with open(a.write, "w") as f:
            json.dump(summary, f, indent=2)


if __name__ == "__main__":
    main()
