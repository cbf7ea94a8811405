"""Every reader survives invalid Unicode: the value is replaced, the row is still scanned.

A file of people (name, e-mail, notes) gets hostile text in random cells: lone
surrogates written as JSON escapes (``"\\ud83d"``, valid JSON), overlong UTF-8
forms, UTF-8-encoded surrogates (CESU), and stray Latin-1 or Windows-1252 bytes
in a UTF-8 file (mixed encodings). Whatever lands where, the file must read
completely: no error, every row counted, the e-mail column still found.

The default suite runs a small derandomized slice per reader; ``-m fuzz`` runs
many more examples.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.config import ScanConfig
from monitor.scan import scan_path

if TYPE_CHECKING:
    from pathlib import Path

ROWS = 40
CONFIG = ScanConfig(free_text_analysis=False)
#: Hostile text: JSON escapes (for JSON formats) and raw byte sequences (for all).
ESCAPES = ["\\ud83d", "\\udc00", "\\ud83d\\ud83d", "a\\udfffb", "\\ud800\\u0041"]
RAW = [
    b"\xc0\xaf",  # overlong "/"
    b"\xe0\x80\xaf",  # overlong "/" in three bytes
    b"\xf0\x80\x80\xaf",  # overlong in four bytes
    b"\xed\xa0\xbd",  # a UTF-8-encoded lone surrogate (CESU-8)
    b"\xed\xa0\xbd\xed\xb8\x80",  # a surrogate pair as CESU-8
    b"Jos\xe9",  # Latin-1 in a UTF-8 file
    b"\x93quoted\x94",  # Windows-1252 quotes
    b"\xff\xfe",
    b"\xf8\x88\x80\x80\x80",  # a five-byte form
]
FIRST = ["Maria", "James", "Linda", "Robert", "Patricia", "Michael", "Jennifer", "David"]
LAST = ["Garcia", "Johnson", "Martinez", "Robinson", "Clark", "Rodriguez", "Lewis", "Walker"]
KINDS = ["csv", "json", "ndjson", "geojson", "html", "zip"]


def _people() -> list[dict[str, str]]:
    return [
        {
            "name": f"{FIRST[i % 8]} {LAST[(i * 3) % 8]}",
            "email": f"{FIRST[i % 8].lower()}.{LAST[(i * 3) % 8].lower()}{i}@example.com",
            "note": f"visit {i}",
        }
        for i in range(ROWS)
    ]


def _mark(value: str, n: int) -> str:
    return f"{value}\x00HOSTILE{n}\x00"


def _encode(kind: str, rows: list[dict[str, str]]) -> bytes:
    if kind in ("csv", "zip"):
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=["name", "email", "note"])
        writer.writeheader()
        writer.writerows(rows)
        return buf.getvalue().encode()
    if kind == "json":
        return json.dumps({"records": rows}).encode()
    if kind == "ndjson":
        return "\n".join(json.dumps(r) for r in rows).encode()
    if kind == "geojson":
        features = [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [0, 0]},
                "properties": r,
            }
            for r in rows
        ]
        return json.dumps({"type": "FeatureCollection", "features": features}).encode()
    cells = "".join(
        "<tr>" + "".join(f"<td>{r[k]}</td>" for k in ("name", "email", "note")) + "</tr>"
        for r in rows
    )
    return (
        "<html><head><meta charset='utf-8'></head><body><table>"
        f"<tr><th>name</th><th>email</th><th>note</th></tr>{cells}</table></body></html>"
    ).encode()


def _hostile_file(folder: Path, kind: str, spots: list[tuple[int, str, Any]]) -> Path:
    rows = _people()
    injected: dict[int, bytes] = {}
    for n, (row, column, what) in enumerate(spots):
        rows[row % ROWS][column] = _mark(rows[row % ROWS][column], n)
        injected[n] = what
    data = _encode(kind, rows)
    json_like = kind in ("json", "ndjson", "geojson")
    for n, what in injected.items():
        marker = json.dumps(f"\x00HOSTILE{n}\x00")[1:-1].encode() if json_like else None
        marker = marker or f"\x00HOSTILE{n}\x00".encode()
        if isinstance(what, str):  # a JSON escape: only JSON formats can carry it as such
            what = what.encode() if json_like else b"\xed\xa0\xbd"
        data = data.replace(marker, what)
    name = "people." + ("csv" if kind == "zip" else kind)
    path = folder / name
    if kind == "zip":
        path = folder / "people.zip"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("people.csv", data)
    else:
        path.write_bytes(data)
    return path


def _check(folder: Path, kind: str, spots: list[tuple[int, str, Any]]) -> None:
    path = _hostile_file(folder, kind, spots)
    report = scan_path(path, CONFIG, source=f"https://portal.example/{path.name}")
    assert report.error is None, report.error
    assert report.rows >= ROWS, (report.rows, spots)
    entities = {f.entity for f in report.findings}
    assert "EMAIL_ADDRESS" in entities, (entities, spots)


SPOT = st.tuples(
    st.integers(0, ROWS - 1),
    st.sampled_from(["name", "note"]),
    st.one_of(st.sampled_from(ESCAPES), st.sampled_from(RAW)),
)
SPOTS = st.lists(SPOT, min_size=1, max_size=6)
QUICK = settings(
    max_examples=12,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
LONG = settings(
    max_examples=400,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("what", [*ESCAPES, *RAW], ids=repr)
def test_each_hostile_sequence_is_replaced_not_fatal(tmp_path: Path, kind: str, what: Any) -> None:
    _check(tmp_path, kind, [(3, "note", what), (7, "name", what)])


@pytest.mark.parametrize("kind", KINDS)
def test_fuzz_slice_per_reader(tmp_path: Path, kind: str) -> None:
    @QUICK
    @given(spots=SPOTS)
    def run(spots: list[tuple[int, str, Any]]) -> None:
        _check(tmp_path, kind, spots)

    run()


@pytest.mark.fuzz
@pytest.mark.parametrize("kind", KINDS)
def test_fuzz_long_run_per_reader(tmp_path: Path, kind: str) -> None:
    @LONG
    @given(spots=SPOTS)
    def run(spots: list[tuple[int, str, Any]]) -> None:
        _check(tmp_path, kind, spots)

    run()
