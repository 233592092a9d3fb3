"""Tiny random encoders + float64 reference outputs for Swift parity tests.

    HF_HUB_OFFLINE=1 cache/venv/bin/python scripts/reference/make_tiny_fixtures.py [--only bert,xlmr,rotary]

Writes (deterministic; fixed seeds):
  Tests/Fixtures/tiny-bert/    BertModel        vocab 120, H 32, 2 layers, 4 heads, FFN 64, max_pos 40, type_vocab 2, eps 1e-12
      config.json, model.safetensors (F32), model-bf16.safetensors (BF16),
      expected/       reference of model.safetensors
      expected-bf16/  reference of the bf16-rounded weights (= model-bf16.safetensors upcast exactly to f32)
  Tests/Fixtures/tiny-xlmr/    XLMRobertaModel  vocab 120, pad 1 (positions 2..), max_pos 42, type_vocab 1, eps 1e-5
      config.json, model.safetensors, expected/
  Tests/Fixtures/tiny-rotary/  JinaEmbeddingsV3Model  vocab 120, H 32, 2 layers, 4 heads, FFN 64, pad 1, eps 1e-5
      config.json (rope_theta 20000, the jina v3 default), config-base10000.json (same but rope_theta 10000),
      model.safetensors, expected-base10000/, expected-base20000/

Each expected folder holds index.json (shapes, padding, ids) and float32 .npy files:
  input_ids.json                  list of the unpadded sequences (specials included)
  batch_input_ids.npy (int32)     (N, T) right-padded batch fed to the model
  attention_mask.npy (int32)      (N, T)
  last_hidden_state_{i}.npy       (L_i, H)             real tokens of sequence i
  hidden_states_{i}.npy           (layers+1, L_i, H)   embeddings output, then every layer output
  mean_normalized.npy             (N, H)   attention-mask mean pool, then L2 normalize
  cls_normalized.npy              (N, H)   token 0, L2 normalized
  mean_trunc16_normalized.npy     (N, 16)  mean pool, first 16 dims, then L2 normalize
All references are computed with the model in float64 (model.double(), eager attention) and saved as
float32. For the rotary model cos/sin are also computed in float64 (transformers computes them in float32
even for a float64 model; we patch that so the reference has no float32 noise).
"""
import argparse
import json
import math
import os
import shutil

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch
from safetensors.torch import save_file

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIX = os.path.join(REPO, "Tests", "Fixtures")

LENGTHS = [3, 9, 17]


