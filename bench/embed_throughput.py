#!/usr/bin/env python3
"""Embedding throughput: `tasklora embed` vs sentence-transformers on the same sentences, same machine,
interleaved (tasklora, ST, tasklora, ST, ...) so that a drift in the machine's load hits both sides.

Usage (run by hand from the repository root on an otherwise idle machine; needs the reference venv and the
multilingual-e5-small HF folder, see scripts/reference/README.md):

    HF_HUB_OFFLINE=1 cache/venv/bin/python bench/embed_throughput.py [--repeats 3] [--quick]
        [--sides tasklora:fp32,st:fp32]

writes runs/embed-throughput.json (raw numbers, not committed) and docs/benchmarks.md (the latter only for
the default two sides).

--checkpoint / --hf / --prefix pick another model (default multilingual-e5-small with "query: ").
--sides picks the sides and their order within a repeat (issue 12's precision comparison runs
`tasklora:fp32,tasklora:bf16,tasklora:int8,st:fp32,st:bf16`): `tasklora:P` is `tasklora embed --precision P`
(P = fp32, bf16, int8); `st:fp32` is sentence-transformers as it loads, `st:bf16` the same model cast with
`model.to(torch.bfloat16)` (every weight and activation in bfloat16; the embeddings are converted to float32
after `encode`). The JSON's "sides" holds every side's summary and min cosine to the first fp32 side's
embeddings; "tasklora" / "sentence-transformers" are the fp32 sides when present.

Same work on both sides: the 2,758 sentences of STS-B en test (data, both columns of the 1,379
pairs), prefix "query: ", max length 128 tokens (truncation, special tokens included), batch size 32, mean
pooling over the attention mask, L2 normalization, float32 output; both sides sort the inputs by length
before batching (tasklora by token count, sentence-transformers by character count, its own rule) and pad a
batch to its longest sequence. Tokenization follows the model's tokenizer.json on both sides (the ST side
loads it as-is via scripts/reference/_tok.py, because transformers 5 rebuilds the XLM-R tokenizer and drops
its Replace(' {2,}', ' ') normalizer; tasklora runs with --whitespace tokenizer-json); the script checks that
the token counts and the embeddings agree.

Timed: the encode call alone. tasklora: its own "embedded N texts ... in X s" (after the checkpoint is
loaded and the input file read; tokenization, forward, pooling and normalization; writing the .npy is not
timed); sentence-transformers: `model.encode(..., batch_size=32, normalize_embeddings=True)` after loading
the model and one warm-up encode of 64 sentences. torch uses 2 threads (the machine's 2 cores); tasklora
uses its default thread pool (all cores = 2).
Memory: peak resident set of each side's whole process (tasklora via /usr/bin/time -f %M, the ST child via
getrusage(RUSAGE_SELF).ru_maxrss), model loading included.
"""
import argparse, csv, json, os, platform, re, statistics, subprocess, sys, tempfile, time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(os.path.dirname(REPO), "shared", "data", "stsb-multi-mt", "stsb-en-test.csv")
HF_E5 = os.environ.get("E5_HF", "cache/e5-small-hf")
CKPT = os.path.join(REPO, "checkpoints", "multilingual-e5-small.h5")
PREFIX, MAX_LENGTH, BATCH = "query: ", 128, 32

ST_SNIPPET = r'''
import json, os, resource, sys, time
t0 = time.perf_counter()
import numpy as np, torch
torch.set_num_threads(int(sys.argv[4]))
from sentence_transformers import SentenceTransformer
sys.path.insert(0, sys.argv[5])
from _tok import load_tokenizer
texts = open(sys.argv[1], encoding="utf-8").read().split("\n")[:-1]
m = SentenceTransformer(sys.argv[2], device="cpu")
m[0].processor = load_tokenizer(sys.argv[2])   # tokenizer.json as-is, like tasklora --whitespace tokenizer-json
m.max_seq_length = int(sys.argv[6])
prefix, batch, dtype = sys.argv[7], int(sys.argv[8]), sys.argv[9]
if dtype == "bf16":
    m.to(torch.bfloat16)
kw = {"convert_to_tensor": True} if dtype == "bf16" else {}
load_s = time.perf_counter() - t0
t = time.perf_counter()
m.encode([prefix + x for x in texts[:64]], batch_size=batch, normalize_embeddings=True, **kw)  # warm-up
warm_s = time.perf_counter() - t
t = time.perf_counter()
e = m.encode([prefix + x for x in texts], batch_size=batch, normalize_embeddings=True, **kw)
dt = time.perf_counter() - t
if dtype == "bf16":
    e = e.float().numpy()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
tok = m[0].tokenizer([prefix + x for x in texts], truncation=True, max_length=m.max_seq_length)
np.save(sys.argv[3], e.astype(np.float32))
print(json.dumps({"seconds": dt, "rss_mib": rss, "load_s": load_s, "warmup_s": warm_s, "dtype": dtype,
                  "tokens": sum(len(x) for x in tok["input_ids"]), "threads": torch.get_num_threads()}))
'''


