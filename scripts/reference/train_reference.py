#!/usr/bin/env python3
"""PyTorch reference run of a tasklora text-matching recipe (default `recipes/text-matching-stsb-cpu.yaml`):
the same LoRA training done with the stock stack (sentence-transformers + peft + torch), to compare
dev Spearman and wall time per step with `tasklora train` on the same recipe.

    HF_HUB_OFFLINE=1 cache/venv/bin/python scripts/reference/train_reference.py train \
        [--recipe recipes/text-matching-stsb-cpu.yaml] [--model cache/e5-small-hf] \
        [--order tasklora|torch] [--init tasklora|peft] [--base-dropout] [--out runs/pytorch-text-matching.json]
    cache/venv/bin/python scripts/reference/train_reference.py report RUN.json [RUN2.json ...] \
        [--tasklora runs/text-matching-stsb-cpu/metrics.jsonl] [--doc docs/results-pytorch.md]

What runs (plain torch loop around the sentence-transformers losses; see docs/results-pytorch.md for why):

- model: `SentenceTransformer(--model)` = XLMRobertaModel + mean pooling (attention mask, special tokens
  included), `max_seq_length` = recipe `data.max_length`; tokenization follows the model's tokenizer.json as-is
  (`_tok.py`), which is tasklora's `data.whitespace: tokenizer-json` (transformers 5, and tasklora's default,
  drop its `Replace(' {2,}', ' ')` and split on whitespace; on STS-B the ids are identical).
- LoRA: `peft.inject_adapter_in_model(LoraConfig(r, lora_alpha, lora_dropout, target_modules=recipe targets))`
  on the transformers model (transformers 5.24's `add_adapter` wants peft >= 0.22; 0.21.2 is installed).
  Base weights frozen; 72 modules, 663,552 trainable parameters for the default recipe.
- loss: `MatryoshkaLoss(model, CoSENTLoss(model, scale=1/temperature), dims)`, weights 1, every dim every step.
- data: the recipe's `data.train` CSVs concatenated in order (sentence1, sentence2, score / score_scale), texts
  prefixed with the adapter's prefix. Batches of `batch_size`, drop-last, never repeating an example in the run
  (200 steps < 1 epoch). `--order tasklora` (default) rebuilds tasklora's own batch order (SplitMix64 Fisher-Yates,
  `BatchSampler.swift`), so both runs see the same batches; `--order torch` uses `torch.randperm` with the seed.
- init: `--init tasklora` (default) fills each lora_A with tasklora's draws (`LoRAAdapters.initialize`: U(+-1/sqrt(in))
  from SplitMix64(seed), same module order), so both runs start from the same adapter; `--init peft` keeps peft's
  own kaiming-uniform draws after `torch.manual_seed(seed)` (same distribution). lora_B = 0 either way.
- optimizer: `torch.optim.AdamW(lr, betas, eps, weight_decay)` on all LoRA matrices (no biases exist, so the
  HF Trainer's no-decay group would be empty too), `transformers.get_linear_schedule_with_warmup(ceil(ratio*steps),
  steps)`, `torch.nn.utils.clip_grad_norm_(max_norm=grad_clip)`.
- base dropout: tasklora has none (only LoRA input dropout), so the encoder stays in eval() mode unless
  `--base-dropout` (HF's hidden/attention dropout 0.1 during training, which a stock `model.train()` would give).
- eval: recipe `data.dev` with the anchor prefix, `model.encode(batch_size=64)` at max_length, truncate to each
  `eval.dims` dim, L2-normalize, cosine, Spearman (and Pearson) x100, at step 0, every `eval.every` and at the end.
- timing: wall seconds per optimizer step (tokenize + forward + backward + clip + AdamW), evals excluded;
  torch.set_num_threads(--threads, default 2).
"""
import argparse, csv, json, math, os, platform, re, resource, statistics, sys, time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


