#!/usr/bin/env python3
"""LoRA training throughput of the stock PyTorch stack (torch + transformers + peft + sentence-transformers),
the reference side of `tasklora-bench train-throughput`; one process = one measurement, JSON on stdout.

    HF_HUB_OFFLINE=1 cache/venv/bin/python bench/train_throughput_torch.py --model HF_FOLDER --data STSB.csv \
        [--workload fixed|real|text-matching] [--texts FILE] [--batch 32] [--length 64] [--max-length 128] \
        [--warmup 2] [--steps 5] [--start 0] [--prefix P] [--threads 2] [--autocast bf16] [--compile]

Settings (the same as the tasklora side): SentenceTransformer(folder) (Transformer + its Pooling module),
peft LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, target_modules=["query", "value"]) injected with
`peft.inject_adapter_in_model` into the transformers model (what `add_adapter` does; transformers 5's
`add_adapter` wants peft >= 0.22, 0.21.2 is installed), every other parameter frozen, MultipleNegativesRankingLoss(scale=20) (in-batch InfoNCE, τ = 0.05),
torch.optim.AdamW(lr=1e-4, weight_decay=0.01) over the LoRA parameters, clip_grad_norm_(1.0), fp32,
model.train(), torch.set_num_threads(--threads). The loop is the core of SentenceTransformerTrainer's
step without its data loader and logging: tokenize both columns (sentence-transformers pads each column
to its longest member), loss forward, backward, clip, optimizer step, zero_grad(set_to_none=True).

Workloads:
  fixed  2·batch texts from --texts (anchors = lines 0..batch-1, positives = the next batch lines), each
         truncated to exactly --length tokens (the texts are long enough that nothing is padded);
  real   STS-B rows in file order, batch rows per step starting at --start (sentence1 → anchor,
         sentence2 → positive), truncated at --max-length, padded to the longest in each column;
  text-matching  what recipes/text-matching-stsb-cpu.yaml trains: the same rows with their scores, truncated
         at --length (64), LoRA on all six linear module types (target_modules query, key, value,
         attention.output.dense, intermediate.dense, output.dense: peft matches by name suffix, so
         "output.dense" also matches attention.output.dense; the set is the same), and sentence-transformers'
         own MatryoshkaLoss(model, CoSENTLoss(model, scale=20), matryoshka_dims=[32, 64, 128, 256, 384] capped at
         the hidden size, unit weights) on the scores.
Precision: fp32, or with --autocast bf16 the loss forward (model + loss) runs under
torch.autocast("cpu", dtype=torch.bfloat16) — PyTorch's one-line mixed precision, the peer at its best on a
CPU with AVX-512 bf16; backward, clipping and AdamW run outside it as autocast's documentation asks.
Timed: each step's wall time, tokenization included (real workloads; the fixed batch is tokenized once).
"""
import argparse, contextlib, csv, json, os, resource, sys, time

t_start = time.perf_counter()
import torch  # noqa: E402


