"""Whose data, card context, links, block ranges, compact dates, bare SSNs: rules and neighbours."""

from __future__ import annotations

import csv
import random
from typing import TYPE_CHECKING

import pytest
from faker import Faker

from monitor.models import Severity
from monitor.scan import scan_path

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from monitor.models import FileReport

ROWS = 120


def _csv(path: Path, header: Sequence[str] | None, rows: list[Sequence[object]]) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        if header:
            w.writerow(header)
        w.writerows(rows)
    return path


def _loud(report: FileReport, level: Severity = Severity.MEDIUM) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for f in report.findings:
        if f.severity >= level and f.column:
            out.setdefault(f.column, set()).add(f.entity)
    return out


def _fake(seed: int) -> tuple[Faker, random.Random]:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    return fake, random.Random(seed)


def _luhn(prefix: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(prefix)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return prefix + str((10 - total % 10) % 10)


def _animals(tmp: Path) -> Path:
    f, r = _fake(1)
    rows = [
        (f.first_name(), r.choice(["Dog", "Cat"]), "Mixed", f.date_of_birth().isoformat())
        for _ in range(ROWS)
    ]
    return _csv(tmp / "a.csv", ("Name", "Species", "Breed", "Date of Birth"), rows)


def _people_with_dob(tmp: Path) -> Path:
    f, r = _fake(1)
    rows = [
        (f.first_name(), f.last_name(), f.date_of_birth().isoformat(), r.choice(["A", "B"]))
        for _ in range(ROWS)
    ]
    return _csv(tmp / "p.csv", ("Name", "Surname", "Date of Birth", "Unit"), rows)


def _officials(tmp: Path) -> Path:
    f, r = _fake(2)
    titles = ["Speaker", "Majority Leader", "Assistant Majority Whip", "Member", "Member"]
    rows = [
        (f"{f.first_name()} {f.last_name()}", r.choice(titles), r.choice("DR"), r.randrange(99))
        for _ in range(ROWS)
    ]
    return _csv(tmp / "o.csv", ("Member", "Title", "Party", "District"), rows)


def _employees(tmp: Path) -> Path:
    f, r = _fake(2)
    titles = ["Police Officer", "Teacher", "Sergeant", "Laborer"]
    rows = [(f"{f.first_name()} {f.last_name()}", r.choice(titles), "Parks") for _ in range(ROWS)]
    return _csv(tmp / "e.csv", ("Name", "Title", "Department"), rows)


def _name_stats(tmp: Path) -> Path:
    f, r = _fake(3)
    rows = [(2020, f.first_name(), r.randrange(5, 900), i + 1) for i in range(ROWS)]
    return _csv(tmp / "n.csv", ("Year", "First Name", "Count", "Rank"), rows)


def _first_names_with_badges(tmp: Path) -> Path:
    f, r = _fake(3)
    rows = [(f.first_name(), f.last_name(), r.randrange(1000, 9999)) for _ in range(ROWS)]
    return _csv(tmp / "b.csv", ("First Name", "Last Name", "Badge"), rows)


def _cards_no_context(tmp: Path) -> Path:
    r = random.Random(4)
    rows = [
        (_luhn("".join(str(r.randrange(10)) for _ in range(15))), r.randrange(10**6))
        for _ in range(ROWS)
    ]
    return _csv(
        tmp / "c.csv",
        ("Account", "Amount"),
        [(f"{a[:4]} {a[4:8]} {a[8:12]} {a[12:]}", b) for a, b in rows],
    )


def _cards_with_header(tmp: Path) -> Path:
    f, r = _fake(4)
    rows = [
        (f.name(), _luhn("4" + "".join(str(r.randrange(10)) for _ in range(14))))
        for _ in range(ROWS)
    ]
    return _csv(tmp / "cc.csv", ("Cardholder", "Card Number"), rows)


def _links(tmp: Path) -> Path:
    r = random.Random(5)
    rows = [
        (f"https://data.example.gov/{r.randrange(100, 999)}-{r.randrange(10, 99)}-2021.pdf", "x")
        for _ in range(ROWS)
    ]
    return _csv(tmp / "l.csv", ("Link", "Note"), rows)


def _blocks(tmp: Path) -> Path:
    r = random.Random(6)
    rows = [
        (f"{(s := r.randrange(1, 90) * 100)} - {s + 99} BLOCK OF ELM ST", "THEFT")
        for _ in range(ROWS)
    ]
    return _csv(tmp / "k.csv", ("Location", "Offense"), rows)


def _headerless_people(tmp: Path) -> Path:
    f, r = _fake(7)
    rows = []
    for _ in range(ROWS):
        area = r.choice([a for a in range(1, 900) if a != 666])
        ssn = f"{area:03d}{r.randrange(1, 100):02d}{r.randrange(1, 10000):04d}"
        born = f.date_of_birth(minimum_age=18, maximum_age=80).strftime("%Y%m%d")
        rows.append((f.last_name().upper(), f.first_name().upper(), born, ssn))
    return _csv(tmp / "h.csv", None, rows)


def _headerless_events(tmp: Path) -> Path:
    r = random.Random(8)
    rows = [
        (202300001 + 3 * i, f"2023{1 + i // 28:02d}{1 + i % 28:02d}", r.choice("AB"))
        for i in range(ROWS)
    ]
    return _csv(tmp / "v.csv", None, rows)


@pytest.mark.parametrize(
    ("make", "column", "entity"),
    [
        (_people_with_dob, "Date of Birth", "DATE_OF_BIRTH"),
        (_employees, "Name", "PERSON"),
        (_first_names_with_badges, "First Name", "PERSON"),
        (_cards_with_header, "Card Number", "CREDIT_CARD"),
        (_headerless_people, "c3", "DATE_OF_BIRTH"),
        (_headerless_people, "c4", "US_SSN"),
        (_headerless_people, "c1", "PERSON"),
    ],
)
def test_people_are_still_found(
    tmp_path: Path, make: Callable[[Path], Path], column: str, entity: str
) -> None:
    report = scan_path(make(tmp_path))
    assert entity in _loud(report, Severity.HIGH).get(column, set()), report.findings


@pytest.mark.parametrize(
    "make",
    [_animals, _officials, _name_stats, _cards_no_context, _links, _blocks, _headerless_events],
)
def test_neighbours_raise_nothing_at_medium(tmp_path: Path, make: Callable[[Path], Path]) -> None:
    report = scan_path(make(tmp_path))
    assert _loud(report) == {}, report.findings


def test_header_with_an_underscore_cell_is_kept(tmp_path: Path) -> None:
    f, _ = _fake(9)
    rows = [(i, f.last_name(), f.first_name()) for i in range(ROWS)]
    report = scan_path(_csv(tmp_path / "u.csv", ("_", "name_last", "name_first"), rows))
    assert report.rows == ROWS
    assert {"name_last", "name_first"} <= set(_loud(report, Severity.HIGH))


def test_brazilian_cpf_numbers_are_national_ids(tmp_path: Path) -> None:
    fake = Faker("pt_BR")
    fake.seed_instance(10)
    rows = [(fake.name(), fake.cpf()) for _ in range(ROWS)]
    report = scan_path(_csv(tmp_path / "br.csv", ("nome", "cpf"), rows))
    assert "NATIONAL_ID" in _loud(report, Severity.HIGH)["cpf"]


def test_role_header_pages_a_column_with_59_percent_known_names(tmp_path: Path) -> None:
    f, r = _fake(11)
    rows = []
    for i in range(100):
        if i < 59:
            rows.append((f"{f.first_name()} {f.last_name()}", r.randrange(99)))
        else:  # names no list knows
            rows.append((f"Zq{f.lexify('????').lower()} Xv{f.lexify('?????').lower()}", 1))
    report = scan_path(_csv(tmp_path / "d.csv", ("Defendant", "Count"), rows))
    assert "PERSON" in _loud(report, Severity.HIGH).get("Defendant", set())


def test_contacts_with_a_fifth_of_organisations_and_few_names_are_not_people(
    tmp_path: Path,
) -> None:
    f, r = _fake(12)
    rows = []
    for i in range(500):
        if i % 5 == 0 and i % 25 != 0:  # 19.2% public bodies and firms
            name = r.choice([f"TOWN OF {f.city().upper()}", f"{f.last_name().upper()} INC."])
        elif i % 2 == 0:
            name = f"{f.first_name()} {f.last_name()}"
        else:
            name = r.choice(["Public Works", "Permits Desk", "Front Office", "Water Billing"])
        rows.append((name, f.phone_number()))
    report = scan_path(_csv(tmp_path / "c.csv", ("Contact", "Phone"), rows))
    assert "PERSON" not in _loud(report).get("Contact", set()), report.findings
