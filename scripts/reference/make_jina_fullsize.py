"""A full-size random jina-embeddings-v3 in both on-disk layouts, and float64 references for it.

    HF_HUB_OFFLINE=1 cache/venv/bin/python scripts/reference/make_jina_fullsize.py [--out cache/jina-v3-full]

No real jina weights exist here. This builds transformers' native `JinaEmbeddingsV3Model` at the
release shape (JinaEmbeddingsV3Config() defaults: vocab 250,002, hidden 1024, 24 layers, 16 heads,
FFN 4096, one token type, eps 1e-5, with the pooler), fills every parameter with non-trivial random
values (seed fixed), and writes (about 3.5 GB, outside the repository):

  native/config.json, native/model.safetensors     the native layout, float32 (q_proj, k_proj, v_proj, ...)
  native/expected-base{10000,20000}/               float64 references on a padded batch of 3 sequences
                                                   (5, 64 and 200 tokens): every hidden state, mean/cls
                                                   pooled + normalized (same files as Tests/Fixtures/tiny-rotary)
  release/config.json, release/model.safetensors   the original release layout (XLMRobertaLoRA names,
                                                   fused Wqkv, five stacked rank-4 LoRAs with random non-zero
                                                   values, the pooler with its LoRA), bfloat16

`scripts/jina-fullsize.sh` runs this, then the Swift parity test and `tasklora inspect` on it.
"""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_tiny_fixtures import patch_rotary_float64, randomize_, run_reference, save_weights, write_config  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TASKS = ["retrieval.query", "retrieval.passage", "separation", "classification", "text-matching"]
INSTRUCTIONS = {
    "retrieval.query": "Represent the query for retrieving evidence documents: ",
    "retrieval.passage": "Represent the document for retrieval: ",
    "separation": "", "classification": "", "text-matching": "",
}
LENGTHS = [5, 64, 200]
RANK, ALPHA = 4, 1.0


def log(msg, t0=[time.time()]):
    print("[%6.1f s] %s" % (time.time() - t0[0], msg), flush=True)


def release_tensors(sd, cfg, g):
    """The native state dict renamed and fused into the release layout, with random stacked LoRAs (bf16)."""
    T, r = len(TASKS), RANK
    out = {}

    def lora(prefix, out_f, in_f, embedding=False):
        if embedding:  # A (T, V, r), B (T, r, H)
            a = 0.1 * torch.randn(T, out_f, r, generator=g)
            b = 0.1 * torch.randn(T, r, in_f, generator=g)
        else:          # A (T, r, in), B (T, out, r)
            a = torch.randn(T, r, in_f, generator=g) / in_f ** 0.5
            b = 0.05 * torch.randn(T, out_f, r, generator=g)
        out[prefix + ".parametrizations.weight.0.lora_A"] = a
        out[prefix + ".parametrizations.weight.0.lora_B"] = b

    H, F = cfg.hidden_size, cfg.intermediate_size
    for name, rows in (("word_embeddings", cfg.vocab_size), ("token_type_embeddings", cfg.type_vocab_size)):
        p = "roberta.embeddings." + name
        out[p + ".parametrizations.weight.original"] = sd["embeddings.%s.weight" % name]
        lora(p, rows, H, embedding=True)
    out["roberta.emb_ln.weight"] = sd["embeddings.LayerNorm.weight"]
    out["roberta.emb_ln.bias"] = sd["embeddings.LayerNorm.bias"]
    for l in range(cfg.num_hidden_layers):
        n, p = "layers.%d." % l, "roberta.encoder.layers.%d." % l
        qkv = [sd[n + "self_attn.%s_proj.weight" % x] for x in "qkv"]
        out[p + "mixer.Wqkv.parametrizations.weight.original"] = torch.cat(qkv, 0)
        out[p + "mixer.Wqkv.bias"] = torch.cat([sd[n + "self_attn.%s_proj.bias" % x] for x in "qkv"], 0)
        lora(p + "mixer.Wqkv", 3 * H, H)
        for src, dst, o, i in (("self_attn.o_proj", "mixer.out_proj", H, H), ("mlp.fc1", "mlp.fc1", F, H),
                               ("mlp.fc2", "mlp.fc2", H, F)):
            out[p + dst + ".parametrizations.weight.original"] = sd[n + src + ".weight"]
            out[p + dst + ".bias"] = sd[n + src + ".bias"]
            lora(p + dst, o, i)
        for src, dst in (("post_attention_layernorm", "norm1"), ("post_mlp_layernorm", "norm2")):
            out[p + dst + ".weight"] = sd[n + src + ".weight"]
            out[p + dst + ".bias"] = sd[n + src + ".bias"]
    out["roberta.pooler.dense.parametrizations.weight.original"] = sd["pooler.dense.weight"]
    out["roberta.pooler.dense.bias"] = sd["pooler.dense.bias"]
    lora("roberta.pooler.dense", H, H)
    return {k: v.to(torch.bfloat16).contiguous() for k, v in out.items()}


