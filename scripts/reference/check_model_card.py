#!/usr/bin/env python3
"""Check the model cards (README.md) that `tasklora export --format hf|peft` writes.

    python scripts/reference/check_model_card.py --hf DIR [--peft DIR] [--expect-task NAME] [--expect-dims 32,64]

For each folder: the YAML front matter parses and has the keys its library's own cards have
(hf: base_model, library_name sentence-transformers, pipeline_tag sentence-similarity, tags, language;
peft: base_model, library_name peft); huggingface_hub reads it as card data; every ```python block
of the card runs as written (offline) and exits 0. Prints one line per check; exit status 1 on the
first failure.
"""
import argparse
import os
import re
import subprocess
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import yaml
from huggingface_hub import ModelCard


def fail(message):
    print("FAIL " + message)
    sys.exit(1)


def check(folder, library, expect_task, expect_dims):
    text = open(os.path.join(folder, "README.md"), encoding="utf-8").read()
    match = re.match(r"---\n(.*?)\n---\n", text, re.S)
    if not match:
        fail(f"{folder}: README.md has no YAML front matter")
    meta = yaml.safe_load(match.group(1))
    for key in ["base_model", "library_name", "pipeline_tag", "tags", "language"]:
        if key not in meta:
            fail(f"{folder}: front matter lacks {key}")
    if meta["library_name"] != library:
        fail(f"{folder}: library_name {meta['library_name']!r}, expected {library!r}")
    if library == "sentence-transformers" and meta["pipeline_tag"] != "sentence-similarity":
        fail(f"{folder}: pipeline_tag {meta['pipeline_tag']!r}")
    if expect_task and expect_task not in meta["tags"]:
        fail(f"{folder}: tags {meta['tags']} lack the task {expect_task}")
    card = ModelCard.load(os.path.join(folder, "README.md"))
    if card.data.to_dict().get("library_name") != library:
        fail(f"{folder}: huggingface_hub reads library_name {card.data.to_dict().get('library_name')!r}")
    if "## Training" not in text or "```yaml" not in text:
        fail(f"{folder}: no training section with the resolved recipe")
    for d in expect_dims:
        if f"dim {d}" not in text:
            fail(f"{folder}: no dev result at dim {d}")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    if not blocks:
        fail(f"{folder}: no python usage snippet")
    for i, code in enumerate(blocks):
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
        if run.returncode != 0:
            fail(f"{folder}: snippet {i + 1} failed:\n{run.stderr[-2000:]}")
        print(f"ok {folder}: snippet {i + 1} ran: {run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ''}")
    print(f"ok {folder}: front matter {sorted(meta)}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hf")
    ap.add_argument("--peft")
    ap.add_argument("--expect-task")
    ap.add_argument("--expect-dims", default="")
    a = ap.parse_args()
    dims = [d for d in a.expect_dims.split(",") if d]
    if a.hf:
        check(a.hf, "sentence-transformers", a.expect_task, dims)
    if a.peft:
        check(a.peft, "peft", a.expect_task, dims)


if __name__ == "__main__":
    main()
