"""Reproducible synthetic leak files for tests and benchmarks; no real person's data.

Every file generator writes one file into ``dir`` (created if missing) and returns its
path. Output depends only on the arguments (and the installed Faker version): Faker is
seeded with ``seed_instance`` and all other choices come from ``random.Random(seed)``. To
stay fast at 192,000 rows, Faker builds small pools of names, streets and sentences once,
and ``random`` combines them. Emails use the reserved ``example.*`` domains so that no
generated address can be real.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import itertools
import json
import random
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from faker import Faker

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

__all__ = [
    "CCW_COLUMNS",
    "CCW_PII_COLUMNS",
    "CCW_QUASI_COLUMNS",
    "ZIP_ROWLEVEL_MEMBER",
    "birth_dates_unlabelled_csv",
    "ccw_applicants_csv",
    "ccw_rows",
    "clean_aggregate_csv",
    "dob_zip_sex_csv",
    "geojson_points",
    "headerless_people_csv",
    "nested_json",
    "notes_with_names_and_phones_csv",
    "purchasers_workbook",
    "redacted_dob_csv",
    "ssn_needles_csv",
    "zip_hiding_rowlevel_csv",
]

CCW_COLUMNS = (
    "first_name",
    "last_name",
    "date_of_birth",
    "street",
    "city",
    "zip",
    "phone",
    "email",
    "license_type",
    "issue_date",
    "county",
)
#: Columns of the CCW file that identify a person on their own.
CCW_PII_COLUMNS = ("first_name", "last_name", "date_of_birth", "street", "phone", "email")
#: Columns that identify only in combination with others.
CCW_QUASI_COLUMNS = ("city", "zip")
#: Archive member of ``zip_hiding_rowlevel_csv`` that holds the row-level data.
ZIP_ROWLEVEL_MEMBER = "archive/2021/raw/ccw_applicants_2021.csv"

# Ages are computed against the day of the 2022 OpenJustice exposure, not today,
# so that a seed gives the same file in any year.
_REFERENCE_DAY = dt.date(2022, 6, 27)
_POOL_SIZE = 3000

# (city, county, first three ZIP digits): public geography, weighted by rough population.
_PLACES = (
    ("Los Angeles", "Los Angeles", "900", 12),
    ("Long Beach", "Los Angeles", "908", 3),
    ("Pasadena", "Los Angeles", "911", 2),
    ("San Diego", "San Diego", "921", 6),
    ("Escondido", "San Diego", "920", 2),
    ("San Jose", "Santa Clara", "951", 4),
    ("San Francisco", "San Francisco", "941", 3),
    ("Oakland", "Alameda", "946", 3),
    ("Concord", "Contra Costa", "945", 2),
    ("Sacramento", "Sacramento", "958", 4),
    ("Fresno", "Fresno", "937", 4),
    ("Bakersfield", "Kern", "933", 4),
    ("Anaheim", "Orange", "928", 3),
    ("Irvine", "Orange", "926", 3),
    ("Riverside", "Riverside", "925", 4),
    ("San Bernardino", "San Bernardino", "924", 4),
    ("Stockton", "San Joaquin", "952", 2),
    ("Modesto", "Stanislaus", "953", 2),
    ("Santa Rosa", "Sonoma", "954", 2),
    ("Salinas", "Monterey", "939", 1),
    ("Visalia", "Tulare", "932", 2),
    ("Ventura", "Ventura", "930", 2),
    ("Santa Barbara", "Santa Barbara", "931", 1),
    ("San Luis Obispo", "San Luis Obispo", "934", 1),
    ("Redding", "Shasta", "960", 2),
    ("Chico", "Butte", "959", 1),
    ("Eureka", "Humboldt", "955", 1),
    ("Placerville", "El Dorado", "956", 1),
    ("Auburn", "Placer", "956", 1),
    ("Napa", "Napa", "945", 1),
    ("El Centro", "Imperial", "922", 1),
    ("Susanville", "Lassen", "961", 1),
    ("Yreka", "Siskiyou", "960", 1),
    ("Sonora", "Tuolumne", "953", 1),
    ("Ukiah", "Mendocino", "954", 1),
    ("Bishop", "Inyo", "935", 1),
)
_COUNTIES = sorted({county for _, county, _, _ in _PLACES})
_AREA_CODES = (
    "209 213 310 323 408 415 424 510 530 559 562 619 626 650 657 661 707 714 760 805 818 831 "
    "858 909 916 925 949 951"
).split()
_LICENSE_TYPES = ("Standard", "Reserve", "Judge", "Custodial", "Employment", "Ninety-Day")
_LICENSE_WEIGHTS = (88, 3, 2, 3, 2, 2)
_EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
_CATEGORIES = ("Burglary", "Vandalism", "Theft", "Noise", "Traffic", "Trespass", "Welfare check")


@dataclass(frozen=True)
class _Person:
    first: str
    last: str
    dob: dt.date
    street: str
    city: str
    county: str
    zip: str
    phone: str
    email: str


def _faker(seed: int) -> Faker:
    faker = Faker("en_US")
    faker.seed_instance(seed)
    return faker


@functools.cache
def _pools(seed: int) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Return first names, last names and street names; cached because Faker is the slow part."""
    faker = _faker(seed)
    return (
        tuple(faker.first_name() for _ in range(_POOL_SIZE)),
        tuple(faker.last_name() for _ in range(_POOL_SIZE)),
        tuple(faker.street_name() for _ in range(_POOL_SIZE)),
    )


