"""A tiny random JinaEmbeddingsV3Model saved by the installed transformers' save_pretrained, with references.

    HF_HUB_OFFLINE=1 cache/venv/bin/python scripts/reference/make_jina_saved_fixture.py [--out DIR]

Without --out it writes the committed fixture Tests/Fixtures/jina-v3-saved/ (made with transformers 5.25.0,
whose save_pretrained writes the release's module names without LoRA: emb_ln.*, encoder.layers.N.mixer.Wqkv,
mixer.out_proj, mlp.fc1/fc2, norm1/norm2, pooler.dense). ExportTests-style live checks call it with --out on a
scratch folder, so the test always sees the layout that the installed transformers writes, whatever it is.

Writes (deterministic; fixed seeds):
  config.json, model.safetensors   exactly what JinaEmbeddingsV3Model.save_pretrained wrote (float32, with the
                                   pooler): vocab 120, H 48, 2 layers, 4 heads of 12, FFN 80, pad 1, eps 1e-5,
                                   rope_theta 20000
  expected/                        the make_tiny_fixtures.py reference files (index.json, input_ids.json,
                                   hidden_states_{i}.npy, last_hidden_state_{i}.npy, mean_normalized.npy, ...),
                                   computed in float64 by the model that from_pretrained loads back from the
                                   folder (checked equal to the model that was saved); index.json also names the
                                   transformers version and the tensor names it wrote.
"""
import argparse
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_tiny_fixtures import FIX, clean_dir, make_inputs, patch_rotary_float64, randomize_, run_reference  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(FIX, "jina-v3-saved"))
    args = ap.parse_args()
    torch.set_num_threads(1)

    import transformers
    from safetensors import safe_open
    from transformers import JinaEmbeddingsV3Config, JinaEmbeddingsV3Model
    transformers.logging.set_verbosity_error()
    patch_rotary_float64()

    clean_dir(args.out)
    cfg = JinaEmbeddingsV3Config(vocab_size=120, hidden_size=48, num_hidden_layers=2, num_attention_heads=4,
                                 intermediate_size=80, max_position_embeddings=64, type_vocab_size=1,
                                 layer_norm_eps=1e-5, hidden_act="gelu", pad_token_id=1, bos_token_id=0,
                                 eos_token_id=2, rope_parameters={"rope_type": "default", "rope_theta": 20000.0})
    torch.manual_seed(5005)
    model = JinaEmbeddingsV3Model(cfg)  # with the pooler, as the release has one
    randomize_(model, 5005)
    model.eval()
    model.save_pretrained(args.out)
    os.chmod(os.path.join(args.out, "model.safetensors"), 0o644)  # safetensors creates it 0600

    with safe_open(os.path.join(args.out, "model.safetensors"), "pt") as f:
        names = sorted(f.keys())
    loaded = JinaEmbeddingsV3Model.from_pretrained(args.out, attn_implementation="eager")
    saved = model.state_dict()
    for k, v in loaded.state_dict().items():
        assert torch.equal(v, saved[k]), "from_pretrained does not give back " + k
    meta = {"model": "JinaEmbeddingsV3Model (with pooler, no LoRA) saved by save_pretrained",
            "transformers_version": transformers.__version__, "tensor_names": names,
            "special_ids": {"bos": 0, "pad": 1, "eos": 2}, "rope": {"rope_theta": 20000.0, "head_dim": 12},
            "weights": "model.safetensors as save_pretrained wrote it"}
    run_reference(loaded, make_inputs(55, bos=0, eos=2, lo=4), 1, os.path.join(args.out, "expected"), meta)
    print("transformers %s wrote %d tensors to %s, e.g. %s" % (transformers.__version__, len(names), args.out,
                                                              ", ".join(names[:3])))


if __name__ == "__main__":
    main()
