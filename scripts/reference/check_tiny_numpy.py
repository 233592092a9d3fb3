"""Independent numpy (float64) forward pass of the tiny fixtures, compared against their expected/ folders.

    cache/venv/bin/python scripts/reference/check_tiny_numpy.py

No torch / transformers: reads config.json + safetensors and implements BERT, XLM-R and the jina-v3
rotary encoder from scratch, i.e. the same math the Swift side must implement. Prints the max abs
difference per fixture and exits non-zero above 1e-5.
"""
import json
import math
import os
import sys

import numpy as np
from safetensors.numpy import load_file

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIX = os.path.join(REPO, "Tests", "Fixtures")


def load_weights(path):
    try:
        w = load_file(path)
    except TypeError:  # bf16 not supported by numpy loader
        w = None
    if w is None or any(v.dtype == np.dtype("V2") for v in w.values()):
        from safetensors import safe_open
        import struct
        # manual bf16 reader
        with open(path, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            hdr = json.loads(f.read(n))
            data = f.read()
        w = {}
        for k, v in hdr.items():
            if k == "__metadata__":
                continue
            a, b = v["data_offsets"]
            raw = np.frombuffer(data[a:b], dtype="<u2").astype(np.uint32) << 16
            assert v["dtype"] == "BF16"
            w[k] = raw.view(np.float32).reshape(v["shape"])
    return {k: v.astype(np.float64) for k, v in w.items()}


def layer_norm(x, g, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def gelu(x):
    from scipy.special import erf
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def lin(x, w, b):
    return x @ w.T + b


def attention(q, k, v, nh, mask_row):
    T, H = q.shape
    hd = H // nh
    q = q.reshape(T, nh, hd).transpose(1, 0, 2)
    k = k.reshape(T, nh, hd).transpose(1, 0, 2)
    v = v.reshape(T, nh, hd).transpose(1, 0, 2)
    s = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
    s = s + np.where(mask_row[None, None, :] > 0, 0.0, -1e30)
    s = s - s.max(-1, keepdims=True)
    p = np.exp(s)
    p /= p.sum(-1, keepdims=True)
    return (p @ v).transpose(1, 0, 2).reshape(T, H)


def rope(x, nh, theta):
    T, H = x.shape
    hd = H // nh
    inv = 1.0 / theta ** (np.arange(0, hd, 2, dtype=np.float64) / hd)
    f = np.arange(T, dtype=np.float64)[:, None] * inv[None, :]
    emb = np.concatenate([f, f], -1)
    cos, sin = np.cos(emb)[:, None, :], np.sin(emb)[:, None, :]
    x = x.reshape(T, nh, hd)
    rot = np.concatenate([-x[..., hd // 2:], x[..., :hd // 2]], -1)
    return (x * cos + rot * sin).reshape(T, H)


def forward_bert_like(w, cfg, ids, mask, kind):
    eps, nh = cfg["layer_norm_eps"], cfg["num_attention_heads"]
    T = len(ids)
    if kind == "bert":
        pos = np.arange(T)
    else:  # xlmr: padding_idx + 1 + cumsum over non-pad tokens
        pad = cfg["pad_token_id"]
        notpad = (np.array(ids) != pad).astype(int)
        pos = np.cumsum(notpad) * notpad + pad
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][pos] \
        + w["embeddings.token_type_embeddings.weight"][0]
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    hs = [x]
    for l in range(cfg["num_hidden_layers"]):
        p = "encoder.layer.%d." % l
        g = lambda n: w[p + n]
        a = attention(lin(x, g("attention.self.query.weight"), g("attention.self.query.bias")),
                      lin(x, g("attention.self.key.weight"), g("attention.self.key.bias")),
                      lin(x, g("attention.self.value.weight"), g("attention.self.value.bias")), nh, mask)
        x = layer_norm(x + lin(a, g("attention.output.dense.weight"), g("attention.output.dense.bias")),
                       g("attention.output.LayerNorm.weight"), g("attention.output.LayerNorm.bias"), eps)
        h = gelu(lin(x, g("intermediate.dense.weight"), g("intermediate.dense.bias")))
        x = layer_norm(x + lin(h, g("output.dense.weight"), g("output.dense.bias")),
                       g("output.LayerNorm.weight"), g("output.LayerNorm.bias"), eps)
        hs.append(x)
    return hs


def forward_rotary(w, cfg, ids, mask):
    eps, nh = cfg["layer_norm_eps"], cfg["num_attention_heads"]
    theta = cfg["rope_parameters"]["rope_theta"]
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.token_type_embeddings.weight"][0]
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    hs = [x]
    for l in range(cfg["num_hidden_layers"]):
        g = lambda n: w["layers.%d.%s" % (l, n)]
        q = rope(lin(x, g("self_attn.q_proj.weight"), g("self_attn.q_proj.bias")), nh, theta)
        k = rope(lin(x, g("self_attn.k_proj.weight"), g("self_attn.k_proj.bias")), nh, theta)
        v = lin(x, g("self_attn.v_proj.weight"), g("self_attn.v_proj.bias"))
        a = attention(q, k, v, nh, mask)
        x = layer_norm(x + lin(a, g("self_attn.o_proj.weight"), g("self_attn.o_proj.bias")),
                       g("post_attention_layernorm.weight"), g("post_attention_layernorm.bias"), eps)
        h = gelu(lin(x, g("mlp.fc1.weight"), g("mlp.fc1.bias")))
        x = layer_norm(x + lin(h, g("mlp.fc2.weight"), g("mlp.fc2.bias")),
                       g("post_mlp_layernorm.weight"), g("post_mlp_layernorm.bias"), eps)
        hs.append(x)
    return hs


def check(folder, weights, config, expected, kind):
    cfg = json.load(open(os.path.join(folder, config)))
    w = load_weights(os.path.join(folder, weights))
    ex = os.path.join(folder, expected)
    ids = np.load(os.path.join(ex, "batch_input_ids.npy"))
    mask = np.load(os.path.join(ex, "attention_mask.npy"))
    worst = 0.0
    means = []
    for i in range(ids.shape[0]):
        L = int(mask[i].sum())
        if kind == "rotary":
            hs = forward_rotary(w, cfg, ids[i], mask[i])
        else:
            hs = forward_bert_like(w, cfg, ids[i], mask[i], kind)
        got = np.stack([h[:L] for h in hs])
        ref = np.load(os.path.join(ex, "hidden_states_%d.npy" % i))
        worst = max(worst, np.abs(got - ref).max())
        means.append(hs[-1][:L].mean(0))
    means = np.stack(means)
    mn = means / np.linalg.norm(means, axis=1, keepdims=True)
    worst = max(worst, np.abs(mn - np.load(os.path.join(ex, "mean_normalized.npy"))).max())
    t = means[:, :16] / np.linalg.norm(means[:, :16], axis=1, keepdims=True)
    worst = max(worst, np.abs(t - np.load(os.path.join(ex, "mean_trunc16_normalized.npy"))).max())
    print("%-12s %-24s %-22s %-20s max|numpy - expected| = %.2e" % (os.path.basename(folder), weights, config, expected, worst))
    return worst


def main():
    res = [
        check(os.path.join(FIX, "tiny-bert"), "model.safetensors", "config.json", "expected", "bert"),
        check(os.path.join(FIX, "tiny-bert"), "model-bf16.safetensors", "config.json", "expected-bf16", "bert"),
        check(os.path.join(FIX, "tiny-xlmr"), "model.safetensors", "config.json", "expected", "xlmr"),
        check(os.path.join(FIX, "tiny-rotary"), "model.safetensors", "config-base10000.json", "expected-base10000", "rotary"),
        check(os.path.join(FIX, "tiny-rotary"), "model.safetensors", "config.json", "expected-base20000", "rotary"),
    ]
    # different bases must give different outputs
    a = np.load(os.path.join(FIX, "tiny-rotary", "expected-base10000", "last_hidden_state_2.npy"))
    b = np.load(os.path.join(FIX, "tiny-rotary", "expected-base20000", "last_hidden_state_2.npy"))
    print("rotary base10000 vs base20000 max diff (must be > 0): %.3g" % np.abs(a - b).max())
    sys.exit(0 if max(res) < 1e-5 else 1)


if __name__ == "__main__":
    main()
