"""General rules found on the real corpus: measure words, countries, office-holder columns."""

from __future__ import annotations

import csv
import random
from typing import TYPE_CHECKING

import pytest
from faker import Faker

from monitor.detect.names import NameLists, is_country_name, is_org_name
from monitor.models import Severity
from monitor.scan import scan_path

if TYPE_CHECKING:
    from pathlib import Path

LISTS = NameLists.default()


@pytest.mark.parametrize(
    ("text", "person"),
    [
        ("Temp, Max", False),  # the header temp_max read surname-first
        ("Min Rate", False),
        ("Max Smith", True),
        ("Smith, Max", True),
    ],
)
def test_measure_words_alone_are_no_name(text: str, person: bool) -> None:
    assert LISTS.looks_like_person_name(text) is person


@pytest.mark.parametrize(
    ("cell", "country"),
    [("Jordan", True), ("CHAD", True), ("Costa  Rica", True), ("Michael Jordan", False)],
)
def test_knows_country_names(cell: str, country: bool) -> None:
    assert is_country_name(cell) is country


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _loudest(path: Path) -> Severity | None:
    return scan_path(path).worst


def test_countries_under_a_donor_name_header_are_places(tmp_path: Path) -> None:
    countries = ["Jordan", "Chad", "France", "Ireland", "Norway", "Portugal", "Spain"]
    r = random.Random(3)
    rows = [[str(i), r.choice(countries), str(r.randrange(10**6))] for i in range(200)]
    path = _write(tmp_path / "donors.csv", ["code", "donor_name", "amount"], rows)
    worst = _loudest(path)
    assert worst is None or worst < Severity.MEDIUM


def test_a_column_named_after_an_office_beside_a_party_lists_office_holders(
    tmp_path: Path,
) -> None:
    fake = Faker("es_MX")
    fake.seed_instance(5)
    rows = [[fake.city(), fake.name(), fake.random_element(["PAN", "PRI"])] for _ in range(200)]
    mayors = _write(tmp_path / "alcaldes.csv", ["municipio", "alcalde", "partido"], rows)
    worst = _loudest(mayors)
    assert worst is None or worst < Severity.HIGH
    # The same names under a plain name header, with a party, are still people's names.
    people = _write(tmp_path / "personas.csv", ["municipio", "nombre", "partido"], rows)
    assert _loudest(people) == Severity.HIGH


@pytest.mark.parametrize(
    ("text", "org"),
    [
        ("Fundação Joaquim Nabuco", True),
        ("Ministério da Educação", True),
        ("Åklagarmyndigheten", True),
        ("Arbetsmiljöverket (AV)", True),
        ("Ale kommun", True),
        ("Alingsås Tingsrätt", True),
        ("Mary Kammer", False),  # a surname that ends like a body is still a surname
        ("Camara, Joao", False),
        ("John Smith", False),
    ],
)
def test_reads_portuguese_and_nordic_public_bodies(text: str, org: bool) -> None:
    assert is_org_name(text) is org


@pytest.mark.parametrize("text", ["Golden Valley", "Grand Forks", "Cedar Falls"])
def test_geographic_features_are_no_names(text: str) -> None:
    assert not LISTS.looks_like_person_name(text)


def _bodies(tmp_path: Path, description: str) -> Path:
    fake = Faker("pt_BR")
    fake.seed_instance(9)
    kinds = ["Fundação", "Instituto", "Ministério", "Conselho", "Empresa"]
    rows = [
        [
            f"{kinds[i % 5]} {fake.company()}",
            f"{kinds[i % 5]} criado pelo decreto {i}; homenagem a {fake.name()}, fundador.",
            f"gabinete{i}@orgao{i}.gov.br",
            f"+55 61 {3000 + i}-{1000 + i}",
        ]
        for i in range(120)
    ]
    return _write(tmp_path / "orgaos.csv", ["name", description, "email", "phone"], rows)


def test_people_named_in_a_public_body_remit_are_prose(tmp_path: Path) -> None:
    worst = _loudest(_bodies(tmp_path, "description"))
    assert worst is None or worst < Severity.MEDIUM


def test_people_named_in_notes_beside_organisations_still_count(tmp_path: Path) -> None:
    # Only a column that describes the body is its prose; free notes may name complainants.
    worst = _loudest(_bodies(tmp_path, "notes"))
    assert worst is not None
    assert worst >= Severity.MEDIUM
