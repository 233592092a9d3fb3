"""A tiny synthetic checkpoint in jina-embeddings-v3's original release layout + per-task references.

    HF_HUB_OFFLINE=1 cache/venv/bin/python scripts/reference/make_jina_fixtures.py

No real jina weights exist here: everything is random (fixed seed). Writes Tests/Fixtures/jina-v3/:

  config.json        the original release's config fields (model_type xlm-roberta, position_embedding_type
                     rotary, rotary_emb_base 20000, lora_adaptations (5 tasks), lora_rank 4, lora_alpha 1,
                     lora_dropout_p 0, task_instructions, ...) at a tiny shape: vocab 100, H 64, 2 layers,
                     4 heads of 16, FFN 128, type_vocab 1, pad 1, eps 1e-5
  model.safetensors  F32, names as XLMRobertaLoRA's state_dict (torch parametrize):
                     roberta.embeddings.word_embeddings.parametrizations.weight.original      (V, H)
                     roberta.embeddings.word_embeddings.parametrizations.weight.0.lora_A      (T, V, r)
                     roberta.embeddings.word_embeddings.parametrizations.weight.0.lora_B      (T, r, H)
                     (same for token_type_embeddings), roberta.emb_ln.{weight,bias},
                     roberta.encoder.layers.N.{mixer.Wqkv, mixer.out_proj, mlp.fc1, mlp.fc2}
                        .parametrizations.weight.original (out, in), ….weight.0.lora_A (T, r, in),
                        ….weight.0.lora_B (T, out, r), .bias
                     roberta.encoder.layers.N.{norm1,norm2}.{weight,bias},
                     roberta.pooler.dense (LoRA-parametrized like every nn.Linear) .bias
  expected/index.json   tasks, sequences (raw token ids, bos 0 … eos 2), what each file is
  expected/base.npy     (N, H) no adapter
  expected/task_{t}.npy (N, H) task t: every LoRA merged by hand (W + s·B[t]·A[t], E + s·A[t]·B[t], s = alpha/r)
                        and the merged weights run by transformers' JinaEmbeddingsV3Model (q_proj/k_proj/v_proj
                        = rows Q|K|V of Wqkv, o_proj, fc1, fc2, post_attention_layernorm, post_mlp_layernorm),
                        float64, eager attention, RoPE base 20000 (cos/sin in float64), mean pooling, L2 normalize.
"""
import json
import os
import shutil

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch
from safetensors.numpy import save_file

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(REPO, "Tests", "Fixtures", "jina-v3")

TASKS = ["retrieval.query", "retrieval.passage", "separation", "classification", "text-matching"]
INSTRUCTIONS = {
    "retrieval.query": "Represent the query for retrieving evidence documents: ",
    "retrieval.passage": "Represent the document for retrieval: ",
    "separation": "",
    "classification": "",
    "text-matching": "",
}
V, H, L, HEADS, F, TYPES, R, ALPHA = 100, 64, 2, 4, 128, 1, 4, 1.0
THETA = 20000.0


def main():
    rng = np.random.default_rng(4242)
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(os.path.join(OUT, "expected"))
    T = len(TASKS)

    def normal(*shape, std=1.0):
        return (std * rng.standard_normal(shape)).astype(np.float32)

    tensors = {}
    base = {}  # jina module -> (weight, bias or None)
    lora = {}  # jina module -> (A stacked, B stacked, kind)

    def linear(name, out_f, in_f, lora_std=0.15):
        w = normal(out_f, in_f, std=1 / np.sqrt(in_f))
        b = normal(out_f, std=0.1)
        a = normal(T, R, in_f, std=lora_std)
        bb = normal(T, out_f, R, std=lora_std)
        p = "roberta." + name
        tensors[p + ".parametrizations.weight.original"] = w
        tensors[p + ".parametrizations.weight.0.lora_A"] = a
        tensors[p + ".parametrizations.weight.0.lora_B"] = bb
        tensors[p + ".bias"] = b
        base[name] = (w, b)
        lora[name] = (a, bb, "linear")

    def embedding(name, rows):
        e = normal(rows, H, std=0.5)
        a = normal(T, rows, R, std=0.3)
        bb = normal(T, R, H, std=0.3)
        p = "roberta." + name
        tensors[p + ".parametrizations.weight.original"] = e
        tensors[p + ".parametrizations.weight.0.lora_A"] = a
        tensors[p + ".parametrizations.weight.0.lora_B"] = bb
        base[name] = (e, None)
        lora[name] = (a, bb, "embedding")

    def norm(name):
        w = (1 + 0.2 * rng.standard_normal(H)).astype(np.float32)
        b = normal(H, std=0.1)
        tensors["roberta." + name + ".weight"] = w
        tensors["roberta." + name + ".bias"] = b
        base[name] = (w, b)

    embedding("embeddings.word_embeddings", V)
    embedding("embeddings.token_type_embeddings", TYPES)
    norm("emb_ln")
    for l in range(L):
        p = "encoder.layers.%d." % l
        linear(p + "mixer.Wqkv", 3 * H, H)
        linear(p + "mixer.out_proj", H, H)
        norm(p + "norm1")
        linear(p + "mlp.fc1", F, H)
        linear(p + "mlp.fc2", H, F)
        norm(p + "norm2")
    linear("pooler.dense", H, H)
    save_file(tensors, os.path.join(OUT, "model.safetensors"), metadata={"format": "pt"})
    os.chmod(os.path.join(OUT, "model.safetensors"), 0o644)  # save_file creates it 0600

    config = {
        "architectures": ["XLMRobertaLoRA"],
        "attention_probs_dropout_prob": 0.1,
        "bos_token_id": 0,
        "classifier_dropout": None,
        "emb_pooler": None,
        "eos_token_id": 2,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": H,
        "initializer_range": 0.02,
        "intermediate_size": F,
        "layer_norm_eps": 1e-05,
        "load_trained_adapters": True,
        "lora_adaptations": TASKS,
        "lora_alpha": ALPHA,
        "lora_dropout_p": 0.0,
        "lora_main_params_trainable": False,
        "lora_rank": R,
        "matryoshka_dimensions": [16, 32, 64],
        "max_position_embeddings": 66,
        "model_type": "xlm-roberta",
        "num_attention_heads": HEADS,
        "num_hidden_layers": L,
        "pad_token_id": 1,
        "position_embedding_type": "rotary",
        "rotary_emb_base": THETA,
        "task_instructions": INSTRUCTIONS,
        "torch_dtype": "float32",
        "truncate_dim": None,
        "type_vocab_size": TYPES,
        "use_cache": True,
        "use_flash_attn": True,
        "vocab_size": V,
    }
    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")

    seqs = []
    for n in (4, 9, 15, 22):
        seqs.append([0] + [int(x) for x in rng.integers(3, V, size=n - 2)] + [2])

    model = reference_model()
    index = {"tasks": TASKS, "sequences": seqs, "rotary_emb_base": THETA, "scale": ALPHA / R,
             "files": {"base.npy": "no adapter", **{"task_%d.npy" % t: TASKS[t] for t in range(T)}},
             "pooling": "mean over real tokens, then L2 normalize; float64 reference saved as float32"}
    np.save(os.path.join(OUT, "expected", "base.npy"), run(model, merged(base, lora, None), seqs))
    for t in range(T):
        np.save(os.path.join(OUT, "expected", "task_%d.npy" % t), run(model, merged(base, lora, t), seqs))
    with open(os.path.join(OUT, "expected", "index.json"), "w") as f:
        json.dump(index, f, indent=1)
    total = sum(os.path.getsize(os.path.join(d, x)) for d, _, fs in os.walk(OUT) for x in fs)
    print("wrote", OUT, total, "bytes")