class _People:
    """Pools built once with Faker, combined with ``random`` into many people."""

    def __init__(self, seed: int) -> None:
        self.faker = _faker(seed)
        self.rng = random.Random(seed)
        self.first, self.last, self.streets = _pools(seed)
        self._places = [p[:3] for p in _PLACES]
        self._place_weights = list(itertools.accumulate(p[3] for p in _PLACES))

    def person(self, min_age: int = 21, max_age: int = 90) -> _Person:
        rng = self.rng
        first, last = rng.choice(self.first), rng.choice(self.last)
        city, county, zip3 = rng.choices(self._places, cum_weights=self._place_weights)[0]
        street = f"{rng.randint(1, 19999)} {rng.choice(self.streets)}"
        if rng.random() < 0.12:
            street += f" Apt {rng.randint(1, 400)}"
        return _Person(
            first=first,
            last=last,
            dob=self.birth_date(min_age, max_age),
            street=street,
            city=city,
            county=county,
            zip=f"{zip3}{rng.randint(1, 99):02d}",
            phone=self.phone(),
            email=self._email(first, last),
        )

    def birth_date(self, min_age: int = 21, max_age: int = 90) -> dt.date:
        """Return a birth date giving an age in ``min_age..max_age`` on the reference day."""
        ref = _REFERENCE_DAY
        earliest = ref.replace(year=ref.year - max_age - 1) + dt.timedelta(days=1)
        return self.day_between(earliest, ref.replace(year=ref.year - min_age))

    def phone(self) -> str:
        rng = self.rng
        area, exchange, line = rng.choice(_AREA_CODES), rng.randint(200, 999), rng.randint(0, 9999)
        if rng.random() < 0.5:
            return f"{area}-{exchange}-{line:04d}"
        return f"({area}) {exchange}-{line:04d}"

    def day_between(self, start: dt.date, end: dt.date) -> dt.date:
        return start + dt.timedelta(days=self.rng.randint(0, (end - start).days))

    def _email(self, first: str, last: str) -> str:
        rng = self.rng
        local = rng.choice((f"{first}.{last}", f"{first[0]}{last}", f"{first}_{last}", last))
        if rng.random() < 0.5:
            local += str(rng.randint(1, 99))
        return f"{local.lower()}@{rng.choice(_EMAIL_DOMAINS)}"


def _target(dir: Path | str, name: str) -> Path:
    directory = Path(dir)
    directory.mkdir(parents=True, exist_ok=True)
    return directory / name


def _write_csv(
    path: Path,
    header: Sequence[str] | None,
    rows: Iterable[Sequence[object]],
    quoting: int = csv.QUOTE_MINIMAL,
) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, quoting=quoting)
        if header is not None:
            writer.writerow(header)
        writer.writerows(rows)
    return path


def ccw_rows(rows: int | None = None, seed: int = 1) -> Iterator[tuple[str, ...]]:
    """Yield CCW applicant rows (``CCW_COLUMNS`` order), forever when ``rows`` is None."""
    people = _People(seed)
    rng = people.rng
    first_issue, last_issue = dt.date(2012, 1, 1), dt.date(2021, 12, 31)
    produced = 0
    while rows is None or produced < rows:
        p = people.person()
        license_type = rng.choices(_LICENSE_TYPES, weights=_LICENSE_WEIGHTS)[0]
        issued = people.day_between(first_issue, last_issue)
        yield (
            p.first,
            p.last,
            p.dob.isoformat(),
            p.street,
            p.city,
            p.zip,
            p.phone,
            p.email,
            license_type,
            issued.isoformat(),
            p.county,
        )
        produced += 1


def ccw_applicants_csv(dir: Path | str, rows: int = 192_000, seed: int = 1) -> Path:
    """Write the shape of the 2022 CCW exposure: one row per applicant (~29 MB at 192k).

    Every field is quoted, as in many portal exports.
    """
    path = _target(dir, "ccw_applicants.csv")
    return _write_csv(path, CCW_COLUMNS, ccw_rows(rows, seed), quoting=csv.QUOTE_ALL)