def peak_rss_mib():
    """VmHWM of this process (ru_maxrss would include a forking parent's peak: Linux keeps it across exec)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--workload", choices=("fixed", "real", "text-matching"), default="fixed")
    ap.add_argument("--texts")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--length", type=int, default=64)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--prefix", default="")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--alpha", type=float, default=16)
    ap.add_argument("--autocast", choices=("none", "bf16"), default="none",
                    help="bf16: the loss forward under torch.autocast('cpu', dtype=torch.bfloat16)")
    ap.add_argument("--compile", action="store_true", help="torch.compile the transformer (off by default)")
    ap.add_argument("--as-is-tokenizer", action="store_true",
                    help="load tokenizer.json as-is (scripts/reference/_tok.py), as for XLM-R models")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    from peft import LoraConfig, inject_adapter_in_model
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import (CoSENTLoss, MatryoshkaLoss,
                                                                   MultipleNegativesRankingLoss)
    text_matching = a.workload == "text-matching"
    targets = (["query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense"]
               if text_matching else ["query", "value"])

    model = SentenceTransformer(a.model, device="cpu")
    if a.as_is_tokenizer:
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts", "reference"))
        from _tok import load_tokenizer
        model[0].processor = load_tokenizer(a.model)
    model.max_seq_length = a.max_length if a.workload == "real" else a.length
    # transformers 5's `add_adapter` wants peft >= 0.22 (0.21.2 is installed): inject directly, freeze the rest.
    inject_adapter_in_model(LoraConfig(r=a.rank, lora_alpha=a.alpha, lora_dropout=0.0, bias="none",
                                       target_modules=targets), model[0].model)
    for n, p in model.named_parameters():
        p.requires_grad = "lora_" in n
    if a.compile:
        model[0].model = torch.compile(model[0].model)
    model.train()
    hidden = (model.get_embedding_dimension() if hasattr(model, "get_embedding_dimension")
              else model.get_sentence_embedding_dimension())
    dims = [d for d in (32, 64, 128, 256, 384) if d < hidden] + [hidden]
    loss_fn = (MatryoshkaLoss(model, CoSENTLoss(model, scale=20.0), matryoshka_dims=dims) if text_matching
               else MultipleNegativesRankingLoss(model, scale=20.0))
    autocast = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if a.autocast == "bf16" else contextlib.nullcontext
    lora_modules = sum(1 for n, _ in model[0].model.named_modules() if n.endswith("lora_A"))
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01)
    n_trainable = sum(p.numel() for p in params)

    rows = []
    with open(a.data, encoding="utf-8", newline="") as f:
        for r in csv.reader(f):
            if len(r) >= 3:
                rows.append((r[0], r[1], float(r[2])))
    fixed = None
    if a.workload == "fixed":
        with open(a.texts, encoding="utf-8") as f:
            lines = [x for x in f.read().split("\n") if x]
        texts = [a.prefix + lines[i % len(lines)] for i in range(2 * a.batch)]
        fixed = [model.tokenize(texts[:a.batch]), model.tokenize(texts[a.batch:])]
        for feat in fixed:
            m = feat["attention_mask"]
            if m.shape[1] != a.length or int(m.sum()) != m.numel():
                raise SystemExit(f"fixed texts do not fill {a.length} tokens (shape {tuple(m.shape)}, {int(m.sum())} real)")
    load_s = time.perf_counter() - t_start

    records = []
    for s in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        labels = None
        if fixed is not None:
            features = fixed
        else:
            batch = [rows[(a.start + s * a.batch + i) % len(rows)] for i in range(a.batch)]
            features = [model.tokenize([a.prefix + x[0] for x in batch]), model.tokenize([a.prefix + x[1] for x in batch])]
            labels = torch.tensor([x[2] for x in batch]) if text_matching else None
        with autocast():
            loss = loss_fn(features, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        dt = time.perf_counter() - t0
        tokens = sum(int(f["attention_mask"].sum()) for f in features)
        padded = sum(int(f["attention_mask"].numel()) for f in features)
        records.append({"step": s + 1, "warmup": s < a.warmup, "seconds": dt, "tokens": tokens,
                        "padded_tokens": padded, "pairs": a.batch, "loss": float(loss.detach())})
    timed = [r for r in records if not r["warmup"]]
    total = sum(r["seconds"] for r in timed)
    steps_sorted = sorted(r["seconds"] for r in timed)
    mid = len(steps_sorted) // 2
    median = steps_sorted[mid] if len(steps_sorted) % 2 else (steps_sorted[mid - 1] + steps_sorted[mid]) / 2
    print(json.dumps({
        "side": "pytorch", "model": a.model, "workload": a.workload, "pairs_per_step": a.batch,
        "length": model.max_seq_length, "threads": torch.get_num_threads(), "interop_threads": torch.get_num_interop_threads(),
        "rank": a.rank, "alpha": a.alpha, "prefix": a.prefix, "compile": a.compile, "trainable_parameters": n_trainable,
        "autocast": a.autocast, "precision": "bf16-autocast" if a.autocast == "bf16" else "fp32",
        "lora_targets": targets, "lora_modules": lora_modules, "matryoshka_dims": dims if text_matching else None,
        "attn_implementation": getattr(model[0].model.config, "_attn_implementation", None),
        "warmup": a.warmup, "steps": records, "timed_seconds": total,
        "pairs_per_s": a.batch * len(timed) / total, "tokens_per_s": sum(r["tokens"] for r in timed) / total,
        "median_step_s": median, "load_s": load_s,
        "peak_rss_mib": peak_rss_mib(),
        "versions": {"torch": torch.__version__, "transformers": __import__("transformers").__version__,
                     "peft": __import__("peft").__version__,
                     "sentence_transformers": __import__("sentence_transformers").__version__},
    }, sort_keys=True))


if __name__ == "__main__":
    main()
