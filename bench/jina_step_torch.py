#!/usr/bin/env python3
"""LoRA training steps of a full-size jina-embeddings-v3 shape on the PyTorch stack, the peer of
`tasklora-bench jina-step`; one process = one measurement, JSON on stdout.

    HF_HUB_OFFLINE=1 cache/venv/bin/python bench/jina_step_torch.py [--autocast bf16|none] [--sequences 16]
        [--length 256] [--warmup 1] [--steps 3] [--threads 2] [--rank 4] [--alpha 1]

transformers' `JinaEmbeddingsV3Model(JinaEmbeddingsV3Config(rope_theta 20,000))` without the pooler, random
initialised (its own init; no real jina weights exist here, as in scripts/reference/make_jina_fullsize.py:
vocabulary 250,002, hidden 1024, 24 layers, 16 heads, FFN 4096), SDPA attention, model.train() (dropout 0.1 in the
config is set to 0 to match the tasklora side); peft `LoraConfig(r, lora_alpha, lora_dropout=0,
target_modules=[q_proj, k_proj, v_proj, o_proj, fc1, fc2])` injected, everything else frozen. A step: `sequences`
random token sequences of exactly `length` tokens (no padding; anchors = the first half, positives = the second),
forward (under `torch.autocast("cpu", dtype=torch.bfloat16)` with --autocast bf16), mean pooling, in-batch InfoNCE
at scale 20 on the normalized embeddings (what MultipleNegativesRankingLoss computes), backward,
clip_grad_norm_(1.0), AdamW(lr 1e-4, weight decay 0.01). Peak RSS 10.6 GB (one step measured here).
"""
import argparse, json, time

t_start = time.perf_counter()
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from train_throughput_torch import peak_rss_mib  # noqa: E402  (bench/ is the script's directory)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--autocast", choices=("none", "bf16"), default="bf16")
    ap.add_argument("--sequences", type=int, default=16)
    ap.add_argument("--length", type=int, default=256)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rank", type=int, default=4)
    ap.add_argument("--alpha", type=float, default=1.0)
    ap.add_argument("--layers", type=int, default=24)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    from peft import LoraConfig, inject_adapter_in_model
    from transformers import JinaEmbeddingsV3Config, JinaEmbeddingsV3Model

    cfg = JinaEmbeddingsV3Config(rope_parameters={"rope_type": "default", "rope_theta": 20000.0},
                                 num_hidden_layers=a.layers, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                                 attn_implementation="sdpa")
    model = JinaEmbeddingsV3Model(cfg, add_pooling_layer=False)
    targets = ["q_proj", "k_proj", "v_proj", "o_proj", "fc1", "fc2"]
    inject_adapter_in_model(LoraConfig(r=a.rank, lora_alpha=a.alpha, lora_dropout=0.0, bias="none",
                                       target_modules=targets), model)
    for n, p in model.named_parameters():
        p.requires_grad = "lora_" in n
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01)
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(2, cfg.vocab_size, (a.sequences, a.length), generator=g)
    mask = torch.ones_like(ids)
    n = a.sequences // 2
    load_s = time.perf_counter() - t_start

    seconds, losses = [], []
    for _ in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.autocast == "bf16"):
            hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
            pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
            e = F.normalize(pooled.float(), dim=-1)
            loss = F.cross_entropy(20.0 * e[:n] @ e[n:].T, torch.arange(n))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        seconds.append(time.perf_counter() - t0)
        losses.append(float(loss.detach()))
    timed = sorted(seconds[a.warmup:])
    mid = len(timed) // 2
    median = timed[mid] if len(timed) % 2 else (timed[mid - 1] + timed[mid]) / 2
    print(json.dumps({"side": "pytorch", "precision": "bf16-autocast" if a.autocast == "bf16" else "fp32",
                      "layers": cfg.num_hidden_layers, "hidden": cfg.hidden_size, "vocab": cfg.vocab_size,
                      "sequences": a.sequences, "length": a.length, "rank": a.rank, "alpha": a.alpha,
                      "lora_targets": targets, "warmup": a.warmup, "step_seconds": seconds, "loss": losses,
                      "median_step_s": median, "sequences_per_s": a.sequences / median, "load_s": load_s,
                      "threads": torch.get_num_threads(), "peak_rss_mib": peak_rss_mib(),
                      "trainable_parameters": sum(p.numel() for p in params),
                      "versions": {"torch": torch.__version__, "transformers": __import__("transformers").__version__,
                                   "peft": __import__("peft").__version__}}, sort_keys=True))


if __name__ == "__main__":
    main()
