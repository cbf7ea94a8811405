"""Build the wider given-name and surname lists that ship in ``monitor/detect/data``.

The 1990 census lists (``build_name_lists.py``) miss names that became common later
and most names outside the US population of 1990. This script adds:

* ``given_names_extra.txt.gz``: given names from the US Social Security Administration's
  national baby-name files (``yobYYYY.txt``, births 1930-2020, public domain: a US
  government work) with at least ``--ssa-min`` births in those years (20,000 for names
  that are among the 5,000 commonest census surnames), then the first
  ``--ar-given`` names of RENAPER's historical given names of Argentina (datos.gob.ar,
  "Nombres de personas físicas", CC BY 4.0); names already in the census list, and
  words that are not names (UNKNOWN, BABY, MALE...) and everyday words of English,
  Spanish, Portuguese, Italian and French (spaCy's stop-word lists) are left out.
* ``surnames_extra.txt.gz``: the ``--ar-surnames`` most frequent surnames of Argentina
  (RENAPER, "Distribución de apellidos en Argentina", datos.gob.ar, CC BY 4.0), Spanish,
  Italian and other immigrant surnames the 1990 US list lacks.

One upper-case ASCII name per line, in source order (most frequent first). Usage::

    .venv/bin/python scripts/build_extra_names.py --ssa-dir DIR_OF_YOB_FILES
        --ar-given names.csv --ar-surnames-file lastnames.csv

The SSA files may be the original ``name,sex,count`` lines or the same records quoted
inside a list (as some mirrors store them); both are read. The RENAPER lists are the
one-name-per-line exports of the CC0 repository ``adrian-alejandro/nombres-arg``, whose
UTF-8 text was decoded once as Latin-1 (``ñ`` reads ``a±``); that is undone here.
"""

from __future__ import annotations

import argparse
import gzip
import importlib
import re
import unicodedata
from collections import Counter
from pathlib import Path

_OUT = Path(__file__).resolve().parent.parent / "monitor" / "detect" / "data"
_NOT_NAMES = frozenset(
    "UNKNOWN BABY BABYBOY BABYGIRL INFANT MALE FEMALE BOY GIRL TWIN NONE NAME NULL".split()
)
_COMMON_SURNAME_RANK = 5000
_SURNAME_AS_GIVEN_MIN = 20000
_SSA_RECORD = re.compile(r"([A-Za-z]+),([FM]),(\d+)")
# Mojibake of the RENAPER export: the second byte of each UTF-8 pair, after "a".
_MOJIBAKE = {"a±": "ñ", "a©": "é", "a¡": "á", "a³": "ó", "aº": "ú", "a­": "í", "a¼": "ü"}


def _ascii_upper(name: str) -> str:
    for bad, good in _MOJIBAKE.items():
        name = name.replace(bad, good)
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if c.isascii() and c.isalpha()).upper()


def _read_gz_names(path: Path) -> list[str]:
    return [line.split("\t")[0] for line in gzip.decompress(path.read_bytes()).decode().split("\n")]


def _stop_words() -> set[str]:
    """Return everyday words of the languages the lists cover (spaCy's stop-word lists, MIT)."""
    words: set[str] = set()
    for lang in ("en", "es", "pt", "it", "fr"):
        module = importlib.import_module(f"spacy.lang.{lang}.stop_words")
        words |= {_ascii_upper(w) for w in module.STOP_WORDS}
    return words


def _write(path: Path, names: list[str]) -> None:
    blob = ("\n".join(names) + "\n").encode("ascii")
    path.write_bytes(gzip.compress(blob, compresslevel=9, mtime=0))


def main() -> None:
    """Build both files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ssa-dir", type=Path, required=True)
    parser.add_argument("--ssa-min", type=int, default=200)
    parser.add_argument("--ar-given", type=Path, required=True)
    parser.add_argument("--ar-given-top", type=int, default=3000)
    parser.add_argument("--ar-surnames-file", type=Path, required=True)
    parser.add_argument("--ar-surnames", type=int, default=10000)
    args = parser.parse_args()
    census_first = set(_read_gz_names(_OUT / "first_names.txt.gz"))
    census_last = _read_gz_names(_OUT / "last_names.txt.gz")
    # A common surname is a given name only when many babies got it (Taylor, Scott),
    # not because a few hundred did (Smith, Jones): "Smith, Jones, Brown" is a list.
    common_surnames = set(census_last[:_COMMON_SURNAME_RANK])
    births: Counter[str] = Counter()
    for path in sorted(args.ssa_dir.glob("yob*.txt")):
        year = int(path.stem[3:])
        if 1930 <= year <= 2020:
            for name, _, count in _SSA_RECORD.findall(path.read_text()):
                births[name.upper()] += int(count)
    stop = _stop_words()
    given: list[str] = []
    seen = set(census_first) | _NOT_NAMES | stop
    ssa = sorted(
        (
            n
            for n, c in births.items()
            if c >= (_SURNAME_AS_GIVEN_MIN if n in common_surnames else args.ssa_min)
        ),
        key=lambda n: -births[n],
    )
    ar = args.ar_given.read_text(encoding="utf-8").split("\n")[: args.ar_given_top]
    for name in [*ssa, *(_ascii_upper(n) for n in ar)]:
        if len(name) > 1 and name not in seen:
            seen.add(name)
            given.append(name)
    surnames: list[str] = []
    seen = set(census_last) | _NOT_NAMES | stop
    for raw in args.ar_surnames_file.read_text(encoding="utf-8").split("\n")[: args.ar_surnames]:
        name = _ascii_upper(raw)
        if len(name) > 1 and name not in seen:
            seen.add(name)
            surnames.append(name)
    _write(_OUT / "given_names_extra.txt.gz", given)
    _write(_OUT / "surnames_extra.txt.gz", surnames)
    print(f"given names added: {len(given)}, surnames added: {len(surnames)}")


if __name__ == "__main__":
    main()