def purchasers_workbook(dir: Path | str, rows: int = 500, seed: int = 1) -> Path:
    """Write an XLSX whose first sheet is a clean summary and whose "Detail" sheet is people."""
    from openpyxl import Workbook

    people = _People(seed)
    book = Workbook(write_only=True)
    summary = book.create_sheet("Summary")
    summary.append(["County", "Year", "Purchases"])
    for county in _COUNTIES:
        for year in range(2018, 2022):
            summary.append([county, year, people.rng.randint(40, 9000)])
    detail = book.create_sheet("Detail")
    detail.append(["Purchaser Name", "Date of Birth", "Street Address", "City", "ZIP", "DL Number"])
    for _ in range(rows):
        p = people.person()
        letter = people.rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        licence = f"{letter}{people.rng.randint(0, 9_999_999):07d}"
        detail.append([f"{p.first} {p.last}", p.dob, p.street, p.city, p.zip, licence])
    path = _target(dir, "firearm_purchasers.xlsx")
    book.save(path)
    return path


def nested_json(dir: Path | str, rows: int = 300, seed: int = 1) -> Path:
    """Write a JSON:API-like document with people nested under ``data[].attributes``."""
    people = _People(seed)
    data = []
    for i in range(1, rows + 1):
        p = people.person()
        home = {"line1": p.street, "city": p.city, "zip": p.zip}
        attributes = {"fullName": f"{p.first} {p.last}", "homeAddress": home}
        attributes["dob"] = p.dob.isoformat()
        data.append({"id": str(i), "type": "applicant", "attributes": attributes})
    meta = {"source": "synthetic", "generated": "2022-06-27", "count": rows}
    path = _target(dir, "applicants.json")
    path.write_text(json.dumps({"meta": meta, "data": data}, indent=1), encoding="utf-8")
    return path


def geojson_points(dir: Path | str, rows: int = 300, seed: int = 1) -> Path:
    """Write a GeoJSON FeatureCollection of permit holders with PII in ``properties``."""
    people = _People(seed)
    features = []
    for i in range(1, rows + 1):
        p = people.person()
        lon = round(people.rng.uniform(-123.5, -115.5), 6)
        lat = round(people.rng.uniform(32.7, 41.5), 6)
        properties = {
            "permit_id": f"P{i:06d}",
            "holder_name": f"{p.first} {p.last}",
            "address": f"{p.street}, {p.city}, CA {p.zip}",
            "date_of_birth": p.dob.isoformat(),
            "phone": p.phone,
        }
        geometry = {"type": "Point", "coordinates": [lon, lat]}
        features.append({"type": "Feature", "geometry": geometry, "properties": properties})
    path = _target(dir, "permit_holders.geojson")
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    return path


def zip_hiding_rowlevel_csv(dir: Path | str, rows: int = 500, seed: int = 1) -> Path:
    """Write a ZIP whose top level looks clean; ``ZIP_ROWLEVEL_MEMBER`` holds people."""
    people = _People(seed)
    aggregate = ["county,year,applications"]
    aggregate += [f"{c},2021,{people.rng.randint(10, 5000)}" for c in _COUNTIES]
    detail = [",".join(CCW_COLUMNS[:6])]
    for _ in range(rows):
        p = people.person()
        detail.append(",".join((p.first, p.last, p.dob.isoformat(), p.street, p.city, p.zip)))
    path = _target(dir, "ccw_statistics_2021.zip")
    members = {
        "README.txt": "CCW statistics 2021. Aggregate counts by county.\n",
        "ccw_counts_by_county.csv": "\n".join(aggregate) + "\n",
        ZIP_ROWLEVEL_MEMBER: "\n".join(detail) + "\n",
    }
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            # A fixed timestamp keeps the archive byte-identical for a given seed.
            info = zipfile.ZipInfo(name, date_time=(2022, 1, 3, 9, 0, 0))
            archive.writestr(info, text, compress_type=zipfile.ZIP_DEFLATED)
    return path


def headerless_people_csv(dir: Path | str, rows: int = 1000, seed: int = 1) -> Path:
    """Write first name, last name, birth date and phone, with no header row."""
    people = _People(seed)
    rows_iter = (
        (p.first, p.last, p.dob.isoformat(), p.phone)
        for p in (people.person() for _ in range(rows))
    )
    return _write_csv(_target(dir, "people_noheader.csv"), None, rows_iter)


def dob_zip_sex_csv(dir: Path | str, rows: int = 5000, seed: int = 1) -> Path:
    """Write only birth date, ZIP and sex: no names, yet nearly every row is unique."""
    people = _People(seed)
    rows_iter = (
        (p.dob.isoformat(), p.zip, people.rng.choice("MF"))
        for p in (people.person() for _ in range(rows))
    )
    return _write_csv(_target(dir, "dob_zip_sex.csv"), ("birth_date", "zip", "sex"), rows_iter)