# ---------- tasklora's seeded draws (Sources/TaskLoRA/Kernels/SplitMix64.swift, Training/Data/*) ----------

def _mix(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def splitmix_draws(seed, n):
    """The first n outputs of SplitMix64(seed).next() as Python ints (output k = mix(seed + k*golden))."""
    return [_mix((seed + k * GOLDEN) & MASK) for k in range(1, n + 1)]


def splitmix_draws_np(seed, n):
    k = np.arange(1, n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + k * np.uint64(GOLDEN)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def stable_combine(a, b):
    return _mix(((a * GOLDEN) & MASK) ^ b)


def tasklora_batches(n, batch_size, seed, epoch=0):
    """BatchSampler.makePlan for uniqueTexts .off, no bucketing, dropLast: a Fisher-Yates shuffle from
    SplitMix64(combine(seed, epoch)), cut into full batches."""
    order = list(range(n))
    draws = splitmix_draws(stable_combine(seed, epoch), n - 1)
    for t, i in enumerate(range(n - 1, 0, -1)):
        j = (draws[t] * (i + 1)) >> 64
        order[i], order[j] = order[j], order[i]
    return [order[s:s + batch_size] for s in range(0, n - batch_size + 1, batch_size)]


def tasklora_lora_a(modules, seed):
    """LoRAAdapters.initialize for linear targets: A (r, in) row-major, U(+-1/sqrt(in)) from one SplitMix64(seed)
    stream, modules in tasklora's order (layer by layer; query, key, value, attention.output.dense,
    intermediate.dense, output.dense). Returns float32 arrays in that order."""
    total = sum(r * fin for r, fin in modules)
    u = (splitmix_draws_np(seed, total) >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
    out, off = [], 0
    for r, fin in modules:
        bound = 1.0 / math.sqrt(fin)
        out.append(((u[off:off + r * fin] * 2 - 1) * bound).astype(np.float32).reshape(r, fin))
        off += r * fin
    return out


TASKLORA_ORDER = ["query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense"]
HF_PATH = {"query": "attention.self.query", "key": "attention.self.key", "value": "attention.self.value",
           "attention.output.dense": "attention.output.dense", "intermediate.dense": "intermediate.dense",
           "output.dense": "output.dense"}


# ---------- data ----------

def read_sts_csv(path, scale):
    rows = []
    with open(path, encoding="utf-8", newline="") as f:
        for r, rec in enumerate(csv.reader(f)):
            if len(rec) != 3:
                raise SystemExit(f"{path}: record {r + 1} has {len(rec)} fields")
            try:
                score = float(rec[2])
            except ValueError:
                if r == 0:
                    continue  # header
                raise
            rows.append((rec[0], rec[1], score / scale))
    return rows


def spearman_pearson(gold, pred):
    from scipy.stats import pearsonr, spearmanr
    return 100 * spearmanr(gold, pred).statistic, 100 * pearsonr(gold, pred).statistic


def rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------- training ----------

def train(a):
    import yaml
    import torch
    torch.set_num_threads(a.threads)
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import CoSENTLoss, MatryoshkaLoss
    from peft import LoraConfig, inject_adapter_in_model
    from transformers import get_linear_schedule_with_warmup
    import peft, sentence_transformers, transformers
    sys.path.insert(0, HERE)
    from _tok import load_tokenizer

    rec = yaml.safe_load(open(a.recipe))
    ad = rec["adapters"][0]
    assert len(rec["adapters"]) == 1, "one adapter only"
    loss_cfg, data, opt, sch, ev = rec["loss"], rec["data"], rec["optimizer"], rec["schedule"], rec.get("eval", {})
    assert loss_cfg["type"] == "cosent" and sch["type"] == "linear"
    seed, steps, bs, max_len = rec.get("seed", 42), sch["steps"], data["batch_size"], data["max_length"]
    dims = loss_cfg["matryoshka"]["dims"]
    eval_dims = ev.get("dims", dims)
    eval_every = a.eval_every if a.eval_every is not None else ev.get("every", 0)
    warmup = math.ceil(steps * sch.get("warmup_ratio", 0.0)) if sch.get("warmup_steps") is None else sch["warmup_steps"]
    prefix = ad.get("prefix", "")
    root = a.root

    t_load = time.perf_counter()
    model = SentenceTransformer(a.model, device="cpu")
    if a.tokenizer == "file":
        model[0].processor = load_tokenizer(a.model)
    model.max_seq_length = max_len
    cfg = LoraConfig(r=ad.get("rank", 8), lora_alpha=ad.get("alpha", 16), lora_dropout=ad.get("dropout", 0.0),
                     target_modules=ad["targets"], bias="none")
    if a.init == "peft":
        torch.manual_seed(seed)  # peft's own kaiming-uniform draws for lora_A
    inject_adapter_in_model(cfg, model[0].model)
    for n, p in model.named_parameters():
        p.requires_grad = "lora_" in n
    params = [p for p in model.parameters() if p.requires_grad]
    n_params = sum(p.numel() for p in params)
    lora_modules = {n: m for n, m in model.named_modules() if hasattr(m, "lora_A") and "default" in getattr(m, "lora_A", {})}
    if a.init == "tasklora":
        layers = model[0].model.config.num_hidden_layers
        order = []
        for l in range(layers):
            for t in TASKLORA_ORDER:
                name = next((n for n in lora_modules if n.endswith(f"encoder.layer.{l}.{HF_PATH[t]}")), None)
                if name is not None:
                    order.append(name)
        assert len(order) == len(lora_modules), (len(order), len(lora_modules))
        shapes = [tuple(lora_modules[n].lora_A["default"].weight.shape) for n in order]
        mats = tasklora_lora_a(shapes, seed + 0 * 0x9E37)  # adapter 0: seed &+ 0 &* 0x9E37
        with torch.no_grad():
            for n, m in zip(order, mats):
                lora_modules[n].lora_A["default"].weight.copy_(torch.from_numpy(m))
                lora_modules[n].lora_B["default"].weight.zero_()
    loss_fn = MatryoshkaLoss(model, CoSENTLoss(model, scale=1.0 / loss_cfg.get("temperature", 0.05)), dims)
    load_s = time.perf_counter() - t_load

    scale = data.get("score_scale", 5)
    train_files = data["train"] if isinstance(data["train"], list) else [data["train"]]
    rows = [r for f in train_files for r in read_sts_csv(os.path.join(root, f), scale)]
    dev = read_sts_csv(os.path.join(root, data["dev"]), 1.0)
    if a.order == "tasklora":
        batches = tasklora_batches(len(rows), bs, seed)
    else:
        g = torch.Generator().manual_seed(seed)
        perm = torch.randperm(len(rows), generator=g).tolist()
        batches = [perm[s:s + bs] for s in range(0, len(perm) - bs + 1, bs)]
    assert steps <= len(batches), "more steps than one epoch: not implemented"

    def set_mode(training):
        model.train(training and a.base_dropout)

    def evaluate(step):
        set_mode(False)
        t = time.perf_counter()
        with torch.no_grad():
            e1 = model.encode([prefix + r[0] for r in dev], batch_size=64, convert_to_tensor=True)
            e2 = model.encode([prefix + r[1] for r in dev], batch_size=64, convert_to_tensor=True)
        gold = [r[2] for r in dev]
        out = {}
        for d in eval_dims:
            x = torch.nn.functional.normalize(e1[:, :d], dim=-1)
            y = torch.nn.functional.normalize(e2[:, :d], dim=-1)
            s, p = spearman_pearson(gold, (x * y).sum(-1).tolist())
            out[str(d)] = {"spearman": s, "pearson": p}
        dt = time.perf_counter() - t
        print(f"eval step {step}: spearman " + "  ".join(f"{d}: {v['spearman']:.2f}" for d, v in out.items())
              + f"  ({dt:.1f} s)", flush=True)
        set_mode(True)
        return {"step": step, "dims": out, "seconds": dt}

    optimizer = torch.optim.AdamW(params, lr=opt.get("lr", 1e-4), betas=tuple(opt.get("betas", (0.9, 0.999))),
                                  eps=opt.get("eps", 1e-8), weight_decay=opt.get("weight_decay", 0.01))
    scheduler = get_linear_schedule_with_warmup(optimizer, warmup, steps)
    clip = opt.get("grad_clip", 1.0)
    print(f"model {a.model}: {n_params:,} LoRA parameters in {len(lora_modules)} modules; {len(rows)} train pairs, "
          f"{len(dev)} dev pairs; order {a.order}, init {a.init}, base dropout {a.base_dropout}; "
          f"{torch.get_num_threads()} threads", flush=True)

    evals = [] if a.no_eval else [evaluate(0)]
    log = []
    t_train = time.perf_counter()
    last = min(steps, a.stop_after or steps)
    for step in range(1, last + 1):
        idx = batches[step - 1]
        t = time.perf_counter()
        lr = scheduler.get_last_lr()[0]
        f1 = model.preprocess([prefix + rows[i][0] for i in idx])
        f2 = model.preprocess([prefix + rows[i][1] for i in idx])
        labels = torch.tensor([rows[i][2] for i in idx], dtype=torch.float32)
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn([f1, f2], labels)
        loss.backward()
        gn = float(torch.nn.utils.clip_grad_norm_(params, clip)) if clip > 0 else float("nan")
        optimizer.step()
        scheduler.step()
        dt = time.perf_counter() - t
        ntok = int(f1["attention_mask"].sum() + f2["attention_mask"].sum())
        log.append({"step": step, "loss": float(loss), "lr": lr, "grad_norm": gn, "seconds": dt, "tokens": ntok})
        if step == 1 or step % 10 == 0:
            print(f"step {step}/{steps}  loss {float(loss):.4f}  lr {lr:.2e}  grad_norm {gn:.3f}  {dt:.3f} s", flush=True)
        if not a.no_eval and ((eval_every and step % eval_every == 0) or step == last):
            evals.append(evaluate(step))
    train_wall = time.perf_counter() - t_train
    secs = [r["seconds"] for r in log]
    result = {
        "recipe": a.recipe, "model": a.model, "command": " ".join(sys.argv),
        "settings": {"order": a.order, "init": a.init, "base_dropout": a.base_dropout, "tokenizer": a.tokenizer,
                     "threads": torch.get_num_threads(), "seed": seed, "steps": steps, "batch_size": bs,
                     "max_length": max_len, "warmup_steps": warmup, "dims": dims, "prefix": prefix,
                     "lora_parameters": n_params, "lora_modules": len(lora_modules)},
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__,
                     "sentence_transformers": sentence_transformers.__version__, "python": platform.python_version()},
        "machine": {"cpu": cpu_model(), "cpus": os.cpu_count()},
        "evals": evals, "steps": log,
        "timing": {"load_s": load_s, "train_wall_s": train_wall, "step_median_s": statistics.median(secs),
                   "step_mean_s": statistics.mean(secs), "step_min_s": min(secs), "step_max_s": max(secs),
                   "steps_total_s": sum(secs), "eval_total_s": sum(e["seconds"] for e in evals),
                   "steps_run": last},
        "peak_rss_mib": rss_mib(),
    }
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)
    print(f"median step {result['timing']['step_median_s']:.3f} s, peak RSS {result['peak_rss_mib']:.0f} MiB; wrote {a.out}")


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


# ---------- report ----------

METHOD = """
## How the PyTorch side runs (and why a plain loop, not `SentenceTransformerTrainer`)

`scripts/reference/train_reference.py train` is a plain torch loop around the stock pieces: a
`SentenceTransformer` on the HF folder (XLMRobertaModel + mean pooling, `max_seq_length` 64), LoRA injected by
`peft.inject_adapter_in_model(LoraConfig(r=8, lora_alpha=16, lora_dropout=0, target_modules=[query, key, value,
attention.output.dense, intermediate.dense, output.dense]))` (peft's suffix matching gives exactly the 72 modules
tasklora adapts, 663,552 parameters; `output.dense` also matches `attention.output.dense`, which is listed anyway),
`MatryoshkaLoss(model, CoSENTLoss(model, scale=20), [32, 64, 128, 256, 384])`, `torch.optim.AdamW(lr 1e-4,
weight_decay 0.01)`, `transformers.get_linear_schedule_with_warmup(20, 200)` and `clip_grad_norm_(1.0)`.
A plain loop was chosen over `SentenceTransformerTrainer` because it is the more faithful equivalent here:

- **Same batches.** The trainer's sampler cannot reproduce tasklora's data order; the loop rebuilds it
  (`BatchSampler.swift`: SplitMix64 Fisher–Yates of the 28,745 concatenated pairs, batches of 32, drop-last), so
  both runs see identical batches. `--order torch` uses `torch.randperm(seed 42)` instead.
- **Same starting adapter.** `--init tasklora` (default) writes tasklora's seeded lora_A draws
  (`LoRAAdapters.initialize`, U(±1/√in), the distribution of peft's kaiming-uniform(a=√5)); lora_B = 0 in both.
  `--init peft` keeps peft's own draws after `torch.manual_seed(42)`.
- **No base-model dropout.** tasklora trains the frozen encoder without hidden/attention dropout (LoRA input
  dropout only, 0 here). The trainer calls `model.train()`, which would switch on XLM-R's dropout 0.1; the loop
  keeps the encoder in `eval()` mode (`--base-dropout` restores the trainer's behaviour).
- **Clean step timing**: one optimizer step = tokenize + forward + backward + clip + AdamW; evaluations excluded.
  Everything else the trainer would do the same (AdamW with decay on every LoRA matrix: they have no biases or
  LayerNorms, so the trainer's no-decay group is empty; `warmup_ratio` 0.1 → 20 steps; the first update at lr 0).
- The losses are sentence-transformers' own classes, called as the trainer calls them: `loss([features_s1,
  features_s2], labels)`, labels = score / 5. sentence-transformers embeds the two columns in two forward passes
  (`embed_columns` keeps the first column separate), tasklora in one; with mean pooling over the attention mask
  this is the same function.
- Tokenization: the model's `tokenizer.json` as-is (`scripts/reference/_tok.py`), as tasklora did when these
  runs were made (now `--whitespace tokenizer-json`; the default follows stock transformers 5, which drops the
  file's `Replace(' {2,}', ' ')` normalizer and trailing whitespace). On STS-B the two give identical ids
  (`Tests/Fixtures/tokenizer/stsb_digests.json`).

Dev evaluation on both sides: STS-B en dev, prefix `query: `, max length 64, pooled embeddings truncated to each
dim and L2-normalized, cosine, Spearman ×100 (sentence-transformers `encode(batch_size=64)` + scipy).
"""

def load_tasklora(path):
    evals, steps = [], []
    for line in open(path):
        r = json.loads(line)
        if "eval" in r:
            evals.append({"step": r["step"], "dims": r["eval"]["dims"]})
        elif "loss" in r:
            steps.append(r)
    return evals, steps


def report(a):
    runs = [json.load(open(p)) for p in a.runs]
    cols = []  # (label, {step: dims})
    for p, r in zip(a.runs, runs):
        s = r["settings"]
        label = f"PyTorch ({'same batches' if s['order'] == 'tasklora' else 'torch order'}, " \
                f"{'tasklora init' if s['init'] == 'tasklora' else 'peft init'}" \
                f"{', base dropout 0.1' if s['base_dropout'] else ''})"
        cols.append((label, {e["step"]: e["dims"] for e in r["evals"]}, r))
    tl = None
    if a.tasklora and os.path.exists(a.tasklora):
        ev, st = load_tasklora(a.tasklora)
        if ev:
            tl = ("tasklora", {e["step"]: e["dims"] for e in ev}, st)
    allcols = ([tl] if tl else []) + cols
    dims = list(runs[0]["evals"][0]["dims"].keys())
    steps = sorted(set().union(*[set(c[1]) for c in allcols]))
    out = []
    w = out.append
    w("# PyTorch reference training: text matching on STS-B (multilingual-e5-small)\n")
    w("`recipes/text-matching-stsb-cpu.yaml` trained with tasklora and with the stock PyTorch stack "
      "(sentence-transformers + peft + torch), on the same dequantized multilingual-e5-small weights. "
      "STS-B **en dev** (1,500 pairs) Spearman x100 of cosine similarity, prefix `query: `, max length 64, "
      "at each Matryoshka dim (truncate, then L2-normalize).\n")
    r0 = runs[0]
    w(f"Machine: {r0['machine']['cpu']}, {r0['machine']['cpus']} cores; torch {r0['versions']['torch']} "
      f"({r0['settings']['threads']} threads), transformers {r0['versions']['transformers']}, "
      f"peft {r0['versions']['peft']}, sentence-transformers {r0['versions']['sentence_transformers']}.\n")
    w("## Dev Spearman by step and dim\n")
    w("| step | run | " + " | ".join(dims) + " |")
    w("|---|---|" + "---|" * len(dims))
    for stp in steps:
        for c in allcols:
            if stp in c[1]:
                w(f"| {stp} | {c[0]} | " + " | ".join(f"{c[1][stp][d]['spearman']:.2f}" for d in dims) + " |")
    last = max(steps)
    if tl and last in tl[1] and 0 in tl[1]:
        w("\n## Gain over the base model (final − step 0) and gap to tasklora at the end\n")
        w("| run | " + " | ".join(f"gain {d}" for d in dims) + " | " + " | ".join(f"vs tasklora {d}" for d in dims) + " |")
        w("|---|" + "---|" * (2 * len(dims)))
        for c in allcols:
            if last in c[1] and 0 in c[1]:
                g = [c[1][last][d]["spearman"] - c[1][0][d]["spearman"] for d in dims]
                v = [c[1][last][d]["spearman"] - tl[1][last][d]["spearman"] for d in dims]
                w(f"| {c[0]} | " + " | ".join(f"{x:+.2f}" for x in g) + " | " + " | ".join(f"{x:+.4f}" for x in v) + " |")
    w("\n## Training loss and time per step\n")
    w("Loss = sum over the 5 dims of CoSENT (scale 20). Step time = one optimizer step (tokenize, forward, "
      "backward, clip, AdamW), evaluations excluded; PyTorch threads: "
      + ", ".join(str(r["settings"]["threads"]) for r in runs) + "; tasklora: its pool (all cores).\n")
    w("| run | loss step 1 | loss step 2 | mean loss 1–50 | mean loss 151–200 | median s/step | min–max s/step | total train s |")
    w("|---|---|---|---|---|---|---|---|")
    def row(label, st):
        l = {r["step"]: r["loss"] for r in st}
        sec = [r["seconds"] for r in st]
        m1 = statistics.mean(l[k] for k in range(1, 51) if k in l)
        m2 = statistics.mean(l[k] for k in range(151, 201) if k in l)
        w(f"| {label} | {l[1]:.4f} | {l[2]:.4f} | {m1:.3f} | {m2:.3f} | {statistics.median(sec):.3f} | "
          f"{min(sec):.3f}–{max(sec):.3f} | {sum(sec):.0f} |")
    if tl:
        row("tasklora", tl[2])
    for c in cols:
        row(c[0], c[2]["steps"])
    if tl:
        tloss = {r["step"]: r["loss"] for r in tl[2]}
        w("\nPer-step loss against tasklora's (same recipe). With the same batches and the same initial adapter the two "
          "runs compute the same function, so the gap measures numerical drift between the implementations:\n")
        w("| run | max abs Δloss, steps 1–2 (adapter still B = 0) | mean abs Δloss, steps 3–50 | 51–200 | max abs Δloss, 1–200 | max relative Δ grad norm | max abs Δ dev Spearman (all evals, all dims) |")
        w("|---|---|---|---|---|---|---|")
        for c in cols:
            l = {r["step"]: r["loss"] for r in c[2]["steps"]}
            common = [k for k in l if k in tloss]
            d = {k: l[k] - tloss[k] for k in common}
            if not d:
                continue
            def mabs(lo, hi):
                v = [abs(d[k]) for k in range(lo, hi + 1) if k in d]
                return f"{statistics.mean(v):.1e}" if v else "–"
            tg = {r["step"]: r["grad_norm"] for r in tl[2]}
            rg = max(abs(r["grad_norm"] - tg[r["step"]]) / tg[r["step"]] for r in c[2]["steps"] if r["step"] in tg)
            ds = [abs(c[1][k][dd]["spearman"] - tl[1][k][dd]["spearman"]) for k in c[1] if k in tl[1] for dd in dims]
            w(f"| {c[0]} | {max(abs(d[k]) for k in (1, 2) if k in d):.1e} | {mabs(3, 50)} | {mabs(51, 200)} | "
              f"{max(abs(x) for x in d.values()):.1e} | {rg:.1e} | {max(ds):.1e} |")
    w(METHOD)
    if a.notes and os.path.exists(a.notes):
        w("\n" + open(a.notes).read().rstrip() + "\n")
    w("\n## Commands\n")
    w("```sh")
    w("tasklora train recipes/text-matching-stsb-cpu.yaml        # .build/release/tasklora; writes runs/text-matching-stsb-cpu/metrics.jsonl")
    for r in runs:
        w("HF_HUB_OFFLINE=1 cache/venv/bin/python " + r["command"].replace(REPO + "/", ""))
    w("cache/venv/bin/python scripts/reference/train_reference.py report " + " ".join(os.path.relpath(p, REPO) for p in a.runs)
      + (f" --notes {os.path.relpath(a.notes, REPO)}" if a.notes else ""))
    w("```")
    with open(a.doc, "w") as f:
        f.write("\n".join(out) + "\n")
    print("\n".join(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--recipe", default=os.path.join(REPO, "recipes", "text-matching-stsb-cpu.yaml"))
    t.add_argument("--root", default=REPO, help="directory the recipe's data paths are relative to")
    t.add_argument("--model", default=os.environ.get("E5_HF", "cache/e5-small-hf"))
    t.add_argument("--order", choices=["tasklora", "torch"], default="tasklora")
    t.add_argument("--init", choices=["tasklora", "peft"], default="tasklora")
    t.add_argument("--base-dropout", action="store_true")
    t.add_argument("--tokenizer", choices=["file", "auto"], default="file")
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--eval-every", type=int, default=None)
    t.add_argument("--stop-after", type=int, default=None,
                   help="timing runs: stop after this many steps (the schedule still spans the recipe's steps)")
    t.add_argument("--no-eval", action="store_true", help="timing runs: no dev evaluation at all")
    t.add_argument("--out", default=os.path.join(REPO, "runs", "pytorch-text-matching.json"))
    r = sub.add_parser("report")
    r.add_argument("runs", nargs="+")
    r.add_argument("--tasklora", default=os.path.join(REPO, "runs", "text-matching-stsb-cpu", "metrics.jsonl"))
    r.add_argument("--notes", default=None, help="Markdown appended before the commands")
    r.add_argument("--doc", default=os.path.join(REPO, "docs", "results-pytorch.md"))
    a = ap.parse_args()
    (train if a.cmd == "train" else report)(a)


if __name__ == "__main__":
    main()
