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

from monitor.vizql.encode import encode_underlying_data
from monitor.vizql.envelope import write_envelope
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


def _vizql(path: Path) -> bytes:
    """Return a spooled VizQL full-data answer over the rows (a bootstrap segment first)."""
    boot = {"0": {"dataColumns": [{"dataType": "cstring", "dataValues": ["Overview", "%null%"]}]}}
    _, answer = encode_underlying_data(
        ROWS[0], ROWS[1:], session_segments=boot, aliases={"Name": {"Ann Example": "A. E."}}
    )
    write_envelope(
        path,
        mechanism="full_data",
        view="Staff/People",
        segments=boot,
        response=json.dumps(answer).encode(),
    )
    return path.read_bytes()


def _tableau_files() -> dict[str, tuple[Seed, ...]]:
    """Return seeds for the Tableau workbook readers (a real Hyper extract with the extra)."""
    from tests.readers.tableau_files import twb_xml, write_hyper, zip_bytes

    columns = [(f"c{i}", name) for i, name in enumerate(ROWS[0])]
    hyper = b"Hyper\x08\x00\x00" + bytes(4096)  # without the extra, only its signature
    try:
        import tableauhyperapi  # noqa: F401
    except ImportError:
        pass
    else:
        with tempfile.TemporaryDirectory(prefix="leakmon-seeds-") as tmp:
            hyper = write_hyper(
                Path(tmp) / "x.hyper", [c for c, _ in columns], ROWS[1:]
            ).read_bytes()
    twb = twb_xml("Staff", columns)
    tde = b"\x20\x02\x01\x62\xa0\x1e\xab\x07" + bytes(512)
    return {
        "twb": (("Book.twb", twb),),
        "twbx": (
            ("Book.twbx", zip_bytes({"Book.twb": twb, "Data/Extracts/people.hyper": hyper})),
            ("Book.twb", zip_bytes({"Book.twb": twb, "Data/Staff/people.csv": _csv()})),
        ),
        "hyper": (("people.hyper", hyper),),
        "tde": (("people.tde", tde),),
    }


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
        vizql = _vizql(folder / "full_data.vizql")
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
        "tableau-data": (("full_data.vizql", vizql),),
        **_tableau_files(),
    }
