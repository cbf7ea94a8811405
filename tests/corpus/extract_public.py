"""Rebuild ``tests/corpus/public/`` from git mirrors of the repositories named in labels.json.

Each real file's ``source`` gives the repository, the commit, the path and the
extract rule. This script applies the rule and nothing else, so anyone with the
same repositories cloned can check that a committed file is the cut it claims to be:

    python -m tests.corpus.extract_public MIRRORS [KEY ...]

where ``MIRRORS/<owner>+<name>/repo`` is a (bare) clone of each repository. Rules:

- ``whole``: the file byte for byte;
- ``header + first N records``: the header line and the first N CSV records, cut at a
  record boundary (quoted fields may span lines), bytes otherwise unchanged;
- ``first N of M records``: a JSON list (or a FeatureCollection's ``features``) cut to
  its first N items and written back with two-space indentation, UTF-8 kept.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
LABELS = HERE / "labels.json"


def _blob(mirrors: Path, repo: str, commit: str, path: str) -> bytes:
    git_dir = mirrors / repo.replace("/", "+") / "repo"
    return subprocess.run(
        ["git", "--git-dir", str(git_dir), "show", f"{commit}:{path}"],
        check=True,
        capture_output=True,
    ).stdout


def _first_records(data: bytes, n: int) -> bytes:
    """Return the header and the first ``n`` CSV records, cut where record n+1 starts."""
    text = data.decode("utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "latin-1")
    lines = text.splitlines(keepends=True)
    reader = csv.reader(io.StringIO(text, newline=""))
    # Count physical lines per record so the cut keeps the original bytes of each line.
    used = 0
    for kept, _ in enumerate(reader, start=1):
        if kept > n + 1:
            break
        used = reader.line_num
    cut = "".join(lines[:used])
    raw = cut.encode("utf-8" if data.startswith(b"\xef\xbb\xbf") else "latin-1")
    return (b"\xef\xbb\xbf" if data.startswith(b"\xef\xbb\xbf") else b"") + raw


def _first_items(data: bytes, n: int) -> bytes:
    doc = json.loads(data)
    if isinstance(doc, dict) and isinstance(doc.get("features"), list):
        doc["features"] = doc["features"][:n]
    elif isinstance(doc, list):
        doc = doc[:n]
    else:
        raise ValueError("JSON extract needs a list or a FeatureCollection")
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode()


def extract(data: bytes, rule: str) -> bytes:
    """Apply one extract rule (see the module docstring) to a file's bytes."""
    if rule.startswith("whole"):
        return data
    m = re.match(r"header \+ first (\d+) (?:records|lines)", rule)
    if m:
        return _first_records(data, int(m.group(1)))
    m = re.match(r"first (\d+) of [\d,]+ (?:records|features)", rule)
    if m:
        return _first_items(data, int(m.group(1)))
    raise ValueError(f"unknown extract rule {rule!r}")


def main(argv: list[str]) -> int:
    """Write every public/* file of labels.json (or only the keys given) from the mirrors."""
    mirrors, keys = Path(argv[0]), set(argv[1:])
    labels = json.loads(LABELS.read_text())
    for key, label in labels.items():
        if not key.startswith("public/") or (keys and key not in keys):
            continue
        src = label["source"]
        data = _blob(mirrors, src["repository"], src["commit"], src["path"])
        out = HERE / key
        out.parent.mkdir(exist_ok=True)
        out.write_bytes(extract(data, src["extract"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