def release_config(cfg):
    return {
        "architectures": ["XLMRobertaLoRA"], "model_type": "xlm-roberta",
        "attention_probs_dropout_prob": 0.1, "hidden_dropout_prob": 0.1, "classifier_dropout": None,
        "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1, "emb_pooler": None, "hidden_act": "gelu",
        "hidden_size": cfg.hidden_size, "initializer_range": 0.02, "intermediate_size": cfg.intermediate_size,
        "layer_norm_eps": 1e-05, "load_trained_adapters": True, "lora_adaptations": TASKS, "lora_alpha": ALPHA,
        "lora_dropout_p": 0.0, "lora_main_params_trainable": False, "lora_rank": RANK,
        "matryoshka_dimensions": [32, 64, 128, 256, 512, 768, 1024], "max_position_embeddings": 8194,
        "num_attention_heads": cfg.num_attention_heads, "num_hidden_layers": cfg.num_hidden_layers,
        "position_embedding_type": "rotary", "rotary_emb_base": 20000.0, "task_instructions": INSTRUCTIONS,
        "torch_dtype": "bfloat16", "truncate_dim": None, "type_vocab_size": cfg.type_vocab_size,
        "use_cache": True, "use_flash_attn": True, "vocab_size": cfg.vocab_size,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.environ.get("TASKLORA_CACHE", os.path.join(REPO, "cache")),
                                                  "jina-v3-full"))
    ap.add_argument("--release-only", action="store_true",
                    help="write only the release layout (bf16), no native folder and no float64 references "
                         "(what the memory measurement of scripts/jina-fullsize.sh --memory needs)")
    args = ap.parse_args()
    from transformers import JinaEmbeddingsV3Config, JinaEmbeddingsV3Model
    patch_rotary_float64()
    torch.manual_seed(2409)
    cfg = JinaEmbeddingsV3Config(rope_parameters={"rope_type": "default", "rope_theta": 20000.0},
                                 attn_implementation="eager")
    assert (cfg.vocab_size, cfg.hidden_size, cfg.num_hidden_layers, cfg.num_attention_heads,
            cfg.intermediate_size, cfg.type_vocab_size) == (250002, 1024, 24, 16, 4096, 1)
    model = JinaEmbeddingsV3Model(cfg, add_pooling_layer=True)
    count = sum(p.numel() for p in model.parameters())
    log("built JinaEmbeddingsV3Model: %d parameters" % count)
    assert count == 559_364_096, count
    randomize_(model, 10173)
    model.eval()
    log("randomized")

    native = os.path.join(args.out, "native")
    release = os.path.join(args.out, "release")
    os.makedirs(release, exist_ok=True)
    if not args.release_only:
        os.makedirs(native, exist_ok=True)
        write_config(model, native, architectures=["JinaEmbeddingsV3Model"])
        save_weights(model, os.path.join(native, "model.safetensors"))
        log("wrote %s (float32)" % native)

    sd = {k: v.detach() for k, v in model.state_dict().items()}
    rel = release_tensors(sd, cfg, torch.Generator().manual_seed(5))
    save_file(rel, os.path.join(release, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(release, "config.json"), "w") as f:
        json.dump(release_config(cfg), f, indent=2)
        f.write("\n")
    del rel, sd
    log("wrote %s (bfloat16, five stacked adapters)" % release)
    if args.release_only:
        return

    g = np.random.default_rng(8192)
    seqs = [[0] + g.integers(4, cfg.vocab_size, size=n - 2).tolist() + [2] for n in LENGTHS]
    for theta in (20000.0, 10000.0):
        model.config.rope_parameters["rope_theta"] = theta
        model.rotary_emb.config.rope_parameters["rope_theta"] = theta
        meta = {"model": "full-size random JinaEmbeddingsV3Model (seed 10173, make_jina_fullsize.py)",
                "rope": {"rope_theta": theta, "head_dim": 64}, "special_ids": {"bos": 0, "pad": 1, "eos": 2}}
        run_reference(model, seqs, 1, os.path.join(native, "expected-base%d" % int(theta)), meta)
        log("reference at base %d" % int(theta))


if __name__ == "__main__":
    main()
