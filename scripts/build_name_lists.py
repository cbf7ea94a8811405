"""Build the name frequency lists that ship inside ``monitor/detect/data``.

The source is the US Census Bureau's 1990 name frequency tables (public domain),
as packaged by the PyPI project ``names`` (``dist.male.first``,
``dist.female.first``, ``dist.all.last``). The runtime never imports ``names``:
this script converts the tables once into small gzipped text files that are
committed to the repository, so a wheel works offline and the data is reviewable.

Run it from the repository root with the development virtualenv::

    .venv/bin/python scripts/build_name_lists.py

Output (deterministic, so a rebuild without source changes is byte-identical):

* ``first_names.txt.gz``: ``NAME<TAB>PERCENT`` per line, most frequent first, where
  PERCENT is the share of the whole population (male and female tables averaged).
* ``last_names.txt.gz``: the same for surnames, straight from ``dist.all.last``.
* ``common_words.txt``: census names that are also everyday English words (spaCy's
  English stop words plus a curated list below); the detector treats a name made
  only of such words, or a sentence starting with one, as ordinary prose.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import logging
from pathlib import Path

logger = logging.getLogger("build_name_lists")

_OUT_DIR = Path(__file__).resolve().parent.parent / "monitor" / "detect" / "data"

# Everyday words that are also census first names or surnames. A cell such as
# "Grant Park" or a sentence opening "Will Smith's report..." is prose first. Names
# that are mainly names (Amber, Ruby, Austin) stay out, or "Amber Hill" is lost.
_CURATED_COMMON = """
APRIL AUGUST JUNE MAY MARCH SUMMER AUTUMN WINTER SPRING DAWN DAY NIGHT MORNING
WHITE BLACK BROWN GREEN GRAY GREY GOLD SILVER RED BLUE ROSE STONE ROCK HILL HILLS
WOOD WOODS LAKE
RIVER BROOK BROOKS FIELD FIELDS FOREST MOUNTAIN SKY STORM RAIN SNOW STAR SUN MOON
FOX WOLF BIRD CRANE SWAN HAWK BEAR BUCK LAMB HOPE FAITH GRACE JOY CHARITY MERCY
PATIENCE HONOR TRUE LOYAL WILL MARK BILL GRANT CHASE CHANCE FRANK HUNTER PRICE
COOK NEW OLD YOUNG LONG SHORT SMALL GREAT GOOD BEST NORTH SOUTH EAST WEST HIGH
LOW LITTLE BIG FAIR FREE HAPPY RICH POOR WISE BRIGHT CLEAR SHARP STRONG SWEET
CHURCH HALL HOUSE PARK STREET BANK BANKS BRIDGE TOWER CASTLE COURT GATE GATES MILL
MILLS WELLS POOL PORT FORD GARDEN GARDENS ROYAL KING QUEEN PRINCE DUKE BISHOP POPE
KNIGHT MAJOR GENERAL JUSTICE LAW CASH PENNY ART DESTINY HARMONY HEAVEN ANGEL LOVE
SAGE SAINT PAGE WARD REED LANE WAY BELL BOND CROSS BURNS GUY SUE PAT RAY ROB JACK
GENE DEAN GAY SONNY SANDY DUSTY RUSTY LUCKY BUDDY SUNNY BUD HOME FIRE WATER STATE
UNION CENTER POWER LIGHT
"""


def _read_table(path: Path) -> list[tuple[str, float]]:
    """Return ``(name, percent)`` rows of one census table, in rank order."""
    rows: list[tuple[str, float]] = []
    for line in path.read_text(encoding="ascii").splitlines():
        parts = line.split()
        if len(parts) != 4:
            continue
        rows.append((parts[0], float(parts[1])))
    if not rows:
        raise SystemExit(f"no rows read from census table {path}")
    return rows


def _merge_first(
    male: list[tuple[str, float]], female: list[tuple[str, float]]
) -> list[tuple[str, float]]:
    """Average the two tables into population shares so one list ranks every first name."""
    share: dict[str, float] = {}
    for table in (male, female):
        for name, percent in table:
            share[name] = share.get(name, 0.0) + percent / 2
    # Ties keep a stable, alphabetical order so rebuilds are byte-identical.
    return sorted(share.items(), key=lambda item: (-item[1], item[0]))


def _write_gz(path: Path, rows: list[tuple[str, float]], decimals: int) -> None:
    """Write ``NAME<TAB>PERCENT`` lines, gzipped with a fixed mtime for reproducibility."""
    body = "".join(f"{name}\t{percent:.{decimals}f}\n" for name, percent in rows)
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(body.encode("ascii"))
    logger.info("wrote %s: %d names, %d bytes", path, len(rows), path.stat().st_size)


def _common_words(names: set[str]) -> list[str]:
    """Return the census names that are everyday English words."""
    from spacy.lang.en.stop_words import STOP_WORDS  # build-time only

    words = {w.upper() for w in STOP_WORDS} | set(_CURATED_COMMON.split())
    return sorted(w for w in words if w in names and w.isalpha())


def main() -> None:
    """Convert the census tables into the packaged data files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=_OUT_DIR, help="output directory")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    spec = importlib.util.find_spec("names")
    if spec is None or spec.origin is None:
        raise SystemExit("the 'names' package is needed to build the lists: pip install names")
    source = Path(spec.origin).parent
    male = _read_table(source / "dist.male.first")
    female = _read_table(source / "dist.female.first")
    last = _read_table(source / "dist.all.last")

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    first = _merge_first(male, female)
    _write_gz(out / "first_names.txt.gz", first, decimals=4)
    _write_gz(out / "last_names.txt.gz", last, decimals=3)

    common = _common_words({n for n, _ in first} | {n for n, _ in last})
    header = "# Census names that are also everyday English words; scripts/build_name_lists.py.\n"
    (out / "common_words.txt").write_text(header + "\n".join(common) + "\n", encoding="ascii")
    logger.info("wrote %s: %d words", out / "common_words.txt", len(common))


if __name__ == "__main__":
    main()
