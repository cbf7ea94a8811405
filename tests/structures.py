"""Canary files whose *structure* carries personal data: names of columns, tables, members, keys.

Each file puts synthetic people (Faker, seeded) where a reader turns them into
identifiers rather than cell values:

- ``first_row.csv``: no header; the first row is a person's record in words, so
  the header guess takes the full name, given name and surname for column names;
- ``keyed.json``: an object keyed by person (``"Jane Doe"``), e-mail and SSN,
  one column (or page) per key;
- ``members.zip``: members named ``smith_john_1980-02-01.csv`` (each a small
  list of people, so findings name the member);
- ``sheets.xlsx``: a sheet named after a person (holding people);
- ``deep.json``: a document nested too deep under a person's key, so the reader's
  error quotes the key path;
- ``drift.csv`` (two versions): a clean header, then a version whose header row
  is a person's record, so the drift finding lists old and new "columns".

``canaries`` holds every raw value (and digits-only forms) that must never
appear in anything leakmon writes or sends.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tests.synthetic import _People

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

__all__ = ["Structures", "write_structures"]


@dataclass
class Structures:
    """The canary files and the raw values they carry."""

    files: dict[str, Path] = field(default_factory=dict)
    drift_v2: Path | None = None
    canaries: set[str] = field(default_factory=set)

    def add_person(self, first: str, last: str, *values: str) -> None:
        """Record a person's raw values (and digits-only forms of numbers) as canaries."""
        self.canaries.add(f"{first} {last}")
        for value in values:
            self.canaries.add(value)
            digits = re.sub(r"\D", "", value)
            if len(digits) >= 7 and "@" not in value:
                self.canaries.add(digits)


def write_structures(folder: Path, seed: int = 7) -> Structures:
    """Write every canary structure into ``folder``; return them with their canaries."""
    from openpyxl import Workbook

    folder.mkdir(parents=True, exist_ok=True)
    people = _People(seed)
    out = Structures()

    def person() -> tuple[str, str, str, str, str]:
        p = people.person()
        out.add_person(p.first, p.last, p.dob.isoformat(), p.phone, p.email)
        return p.first, p.last, p.dob.isoformat(), p.phone, p.email

    # A headerless file whose first row is a person's record, all of it words, so the
    # header guess takes it for labels.
    buf = io.StringIO()
    writer = csv.writer(buf)
    first, last, *_ = person()
    writer.writerow([f"{first} {last}", first, last, "Kern"])
    for n in range(40):
        _, _, _, phone, email = person()
        writer.writerow([f"case {n}", phone, email, "Kern"])
    out.files["first_row.csv"] = _write(folder / "first_row.csv", buf.getvalue())

    # JSON keyed by person, by e-mail and by SSN.
    keyed: dict[str, object] = {}
    for n in range(12):
        first, last, _, _, email = person()
        ssn = f"{900 + n}-{10 + n:02d}-{1000 + n * 37:04d}"  # 9xx: never issued
        out.canaries.update({ssn, ssn.replace("-", "")})
        keyed[f"{first} {last}"] = {"visits": n, "status": "open"}
        keyed[email] = {"visits": n + 1, "status": "closed"}
        keyed[ssn] = {"visits": n + 2, "status": "open"}
    out.files["keyed.json"] = _write(folder / "keyed.json", json.dumps({"cases": keyed}))

    # ZIP members named after people; their contents are harmless counts.
    zpath = folder / "members.zip"
    with zipfile.ZipFile(zpath, "w") as archive:
        for _ in range(6):
            first, last, dob, _, _ = person()
            name = f"records/{last.lower()}_{first.lower()}_{dob}.csv"
            archive.writestr(name, _people_csv(person, 25))
    out.files["members.zip"] = zpath

    # A workbook with a sheet named after a person.
    book = Workbook(write_only=True)
    first, last, *_ = person()
    sheet = book.create_sheet(f"{first} {last}")
    sheet.append(["Name", "Date of Birth", "Email"])
    for _ in range(25):
        a, b, dob, _, email = person()
        sheet.append([f"{a} {b}", dob, email])
    out.files["sheets.xlsx"] = folder / "sheets.xlsx"
    book.save(out.files["sheets.xlsx"])

    # A document nested too deep under a person's key: the reader's error quotes the path.
    first, last, dob, _, email = person()
    deep: object = {"x": 1}
    for _ in range(80):
        deep = {"n": deep}
    out.files["deep.json"] = _write(
        folder / "deep.json", json.dumps({"people": {email: {f"{first} {last}": deep}}})
    )

    # Drift: a clean header, then a version whose header row is a person's record.
    v1 = io.StringIO()
    csv.writer(v1).writerows(
        [["county", "year", "count"], *[["Kern", str(2000 + i), str(i)] for i in range(30)]]
    )
    out.files["drift.csv"] = _write(folder / "drift.csv", v1.getvalue())
    v2 = io.StringIO()
    first, last, *_ = person()
    rows = [[f"{first} {last}", first, last, "Kern"]]
    for n in range(30):
        _, _, _, phone, email = person()
        rows.append([f"case {n}", phone, email, "Kern"])
    csv.writer(v2).writerows(rows)
    out.drift_v2 = _write(folder / "drift_v2.csv", v2.getvalue())
    return out


def _people_csv(person: Callable[[], tuple[str, str, str, str, str]], rows: int) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["name", "date_of_birth", "email"])
    for _ in range(rows):
        first, last, dob, _, email = person()
        writer.writerow([f"{first} {last}", dob, email])
    return buf.getvalue()


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
