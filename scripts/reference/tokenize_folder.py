"""Token ids that transformers gives for tokenizer folders, for ExportTests.

    python scripts/reference/tokenize_folder.py TEXTS.json OUT.json FOLDER...

Loads each FOLDER with `AutoTokenizer.from_pretrained` (what sentence-transformers does) and writes
{FOLDER: {"class": the tokenizer's class name, "ids": one list of ids per text of TEXTS.json (a JSON
list of strings), special tokens included, no truncation}}.
"""
import json
import sys

from transformers import AutoTokenizer


def main():
    texts_path, out_path, folders = sys.argv[1], sys.argv[2], sys.argv[3:]
    with open(texts_path, encoding="utf-8") as f:
        texts = json.load(f)
    out = {}
    for folder in folders:
        tok = AutoTokenizer.from_pretrained(folder)
        out[folder] = {"class": type(tok).__name__, "ids": [tok(t, truncation=False)["input_ids"] for t in texts]}
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