def randomize_(model, seed):
    """Overwrite every parameter with non-trivial random values (HF init leaves biases 0 and LayerNorm 1/0)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            shape = p.shape
            if "LayerNorm" in name or "layernorm" in name or "layer_norm" in name:
                if name.endswith("weight"):
                    v = 1.0 + 0.2 * torch.randn(shape, generator=g, dtype=torch.float64)
                else:
                    v = 0.1 * torch.randn(shape, generator=g, dtype=torch.float64)
            elif name.endswith("bias"):
                v = 0.1 * torch.randn(shape, generator=g, dtype=torch.float64)
            elif "embeddings" in name:
                v = 0.5 * torch.randn(shape, generator=g, dtype=torch.float64)
            else:  # linear weight [out, in]
                v = torch.randn(shape, generator=g, dtype=torch.float64) / math.sqrt(shape[1])
            p.copy_(v.to(p.dtype))


def make_inputs(seed, bos, eos, lo):
    g = np.random.default_rng(seed)
    seqs = []
    for L in LENGTHS:
        body = g.integers(lo, 120, size=L - 2).tolist()
        seqs.append([bos] + body + [eos])
    return seqs


def pad_batch(seqs, pad):
    T = max(len(s) for s in seqs)
    ids = np.full((len(seqs), T), pad, dtype=np.int64)
    mask = np.zeros((len(seqs), T), dtype=np.int64)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = s
        mask[i, :len(s)] = 1
    return ids, mask


def f32(x):
    return np.ascontiguousarray(x.detach().cpu().numpy().astype(np.float32))


@torch.no_grad()
def run_reference(model, seqs, pad, outdir, extra_index):
    model = model.double().eval()
    ids, mask = pad_batch(seqs, pad)
    out = model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
                output_hidden_states=True, return_dict=True)
    hs = out.hidden_states
    n_layers = model.config.num_hidden_layers
    assert len(hs) == n_layers + 1, len(hs)
    last = out.last_hidden_state
    assert torch.equal(hs[-1], last)

    os.makedirs(outdir, exist_ok=True)
    for f in os.listdir(outdir):
        os.remove(os.path.join(outdir, f))
    m = torch.from_numpy(mask).to(torch.float64).unsqueeze(-1)
    mean = (last * m).sum(1) / m.sum(1)
    mean_n = torch.nn.functional.normalize(mean, dim=-1)
    cls_n = torch.nn.functional.normalize(last[:, 0], dim=-1)
    t16 = torch.nn.functional.normalize(mean[:, :16], dim=-1)
    files = {}
    max_single_diff = 0.0
    for i, s in enumerate(seqs):
        L = len(s)
        np.save(os.path.join(outdir, "last_hidden_state_%d.npy" % i), f32(last[i, :L]))
        np.save(os.path.join(outdir, "hidden_states_%d.npy" % i), f32(torch.stack([h[i, :L] for h in hs])))
        files["last_hidden_state_%d.npy" % i] = [L, last.shape[-1]]
        files["hidden_states_%d.npy" % i] = [n_layers + 1, L, last.shape[-1]]
        # padding must not matter: rerun unpadded
        single = model(input_ids=torch.tensor([s]), attention_mask=torch.ones(1, L, dtype=torch.long)).last_hidden_state
        max_single_diff = max(max_single_diff, (single[0] - last[i, :L]).abs().max().item())
    np.save(os.path.join(outdir, "mean_normalized.npy"), f32(mean_n))
    np.save(os.path.join(outdir, "cls_normalized.npy"), f32(cls_n))
    np.save(os.path.join(outdir, "mean_trunc16_normalized.npy"), f32(t16))
    np.save(os.path.join(outdir, "batch_input_ids.npy"), ids.astype(np.int32))
    np.save(os.path.join(outdir, "attention_mask.npy"), mask.astype(np.int32))
    files.update({"mean_normalized.npy": [len(seqs), last.shape[-1]],
                  "cls_normalized.npy": [len(seqs), last.shape[-1]],
                  "mean_trunc16_normalized.npy": [len(seqs), 16],
                  "batch_input_ids.npy": list(ids.shape), "attention_mask.npy": list(mask.shape)})
    with open(os.path.join(outdir, "input_ids.json"), "w") as f:
        json.dump(seqs, f)
    index = {
        "input_ids": "input_ids.json",
        "lengths": [len(s) for s in seqs],
        "padding": {"side": "right", "pad_token_id": pad, "padded_length": int(ids.shape[1]),
                    "attention_mask": "1 for real tokens, 0 for padding"},
        "token_type_ids": "all zeros",
        "dtype_saved": "float32 (computed in float64)",
        "hidden_states": "index 0 = embeddings output (after embedding LayerNorm), index k = output of layer k",
        "pooling": {
            "mean_normalized": "sum(last_hidden_state * mask) / sum(mask), then L2 normalize",
            "cls_normalized": "last_hidden_state[:, 0], then L2 normalize",
            "mean_trunc16_normalized": "mean pool (unnormalized), keep dims [0, 16), then L2 normalize",
        },
        "files": files,
        "check_max_abs_diff_padded_vs_unpadded": max_single_diff,
    }
    index.update(extra_index)
    with open(os.path.join(outdir, "index.json"), "w") as f:
        json.dump(index, f, indent=2)
    print("  %s: padded-vs-unpadded max diff %.3g" % (os.path.relpath(outdir, REPO), max_single_diff))


def clean_dir(d):
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)


def write_config(model, folder, name="config.json", **over):
    cfg = model.config.to_dict()
    for k in ("transformers_version", "_name_or_path", "_attn_implementation_autoset", "dtype", "torch_dtype",
              "output_hidden_states", "return_dict", "_commit_hash"):
        cfg.pop(k, None)
    cfg["torch_dtype"] = "float32"
    cfg.update(over)
    with open(os.path.join(folder, name), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)


def save_weights(model, path, dtype=torch.float32):
    sd = {k: v.detach().to(dtype).contiguous() for k, v in model.state_dict().items()
          if not k.endswith("position_ids") and not k.endswith("token_type_ids")}
    save_file(sd, path, metadata={"format": "pt"})
    return sorted(sd)


def verify_load(cls, folder, n_expected, weights="model.safetensors", **kw):
    from safetensors.torch import load_file
    model = cls.from_pretrained(folder, attn_implementation="eager", **kw)
    sd = load_file(os.path.join(folder, weights))
    ms = model.state_dict()
    for k, v in sd.items():
        assert torch.equal(ms[k].float(), v.float()), k
    assert len(sd) == n_expected
    return model


def build_bert():
    from transformers import BertConfig, BertModel
    folder = os.path.join(FIX, "tiny-bert")
    clean_dir(folder)
    torch.manual_seed(1234)
    cfg = BertConfig(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=64, max_position_embeddings=40, type_vocab_size=2, layer_norm_eps=1e-12,
                     hidden_act="gelu", pad_token_id=0, attn_implementation="eager")
    model = BertModel(cfg, add_pooling_layer=False)
    randomize_(model, 1001)
    model.eval()
    write_config(model, folder, architectures=["BertModel"])
    names = save_weights(model, os.path.join(folder, "model.safetensors"))
    save_weights(model, os.path.join(folder, "model-bf16.safetensors"), torch.bfloat16)
    seqs = make_inputs(11, bos=2, eos=3, lo=5)
    meta = {"model": "tiny-bert BertModel (no pooler)", "special_ids": {"cls": 2, "sep": 3, "pad": 0},
            "positions": "0 .. L-1", "weights": "model.safetensors"}
    m = verify_load(BertModel, folder, len(names), add_pooling_layer=False)
    run_reference(m, seqs, 0, os.path.join(folder, "expected"), meta)
    # BF16: reference from bf16-rounded weights
    mb = BertModel(cfg, add_pooling_layer=False)
    with torch.no_grad():
        for k, v in model.state_dict().items():
            mb.state_dict()[k].copy_(v.to(torch.bfloat16).to(torch.float32) if v.is_floating_point() else v)
    from safetensors.torch import load_file
    for k, v in load_file(os.path.join(folder, "model-bf16.safetensors")).items():
        assert v.dtype == torch.bfloat16 and torch.equal(v.float(), mb.state_dict()[k]), k
    meta_b = dict(meta, weights="model-bf16.safetensors (BF16; reference uses exactly these values upcast)")
    run_reference(mb, seqs, 0, os.path.join(folder, "expected-bf16"), meta_b)
    return names


def build_xlmr():
    from transformers import XLMRobertaConfig, XLMRobertaModel
    folder = os.path.join(FIX, "tiny-xlmr")
    clean_dir(folder)
    torch.manual_seed(1234)
    cfg = XLMRobertaConfig(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                           intermediate_size=64, max_position_embeddings=42, type_vocab_size=1, layer_norm_eps=1e-5,
                           hidden_act="gelu", pad_token_id=1, bos_token_id=0, eos_token_id=2,
                           attn_implementation="eager")
    model = XLMRobertaModel(cfg, add_pooling_layer=False)
    randomize_(model, 2002)
    model.eval()
    write_config(model, folder, architectures=["XLMRobertaModel"])
    names = save_weights(model, os.path.join(folder, "model.safetensors"))
    seqs = make_inputs(22, bos=0, eos=2, lo=4)
    meta = {"model": "tiny-xlmr XLMRobertaModel (no pooler)", "special_ids": {"bos": 0, "pad": 1, "eos": 2},
            "positions": "pad_token_id + 1 + i = 2 .. L+1 for real tokens (padding tokens get position 1)",
            "weights": "model.safetensors"}
    m = verify_load(XLMRobertaModel, folder, len(names), add_pooling_layer=False)
    run_reference(m, seqs, 1, os.path.join(folder, "expected"), meta)
    return names


def patch_rotary_float64():
    """transformers computes inv_freq/cos/sin in float32; make them float64 when the model is float64."""
    from transformers.models.jina_embeddings_v3 import modeling_jina_embeddings_v3 as mj

    def forward(self, x, position_ids):
        if x.dtype != torch.float64:
            return orig(self, x, position_ids)
        base = self.config.rope_parameters["rope_theta"]
        dim = self.config.hidden_size // self.config.num_attention_heads
        inv = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
        freqs = position_ids[..., None].to(torch.float64) * inv
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos(), emb.sin()

    orig = mj.JinaEmbeddingsV3RotaryEmbedding.forward
    if not getattr(orig, "_patched", False):
        forward._patched = True
        mj.JinaEmbeddingsV3RotaryEmbedding.forward = forward


def build_rotary():
    from transformers import JinaEmbeddingsV3Config, JinaEmbeddingsV3Model
    patch_rotary_float64()
    folder = os.path.join(FIX, "tiny-rotary")
    clean_dir(folder)
    torch.manual_seed(1234)

    def mkcfg(theta):
        return JinaEmbeddingsV3Config(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                      intermediate_size=64, max_position_embeddings=64, type_vocab_size=1,
                                      layer_norm_eps=1e-5, hidden_act="gelu", pad_token_id=1, bos_token_id=0,
                                      eos_token_id=2, rope_parameters={"rope_type": "default", "rope_theta": theta},
                                      attn_implementation="eager")

    model = JinaEmbeddingsV3Model(mkcfg(20000.0), add_pooling_layer=False)
    randomize_(model, 3003)
    model.eval()
    write_config(model, folder, architectures=["JinaEmbeddingsV3Model"])
    names = save_weights(model, os.path.join(folder, "model.safetensors"))
    m10 = JinaEmbeddingsV3Model(mkcfg(10000.0), add_pooling_layer=False)
    m10.load_state_dict(model.state_dict())
    write_config(m10, folder, name="config-base10000.json", architectures=["JinaEmbeddingsV3Model"])
    seqs = make_inputs(33, bos=0, eos=2, lo=4)
    for theta, m in ((10000, m10), (20000, None)):
        if m is None:
            m = verify_load(JinaEmbeddingsV3Model, folder, len(names), add_pooling_layer=False)
            assert m.config.rope_parameters["rope_theta"] == 20000.0
        meta = {"model": "tiny-rotary JinaEmbeddingsV3Model (no pooler, no LoRA)",
                "special_ids": {"bos": 0, "pad": 1, "eos": 2},
                "rope": {"rope_theta": theta, "rope_type": "default", "head_dim": 8,
                         "inv_freq": "1 / theta^(2j/head_dim), j = 0..head_dim/2-1",
                         "layout": "rotate_half over the full head dim: q*cos + rotate_half(q)*sin, "
                                   "cos/sin = cat(freqs, freqs); applied to q and k after the projections",
                         "position_ids": "0 .. T-1 (arange over the padded length; no padding offset)"},
                "no_absolute_positions": True,
                "weights": "model.safetensors with config.json (theta 20000) or config-base10000.json"}
        run_reference(m, seqs, 1, os.path.join(folder, "expected-base%d" % theta), meta)
    return names


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="bert,xlmr,rotary")
    args = ap.parse_args()
    torch.set_num_threads(1)
    todo = args.only.split(",")
    if "bert" in todo:
        print("tiny-bert"); build_bert()
    if "xlmr" in todo:
        print("tiny-xlmr"); build_xlmr()
    if "rotary" in todo:
        print("tiny-rotary"); names = build_rotary()
        print("  weights:", names)


if __name__ == "__main__":
    main()
