"""Fills the repository's data/ folder with the public data sets the recipes, tests and docs read.

Called by scripts/get-data.sh (read that file for the options). For every file listed in
scripts/data/sources.tsv, in this order:
  1. data/PATH is already there with the right sha256: kept;
  2. the same file in the shared copy ($TASKLORA_SHARED_DATA, default ../shared/data beside the
     clone) is copied;
  3. otherwise it is downloaded from its upstream URL ($TASKLORA_DATA_UPSTREAM, default
     https://raw.githubusercontent.com; file:// works, for a local mirror).
Whatever the source, a file is written (atomically: temporary file, then rename) only when its
sha256 equals the one committed in sources.tsv; a mismatch is one line naming the file, both
checksums and where the bytes came from, and nothing is written. Exit status 1 when any file could
not be had, 0 otherwise.
"""
import hashlib
import json
import os
import sys
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def read_sources(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) != 4:
                sys.exit(f"get-data: {path}: line {number}: expected 4 tab-separated fields, found {len(fields)}")
            rows.append(fields)
    return rows


def transform(kind, raw):
    """The bytes to store for `raw` fetched from upstream (see the header of sources.tsv)."""
    if kind == "-":
        return raw
    if kind == "xquad-train":
        document = json.loads(raw)
        train = {"version": document.get("version", "1.1"), "data": document["data"][:32]}
        return json.dumps(train, ensure_ascii=False).encode("utf-8")
    raise ValueError(f"unknown transform {kind!r}")


def fetch(url, timeout):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def write_atomically(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = f"{path}.part-{os.getpid()}"
    with open(temporary, "wb") as f:
        f.write(data)
    os.replace(temporary, path)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def main():
    sources = os.environ.get("TASKLORA_DATA_SOURCES", os.path.join(HERE, "sources.tsv"))
    out = os.environ.get("TASKLORA_DATA", os.path.join(REPO, "data"))
    shared = os.environ.get("TASKLORA_SHARED_DATA", os.path.join(os.path.dirname(REPO), "shared", "data"))
    upstream = os.environ.get("TASKLORA_DATA_UPSTREAM", "https://raw.githubusercontent.com").rstrip("/")
    timeout = float(os.environ.get("TASKLORA_DATA_TIMEOUT", "30"))
    only = [p for p in sys.argv[1:] if p]

    counts = {"present": 0, "copied": 0, "downloaded": 0, "failed": 0}
    unreachable = None  # the first "cannot connect" error; later downloads are not tried
    for path, expected, url, kind in read_sources(sources):
        if only and not any(path == p or path.startswith(p.rstrip("/") + "/") for p in only):
            continue
        target = os.path.join(out, path)
        if os.path.isfile(target):
            with open(target, "rb") as f:
                if sha256(f.read()) == expected:
                    counts["present"] += 1
                    continue
            print(f"get-data: {target}: checksum differs from sources.tsv; fetching it again", file=sys.stderr)
        candidates = []
        local = os.path.join(shared, path)
        if os.path.isfile(local):
            candidates.append(("copied", local, lambda p=local: open(p, "rb").read()))
        remote = f"{upstream}/{url}"
        if unreachable is None:
            candidates.append(("downloaded", remote, lambda u=remote, k=kind: transform(k, fetch(u, timeout))))
        problems = []
        for how, origin, load in candidates:
            try:
                data = load()
            except Exception as error:  # network, file and JSON errors alike: try the next source
                problems.append(f"{origin}: {str(error).splitlines()[0] if str(error) else type(error).__name__}")
                if (how == "downloaded" and isinstance(error, urllib.error.URLError)
                        and not isinstance(error, urllib.error.HTTPError) and not remote.startswith("file:")):
                    unreachable = f"{upstream} unreachable ({error.reason})"
                continue
            got = sha256(data)
            if got != expected:
                problems.append(f"{origin}: sha256 {got}, expected {expected} (corrupted or changed upstream; not written)")
                continue
            write_atomically(target, data)
            counts[how] += 1
            break
        else:
            counts["failed"] += 1
            if not problems:
                problems = [f"not downloaded, {unreachable}"]
            print(f"get-data: data/{path}: " + "; ".join(problems), file=sys.stderr)

    print(f"get-data: {out}: {counts['present']} present, {counts['copied']} copied from {shared}, "
          f"{counts['downloaded']} downloaded, {counts['failed']} failed")
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