def sentences():
    out = []
    with open(DATA, encoding="utf-8", newline="") as f:
        for row in csv.reader(f):
            out += [row[0], row[1]]
    return out


def run_tasklora(binary, path, out, precision="fp32", ckpt=CKPT, prefix=PREFIX):
    cmd = ["/usr/bin/time", "-f", "%M", binary, "embed", "--model", ckpt, "--input", path, "--output", out,
           "--prefix", prefix, "--max-length", str(MAX_LENGTH), "--batch-size", str(BATCH),
           "--whitespace", "tokenizer-json"] + (["--precision", precision] if precision != "fp32" else [])
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        raise SystemExit(f"tasklora embed failed ({p.returncode}):\n{p.stderr[-2000:]}")
    m = re.search(r"embedded (\d+) texts \((\d+) tokens\) in ([0-9.]+) s", p.stderr)
    rss_kib = int(p.stderr.strip().splitlines()[-1])
    return {"seconds": float(m.group(3)), "tokens": int(m.group(2)), "rss_mib": rss_kib / 1024, "process_wall_s": wall}


def run_st(path, out, threads, dtype="fp32", hf=HF_E5, prefix=PREFIX):
    cmd = [sys.executable, "-c", ST_SNIPPET, path, hf, out, str(threads),
           os.path.join(REPO, "scripts", "reference"), str(MAX_LENGTH), prefix, str(BATCH), dtype]
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    wall = time.perf_counter() - t
    if p.returncode != 0:
        raise SystemExit(f"sentence-transformers side failed ({p.returncode}):\n{p.stderr[-2000:]}")
    r = json.loads(p.stdout.strip().splitlines()[-1])
    r["process_wall_s"] = wall
    return r


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        m = re.search(r"^Model name:\s*(.+)$", out, re.M)
        if m:
            return m.group(1).strip()
    except OSError:
        pass
    return platform.processor()


def versions():
    out = {"python": platform.python_version()}
    for name in ("torch", "transformers", "sentence_transformers", "tokenizers", "numpy"):
        try:
            out[name] = __import__(name).__version__
        except Exception:
            pass
    return out


