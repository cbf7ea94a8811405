"""Small valid files of every format the readers accept: the seeds that fuzzing mutates.

Each is a few rows of synthetic people, so that a mutation lands in structure
(headers, tags, object syntax, ZIP records) as often as in data.
"""

from __future__ import annotations

import functools
import io
import json
import tempfile
import zipfile
from pathlib import Path

import openpyxl

from tests.readers.test_pdf import _pdf, _ruled_table, _text
from tests.readers.test_spreadsheet import _ods

ROWS = [
    ["Name", "Email", "Phone", "Date of Birth"],
    ["Ann Example", "ann@example.com", "555-0100", "1980-01-02"],
    ["Bob Example", "bob@example.com", "555-0101", "1975-12-30"],
    ["Cy Example", "cy@example.com", "555-0102", "1990-07-15"],
]

#: (file name, bytes) per reader kind.
Seed = tuple[str, bytes]


def _csv(sep: str = ",", quote: bool = False) -> bytes:
    def cell(value: str) -> str:
        return f'"{value}"' if quote else value

    return "".join(sep.join(cell(c) for c in row) + "\r\n" for row in ROWS).encode()


def _xlsx() -> bytes:
    workbook = openpyxl.Workbook()
    workbook.active.title = "People"
    for row in ROWS:
        workbook.active.append(row)
    hidden = workbook.create_sheet("Raw")
    hidden.sheet_state = "hidden"
    hidden.append(["id", "note"])
    hidden.append([1, "call Ann on 555-0100"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def _records() -> list[dict[str, object]]:
    return [dict(zip(ROWS[0], row, strict=True)) for row in ROWS[1:]]


def _html() -> bytes:
    head = "<tr>" + "".join(f"<th>{c}</th>" for c in ROWS[0]) + "</tr>"
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in ROWS[1:])
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>t</title></head><body>'
        f'<table id="people"><caption>Staff</caption>{head}{body}</table>'
        f'<table><tr><td colspan="2">a</td><td rowspan="2">b</td></tr><tr><td>c</td></tr></table>'
        f"</body></html>"
    ).encode()


@functools.cache
def seeds() -> dict[str, tuple[Seed, ...]]:
    """Return the seed files per reader kind (built once per process)."""
    records = _records()
    with tempfile.TemporaryDirectory(prefix="leakmon-seeds-") as tmp:
        folder = Path(tmp)
        pdf_table = _pdf(folder / "t.pdf", [_ruled_table(ROWS)]).read_bytes()
        pdf_text = _pdf(
            folder / "p.pdf", [_text(72, 750, "Ann Example ann@example.com"), _text(72, 700, "2")]
        ).read_bytes()
        ods = _ods(folder / "s.ods", ROWS).read_bytes()
    return {
        "csv": (("people.csv", _csv()), ("people.tsv", _csv("\t", quote=True))),
        "spreadsheet": (("people.xlsx", _xlsx()), ("people.ods", ods)),
        "json": (
            ("people.json", json.dumps({"data": records, "meta": {"n": 3}}).encode()),
            ("rows.json", json.dumps([ROWS[0], *ROWS[1:]]).encode()),
            (
                "points.geojson",
                json.dumps(
                    {
                        "type": "FeatureCollection",
                        "features": [
                            {"type": "Feature", "properties": r, "geometry": None} for r in records
                        ],
                    }
                ).encode(),
            ),
        ),
        "ndjson": (("people.ndjson", b"".join(json.dumps(r).encode() + b"\n" for r in records)),),
        "zip": (
            (
                "bundle.zip",
                _zip({"people.csv": _csv(), "people.json": json.dumps(records).encode()}),
            ),
            ("nested.zip", _zip({"inner.zip": _zip({"people.csv": _csv()}), "readme.txt": b"x"})),
        ),
        "pdf": (("table.pdf", pdf_table), ("text.pdf", pdf_text)),
        "html": (("people.html", _html()),),
    }