def _notes(people: _People, rows: int) -> tuple[list[str], list[dt.date]]:
    sentences = [people.faker.sentence(nb_words=10) for _ in range(_POOL_SIZE)]
    rng = people.rng
    notes = [" ".join(rng.sample(sentences, rng.randint(1, 3))) for _ in range(rows)]
    start, end = dt.date(2020, 1, 1), dt.date(2021, 12, 31)
    return notes, [people.day_between(start, end) for _ in range(rows)]


def ssn_needles_csv(
    dir: Path | str, rows: int = 60_000, needles: int = 5, seed: int = 1
) -> tuple[Path, list[int]]:
    """Write incident notes where exactly ``needles`` notes hold an SSN like ``123-45-6789``.

    Returns:
        The path and the sorted 0-based data-row indices (header excluded) holding an SSN.
    """
    people = _People(seed)
    notes, days = _notes(people, rows)
    hits = sorted(people.rng.sample(range(rows), needles))
    for i in hits:
        notes[i] += f" Reporting party gave SSN {people.faker.ssn()} to the desk officer."
    rows_iter = (
        (f"INC-{day.year}-{i + 1:06d}", day.isoformat(), people.rng.choice(_CATEGORIES), note)
        for i, (day, note) in enumerate(zip(days, notes, strict=True))
    )
    header = ("incident_id", "date", "category", "notes")
    return _write_csv(_target(dir, "incident_notes.csv"), header, rows_iter), hits


def notes_with_names_and_phones_csv(
    dir: Path | str, rows: int = 2000, share: float = 0.1, seed: int = 1
) -> Path:
    """Write free-text notes where ``round(rows * share)`` of them name a person and a phone."""
    people = _People(seed)
    notes, days = _notes(people, rows)
    for i in people.rng.sample(range(rows), round(rows * share)):
        p = people.person()
        notes[i] = f"Spoke with {p.first} {p.last} at {p.phone} about the report. {notes[i]}"
    rows_iter = (
        (f"{i + 1}", d.isoformat(), n) for i, (d, n) in enumerate(zip(days, notes, strict=True))
    )
    return _write_csv(_target(dir, "call_notes.csv"), ("id", "date", "notes"), rows_iter)


def clean_aggregate_csv(dir: Path | str, seed: int = 1) -> Path:
    """Write counts by county, year and license type: must produce no finding."""
    rng = random.Random(seed)
    rows_iter = (
        (county, year, kind, rng.randint(0, 900))
        for county in _COUNTIES
        for year in range(2012, 2022)
        for kind in _LICENSE_TYPES
    )
    header = ("county", "year", "license_type", "applications")
    return _write_csv(_target(dir, "ccw_counts.csv"), header, rows_iter)


def clean_variants(dir: Path | str, count: int) -> tuple[bytes, Iterator[bytes]]:
    """Return a clean 1.5 KB CSV and ``count`` variants of it, each one cell apart.

    For benchmarks of thousands of files: generating each afresh would take longer than
    the run, and every variant still has its own digest (its header names its number).
    """
    base = clean_aggregate_csv(dir).read_bytes()[:1500]
    return base, (base.replace(b"county", f"county{n}".encode(), 1) for n in range(count))


def redacted_dob_csv(dir: Path | str, rows: int = 200, seed: int = 1) -> Path:
    """Write a staff roster whose ``Date of Birth`` cells are all redaction notes.

    The ``Name`` column is personal data; the ``Date of Birth`` column must carry no finding.
    """
    people = _People(seed)
    rng = people.rng
    notes = ("Redacted per GP 4-311", "Redacted per GP 4-311", "REDACTED - GP 4-311")
    titles = ("Police Officer", "Sergeant", "Lieutenant", "Detective", "Police Agent")
    rows_iter = (
        (
            f"E{rng.randint(10000, 99999)}",
            f"{p.last}, {p.first}",
            rng.choice(titles),
            rng.choice(notes),
        )
        for p in (people.person() for _ in range(rows))
    )
    header = ("Employee ID", "Name", "Title", "Date of Birth")
    return _write_csv(_target(dir, "roster_redacted.csv"), header, rows_iter)


def birth_dates_unlabelled_csv(dir: Path | str, rows: int = 1000, seed: int = 1) -> Path:
    """Write birth dates (``MM/DD/YYYY``) in column ``c3`` among neutral ``c1``, ``c2``, ``c4``."""
    people = _People(seed)
    rng = people.rng
    rows_iter = (
        (
            str(i + 1),
            rng.choice(_CATEGORIES),
            people.birth_date(18, 90).strftime("%m/%d/%Y"),
            f"{rng.randint(5, 5000)}.{rng.randint(0, 99):02d}",
        )
        for i in range(rows)
    )
    return _write_csv(_target(dir, "export.csv"), ("c1", "c2", "c3", "c4"), rows_iter)