def merged(base, lora, t):
    """Weights of one task with its LoRA merged, in float64, under the jina module names."""
    s = ALPHA / R
    out = {}
    for name, (w, b) in base.items():
        w = w.astype(np.float64)
        if t is not None and name in lora:
            a, bb, kind = lora[name]
            a, bb = a[t].astype(np.float64), bb[t].astype(np.float64)
            w = w + s * (a @ bb if kind == "embedding" else bb @ a)
        out[name] = (w, None if b is None else b.astype(np.float64))
    return out


def reference_model():
    from transformers import JinaEmbeddingsV3Config, JinaEmbeddingsV3Model
    from transformers.models.jina_embeddings_v3 import modeling_jina_embeddings_v3 as mj

    def forward(self, x, position_ids):  # cos/sin in float64 for a float64 model
        dim = self.config.hidden_size // self.config.num_attention_heads
        inv = 1.0 / (THETA ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
        freqs = position_ids[..., None].to(torch.float64) * inv
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos(), emb.sin()

    mj.JinaEmbeddingsV3RotaryEmbedding.forward = forward
    cfg = JinaEmbeddingsV3Config(vocab_size=V, hidden_size=H, num_hidden_layers=L, num_attention_heads=HEADS,
                                 intermediate_size=F, max_position_embeddings=66, type_vocab_size=TYPES,
                                 layer_norm_eps=1e-5, hidden_act="gelu", pad_token_id=1, bos_token_id=0,
                                 eos_token_id=2, rope_parameters={"rope_type": "default", "rope_theta": THETA},
                                 attn_implementation="eager")
    return JinaEmbeddingsV3Model(cfg, add_pooling_layer=False).double().eval()


def run(model, w, seqs):
    sd = {}
    t = lambda x: torch.from_numpy(x)
    sd["embeddings.word_embeddings.weight"] = t(w["embeddings.word_embeddings"][0])
    sd["embeddings.token_type_embeddings.weight"] = t(w["embeddings.token_type_embeddings"][0])
    sd["embeddings.LayerNorm.weight"], sd["embeddings.LayerNorm.bias"] = map(t, w["emb_ln"])
    for l in range(L):
        p, q = "encoder.layers.%d." % l, "layers.%d." % l
        qkv_w, qkv_b = w[p + "mixer.Wqkv"]
        for i, part in enumerate(("q_proj", "k_proj", "v_proj")):
            sd[q + "self_attn.%s.weight" % part] = t(qkv_w[i * H:(i + 1) * H].copy())
            sd[q + "self_attn.%s.bias" % part] = t(qkv_b[i * H:(i + 1) * H].copy())
        for src, dst in (("mixer.out_proj", "self_attn.o_proj"), ("mlp.fc1", "mlp.fc1"), ("mlp.fc2", "mlp.fc2"),
                         ("norm1", "post_attention_layernorm"), ("norm2", "post_mlp_layernorm")):
            sd[q + dst + ".weight"], sd[q + dst + ".bias"] = map(t, w[p + src])
    missing, unexpected = model.load_state_dict(sd, strict=False)
    assert not unexpected, unexpected
    assert all("position_ids" in m or "inv_freq" in m for m in missing), missing
    outs = []
    with torch.no_grad():
        for s in seqs:  # one sequence at a time: no padding at all
            ids = torch.tensor([s])
            h = model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state[0]
            m = h.mean(0)
            outs.append((m / m.norm()).numpy())
    return np.stack(outs).astype(np.float32)


if __name__ == "__main__":
    main()