def write_doc(s, path, command):
    t, st = s["tasklora"], s["sentence-transformers"]
    L = []
    w = L.append
    w("# Benchmarks\n")
    w("## Embedding throughput: `tasklora embed` vs sentence-transformers (CPU)\n")
    w(f"Machine: {s['cpu']}, {s['cpus']} cores (KVM guest), {s['mem_gib']:.0f} GiB RAM. "
      f"Python {s['versions'].get('python')}, torch {s['versions'].get('torch')}, transformers "
      f"{s['versions'].get('transformers')}, sentence-transformers {s['versions'].get('sentence_transformers')}, "
      f"tokenizers {s['versions'].get('tokenizers')}; tasklora release build (`{os.path.relpath(s['binary'], REPO)}`).\n")
    w(f"Work: the {s['sentences']:,} sentences of STS-B en test (both columns of 1,379 pairs), prefix `query: `, "
      f"max length {MAX_LENGTH} tokens, batch size {BATCH}, mean pooling, L2 normalization, float32. "
      f"{s['repeats']} repeats, interleaved (tasklora, ST, tasklora, ST, …), each in a fresh process.\n")
    w("| | tasklora | sentence-transformers |")
    w("|---|---|---|")
    w(f"| model | `checkpoints/multilingual-e5-small.h5` | `SentenceTransformer('{HF_E5}')` (XLMRobertaModel + mean pooling) |")
    w(f"| threads | tasklora's pool (all {s['cpus']} cores) | `torch.set_num_threads({st['threads']})` |")
    w(f"| call timed | `tasklora embed --prefix 'query: ' --max-length {MAX_LENGTH} --batch-size {BATCH}` (its own timer, after loading; .npy write not timed) | `model.encode(texts, batch_size={BATCH}, normalize_embeddings=True)` after a 64-sentence warm-up |")
    w(f"| tokens (specials included) | {t['tokens']:,} | {st['tokens']:,} |")
    w(f"| median encode time (s) | {t['median_s']:.2f} | {st['median_s']:.2f} |")
    w(f"| min – max (s) | {t['min_s']:.2f} – {t['max_s']:.2f} | {st['min_s']:.2f} – {st['max_s']:.2f} |")
    w(f"| **sentences / s (median)** | **{t['median_sentences_per_s']:.1f}** | **{st['median_sentences_per_s']:.1f}** |")
    w(f"| tokens / s (median) | {t['tokens'] / t['median_s']:.0f} | {st['tokens'] / st['median_s']:.0f} |")
    w(f"| peak RSS, whole process (MiB) | {t['peak_rss_mib']:.0f} | {st['peak_rss_mib']:.0f} |")
    w(f"| process wall incl. start-up and loading (s, median) | {t['median_process_wall_s']:.1f} | {st['median_process_wall_s']:.1f} |")
    w("")
    w(f"**Throughput ratio tasklora / sentence-transformers: {s['ratio_throughput']:.2f}×** "
      f"(per-repeat ratios {', '.join(f'{x:.2f}' for x in s['ratio_per_repeat'])}). "
      f"**Peak memory ratio: {s['ratio_memory']:.2f}×.**\n")
    w(f"Same work, checked: token counts {'equal' if t['tokens'] == st['tokens'] else 'DIFFER'}; "
      f"embeddings of the two sides agree to max |Δ| {s['max_abs_diff']:.1e}, min cosine {s['min_cosine']:.5f} "
      f"(tasklora's checkpoint and the HF folder hold the same dequantized weights).\n")
    w(f"1-minute load average sampled before and after each run: {', '.join(f'{x:.1f}' for x in s['load_avg_1min'])} "
      f"(the benchmark itself adds about 2; much above that means other work shared the cores).\n")
    w("Not removed / worth knowing:")
    w("- tasklora's timer starts on a cold model in a fresh process (no warm-up is possible from the CLI), while "
      f"sentence-transformers is timed after a 64-sentence warm-up (that warm-up took {st['median_warmup_s']:.2f} s, "
      "median, including one-time costs). This favours sentence-transformers slightly.")
    w("- Length sorting differs: tasklora sorts by token count, sentence-transformers by character count (its "
      "standard `encode`); both pad each batch to its longest member, so their padded work differs a little.")
    w("- Peak RSS is the whole process: for sentence-transformers it includes the Python interpreter, torch and "
      "transformers libraries; for tasklora, its checkpoint reader. The model has a 250k-token embedding table "
      "(about 370 MiB in float32); how much of it is resident depends on how each side loads it.")
    w("- The machine is a 2-vCPU KVM guest; other tenants can add noise, hence the interleaving and the min–max.")
    w("- Both sides run the tokenizer.json as written (the sentence-transformers side via `scripts/reference/_tok.py`, "
      "tasklora with `--whitespace tokenizer-json`) so that they see identical tokens; stock transformers 5 (and "
      "tasklora's default) drop trailing whitespace, which gives no STS-B sentence other ids and does not change the speed.")
    w("\nRegenerate (idle machine, from the repository root; raw numbers go to `runs/embed-throughput.json`):\n")
    w("```sh")
    w("swift build -c release")
    w(command)
    w("```")
    with open(path, "w") as f:
        f.write("\n".join(L) + "\n")


SIDE_NAMES = {"tasklora": "tasklora", "st": "sentence-transformers"}


def parse_sides(text):
    """"tasklora:fp32,st:bf16" → [("tasklora", "fp32", "tasklora fp32"), …]; a bare name means fp32."""
    out = []
    for item in text.split(","):
        tool, _, precision = item.partition(":")
        precision = precision or "fp32"
        ok = {"tasklora": ("fp32", "bf16", "int8"), "st": ("fp32", "bf16")}
        if tool not in ok or precision not in ok[tool]:
            raise SystemExit(f"--sides: {item!r} is not one of tasklora:fp32|bf16|int8, st:fp32|bf16")
        out.append((tool, precision, f"{SIDE_NAMES[tool]} {precision}"))
    return out


def side_summary(runs, n_texts):
    secs = [r["seconds"] for r in runs]
    return {"median_s": statistics.median(secs), "min_s": min(secs), "max_s": max(secs),
            "median_sentences_per_s": n_texts / statistics.median(secs),
            "peak_rss_mib": max(r["rss_mib"] for r in runs), "tokens": runs[0]["tokens"],
            "median_process_wall_s": statistics.median(r["process_wall_s"] for r in runs)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2, help="torch threads on the sentence-transformers side")
    ap.add_argument("--quick", action="store_true", help="200 sentences, 1 repeat (smoke test), writes nothing")
    ap.add_argument("--sides", default="tasklora:fp32,st:fp32",
                    help="sides in run order: tasklora:fp32|bf16|int8, st:fp32|bf16 (comma-separated)")
    ap.add_argument("--binary", default=None, help="tasklora binary (default: .build/release/tasklora)")
    ap.add_argument("--checkpoint", default=CKPT, help="tasklora's checkpoint (default: multilingual-e5-small)")
    ap.add_argument("--hf", default=HF_E5, help="the same model's sentence-transformers folder")
    ap.add_argument("--prefix", default=PREFIX)
    ap.add_argument("--json", default=os.path.join(REPO, "runs", "embed-throughput.json"))
    ap.add_argument("--doc", default=os.path.join(REPO, "docs", "benchmarks.md"))
    a = ap.parse_args()
    sides = parse_sides(a.sides)
    legacy = ([(t, p) for t, p, _ in sides] == [("tasklora", "fp32"), ("st", "fp32")]
              and (a.checkpoint, a.hf, a.prefix) == (CKPT, HF_E5, PREFIX))
    texts = sentences()
    if a.quick:
        texts, a.repeats = texts[:200], 1
    binary = a.binary or os.path.join(REPO, ".build", "release", "tasklora")
    if not os.path.exists(binary):
        binary = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=REPO,
                                capture_output=True, text=True, check=True).stdout.strip() + "/tasklora"
    assert all("\n" not in x and "\r" not in x for x in texts)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "sentences.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(texts) + "\n")
        results = {name: [] for _, _, name in sides}
        npy = {name: os.path.join(tmp, f"{i}.npy") for i, (_, _, name) in enumerate(sides)}
        loads = [os.getloadavg()[0]]
        for i in range(a.repeats):
            for tool, precision, name in sides:
                run = run_tasklora(binary, path, npy[name], precision, a.checkpoint, a.prefix) if tool == "tasklora" \
                    else run_st(path, npy[name], a.threads, precision, a.hf, a.prefix)
                results[name].append(run)
                loads.append(os.getloadavg()[0])
            print(f"repeat {i + 1}: " + ", ".join(f"{name} {results[name][-1]['seconds']:.2f} s" for _, _, name in sides),
                  flush=True)
        emb = {name: np.load(npy[name]) for _, _, name in sides}
    reference = next((name for _, p, name in sides if p == "fp32"), sides[0][2])
    summary = {"sentences": len(texts), "repeats": a.repeats, "cpu": cpu_model(), "cpus": os.cpu_count(),
               "mem_gib": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30,
               "versions": versions(), "binary": binary, "side_order": [name for _, _, name in sides],
               "checkpoint": a.checkpoint, "hf": a.hf, "prefix": a.prefix,
               "reference": reference, "runs": results, "load_avg_1min": loads, "sides": {}}
    for tool, precision, name in sides:
        x = side_summary(results[name], len(texts))
        x.update(tool=SIDE_NAMES[tool], precision=precision,
                 min_cosine_to_reference=float((emb[name] * emb[reference]).sum(1).min()),
                 max_abs_diff_to_reference=float(np.abs(emb[name] - emb[reference]).max()))
        if tool == "st":
            x["threads"] = results[name][0]["threads"]
            x["median_warmup_s"] = statistics.median(r["warmup_s"] for r in results[name])
        summary["sides"][name] = x
    if "tasklora fp32" in results and "sentence-transformers fp32" in results:
        t_name, s_name = "tasklora fp32", "sentence-transformers fp32"
        summary["tasklora"], summary["sentence-transformers"] = summary["sides"][t_name], summary["sides"][s_name]
        e1, e2 = emb[t_name], emb[s_name]
        summary["max_abs_diff"] = float(np.abs(e1 - e2).max())
        summary["min_cosine"] = float((e1 * e2).sum(1).min())
        summary["ratio_throughput"] = (summary["tasklora"]["median_sentences_per_s"]
                                       / summary["sentence-transformers"]["median_sentences_per_s"])
        summary["ratio_per_repeat"] = [s["seconds"] / t["seconds"] for t, s in zip(results[t_name], results[s_name])]
        summary["ratio_memory"] = summary["tasklora"]["peak_rss_mib"] / summary["sentence-transformers"]["peak_rss_mib"]
        if legacy:   # the original two-side record: runs keyed "tasklora" / "sentence-transformers"
            summary["runs"] = {"tasklora": results[t_name], "sentence-transformers": results[s_name]}
    print(json.dumps({k: v for k, v in summary.items() if k != "runs"}, indent=2))
    if not a.quick:
        os.makedirs(os.path.dirname(a.json), exist_ok=True)
        with open(a.json, "w") as f:
            json.dump(summary, f, indent=2)
        if legacy:
            command = "HF_HUB_OFFLINE=1 cache/venv/bin/python bench/embed_throughput.py --repeats " + str(a.repeats)
            write_doc(summary, a.doc, command)
            print(f"wrote {a.json} and {a.doc}")
        else:
            print(f"wrote {a.json}")


if __name__ == "__main__":
    main()
