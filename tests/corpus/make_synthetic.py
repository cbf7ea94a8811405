"""Write the corpus's synthetic files: leaks (and a few clean neighbours) in the shape of real ones.

No real person's data: every name, date, number and address comes from Faker (seeded,
with the locale the shape calls for) or from ``random.Random(seed)``. Run
``python -m tests.corpus.make_synthetic`` to rebuild ``tests/corpus/synthetic/``; the
files are committed so that the scorer needs nothing but the repository.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

from faker import Faker

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

OUT = Path(__file__).parent / "synthetic"
ROWS = 250

# Given names that the 1990 census list lacks or ranks low, seen on real rosters.
_RARE_GIVEN = (
    "Makia Dameatrice Xochitl Nayeli Dashawn Keyonna Tenzin Oluwaseun Chidi Nguyet Thuy "
    "Jaquavious Ximena Itzel Yaretzi Anahi Jazmin Deshawn Latoya Shaquille Amadou Fatoumata "
    "Mamadou Aissatou Kwame Ayodele Hyun Jiwoo Minh Quang Sokha Tavita Malakai Keanu Leilani "
    "Kalani Tupac Yesenia Araceli Guadalupe Maritza Marisol Yadira Nohemi Eneida"
).split()


def _faker(locale: str, seed: int) -> Faker:
    fake = Faker(locale)
    fake.seed_instance(seed)
    return fake


def _write(name: str, header: Sequence[str] | None, rows: Iterable[Sequence[object]]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / name).open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        if header is not None:
            w.writerow(header)
        w.writerows(rows)


def _date(r: random.Random, start: int, end: int) -> dt.date:
    return dt.date(start, 1, 1) + dt.timedelta(days=r.randrange((end - start) * 365))


def _luhn_complete(prefix: str) -> str:
    digits = [int(c) for c in prefix]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return prefix + str((10 - total % 10) % 10)


def _ssn(r: random.Random) -> str:
    area = r.choice([a for a in range(1, 900) if a != 666])
    return f"{area:03d}{r.randrange(1, 100):02d}{r.randrange(1, 10000):04d}"


def court_evictions() -> None:
    """Header with a ``_`` cell; ``defendant_name_last``/``_first``; landlords are firms."""
    f, r = _faker("en_US", 11), random.Random(11)
    rows = []
    for i in range(ROWS):
        landlord = f"{f.last_name()} {r.choice(['Properties LLC', 'Management Inc', 'Realty LP'])}"
        rows.append(
            (
                i + 1,
                f"{r.randrange(2019, 2024)}-LT-{r.randrange(100000, 999999)}",
                _date(r, 2019, 2024).isoformat(),
                landlord,
                f.last_name(),
                r.choice([f.first_name(), *_RARE_GIVEN]),
                r.choice(["Judgment for plaintiff", "Dismissed", "Settled", "Default"]),
            )
        )
    _write(
        "court_evictions_name_last.csv",
        (
            "_",
            "case_number",
            "filing_date",
            "plaintiff",
            "defendant_name_last",
            "defendant_name_first",
            "disposition",
        ),
        rows,
    )


def civil_cases_et_al() -> None:
    """Plaintiff and defendant as full names, some "et al.", some agencies."""
    f, r = _faker("en_US", 12), random.Random(12)
    rows = []
    for _ in range(ROWS):
        plaintiff = f"{f.first_name()} {f.last_name()}" + (", et al." if r.random() < 0.3 else "")
        defendant = r.choice(
            [
                f"{f.first_name()} {f.last_name()}",
                f"{f.first_name()} {f.last_name()}",
                "City of Springfield",
                f"{f.last_name()} Trucking Inc.",
            ]
        )
        rows.append(
            (
                f"CV-{r.randrange(10**6, 10**7)}",
                plaintiff,
                defendant,
                r.choice(["Contract", "Personal Injury", "Property Damage"]),
                _date(r, 2018, 2024).isoformat(),
            )
        )
    _write(
        "civil_cases_et_al.csv", ("Case No", "Plaintiff", "Defendant", "Case Type", "Filed"), rows
    )


def roster_camelcase_json() -> None:
    """A roster as JSON records with camelCase keys and many uncommon given names."""
    f, r = _faker("en_US", 13), random.Random(13)
    records = [
        {
            "badgeNumber": str(r.randrange(1000, 99999)),
            "lastName": f.last_name(),
            "firstName": r.choice(_RARE_GIVEN) if r.random() < 0.5 else f.first_name(),
            "rankTitle": r.choice(["Police Officer", "Sergeant", "Detective", "Lieutenant"]),
            "hireDate": _date(r, 1995, 2023).isoformat(),
        }
        for _ in range(ROWS)
    ]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "officer_roster_camelcase.json").write_text(json.dumps({"officers": records}, indent=1))


def decedents() -> None:
    """Medical-examiner shape: ``last_nm``, ``first_nm``, age, dates of death."""
    f, r = _faker("en_US", 14), random.Random(14)
    rows = [
        (
            f"ME{r.randrange(2020, 2024)}-{r.randrange(1, 9999):04d}",
            f.last_name().upper(),
            r.choice([f.first_name(), *_RARE_GIVEN]).upper(),
            r.randrange(18, 95),
            r.choice(["M", "F"]),
            _date(r, 2020, 2024).isoformat(),
            r.choice(["Accident", "Natural", "Homicide", "Suicide", "Undetermined"]),
        )
        for _ in range(ROWS)
    ]
    _write(
        "medical_examiner_decedents.csv",
        ("case_num", "last_nm", "first_nm", "age", "sex", "death_date", "manner"),
        rows,
    )


def payees() -> None:
    """Payments where about a fifth of payees are organisations and the rest people."""
    f, r = _faker("en_US", 15), random.Random(15)
    rows = []
    for i in range(ROWS):
        if i % 5 == 0:
            payee = r.choice([f"TOWN OF {f.city().upper()}", f"{f.company().upper()}"])
        else:
            payee = f"{f.last_name().upper()}, {f.first_name().upper()}"
        rows.append(
            (
                payee,
                f"{r.randrange(50, 5000)}.{r.randrange(100):02d}",
                _date(r, 2022, 2024).isoformat(),
                r.choice(["REFUND", "REIMBURSEMENT"]),
            )
        )
    _write("payments_to_payees.csv", ("Payee", "Amount", "Check Date", "Purpose"), rows)


def notas_es_mx() -> None:
    """Spanish free-text notes naming people, with Mexican phone numbers."""
    f, r = _faker("es_MX", 16), random.Random(16)
    openers = (
        "Se comunicó la Sra. {n} al teléfono {t} para reportar {x}.",
        "El ciudadano {n}, con domicilio en {d}, solicita {x}. Tel. {t}",
        "Nombre: {n}. Teléfono: {t}. Fecha de nacimiento: {b}. Asunto: {x}.",
        "Se atendió a {n} quien reporta {x}; contacto {t}.",
    )
    things = ("fuga de agua", "bache en la calle", "alumbrado público apagado", "basura acumulada")
    rows = []
    for i in range(ROWS):
        tel = f"55 {r.randrange(1000, 9999)} {r.randrange(1000, 9999)}"
        text = r.choice(openers).format(
            n=f.name(),
            t=tel,
            x=r.choice(things),
            d=f.street_address(),
            b=_date(r, 1950, 2000).strftime("%d/%m/%Y"),
        )
        rows.append((f"F-{i + 1:05d}", _date(r, 2023, 2025).isoformat(), text, f.city()))
    _write("es_mx_reportes_ciudadanos.csv", ("folio", "fecha", "notas", "alcaldia"), rows)


def headerless_extract() -> None:
    """No header: id, surname, given name, birth date as ``YYYYMMDD``, bare 9-digit SSN, ZIP."""
    f, r = _faker("en_US", 17), random.Random(17)
    rows = [
        (
            100000 + i,
            f.last_name().upper(),
            f.first_name().upper(),
            _date(r, 1940, 2004).strftime("%Y%m%d"),
            _ssn(r),
            f.zipcode(),
        )
        for i in range(ROWS)
    ]
    _write("headerless_people_extract.csv", None, rows)


def headerless_events() -> None:
    """The clean neighbour: no header, compact event dates and 9-digit sequential case numbers."""
    r = random.Random(18)
    base = 202300001
    rows = [
        (
            base + i * r.randrange(1, 4),
            (dt.date(2023, 1, 1) + dt.timedelta(days=i // 2)).strftime("%Y%m%d"),
            r.choice(["THEFT", "BURGLARY", "VANDALISM"]),
            r.randrange(1, 25),
        )
        for i in range(ROWS)
    ]
    _write("headerless_incident_extract.csv", None, rows)


def pt_br_cadastro() -> None:
    """Portuguese register: nome, data de nascimento, CPF (valid check digits), município."""
    f, r = _faker("pt_BR", 19), random.Random(19)
    rows = [
        (f.name(), _date(r, 1940, 2005).strftime("%d/%m/%Y"), f.cpf(), f.city(), f.phone_number())
        for _ in range(ROWS)
    ]
    _write(
        "pt_br_cadastro_beneficiarios.csv",
        ("nome", "data_nascimento", "cpf", "municipio", "telefone"),
        rows,
    )


def es_ar_habilitaciones() -> None:
    """Taxi licence registry (Córdoba shape, no tax IDs): mostly individuals, some firms."""
    f, r = _faker("es_AR", 20), random.Random(20)
    rows = []
    for i in range(ROWS):
        if i % 4 == 0:
            holder = f"{f.last_name().upper()} S.R.L."
        else:
            holder = f"{f.last_name().upper()}, {f.first_name()}"
        rows.append(
            (
                f"T-{r.randrange(1000, 9999)}",
                holder,
                r.choice(["Habilitado", "Vencido"]),
                _date(r, 2005, 2020).isoformat(),
                r.randrange(1, 20),
            )
        )
    _write(
        "es_ar_habilitaciones_taxis.csv",
        ("licencia", "titular", "estado", "fecha_inscripcion", "plazas"),
        rows,
    )


def inmate_roster() -> None:
    """Jail roster: ``inmate_name`` as "LAST, FIRST M", booking date, DOB, charge."""
    f, r = _faker("en_US", 21), random.Random(21)
    rows = [
        (
            f"{f.last_name().upper()}, {f.first_name().upper()} {r.choice('ABCDEJKLMR')}",
            _date(r, 2024, 2025).isoformat(),
            _date(r, 1960, 2005).strftime("%m/%d/%Y"),
            r.choice(["DUI", "THEFT", "ASSAULT", "PROBATION VIOLATION"]),
            r.randrange(500, 50000),
        )
        for _ in range(ROWS)
    ]
    _write("jail_inmate_roster.csv", ("inmate_name", "booking_date", "dob", "charge", "bond"), rows)


def visitor_log() -> None:
    """Visitor log of a public building: visitor names, visit dates, host department."""
    f, r = _faker("en_US", 22), random.Random(22)
    rows = [
        (
            f.name(),
            _date(r, 2024, 2025).isoformat(),
            f"{r.randrange(7, 18)}:{r.randrange(60):02d}",
            r.choice(["Planning", "Permits", "Clerk", "Assessor"]),
        )
        for _ in range(ROWS)
    ]
    _write(
        "city_hall_visitor_log.csv",
        ("Visitor", "Visit Date", "Time In", "Department Visited"),
        rows,
    )


def patients_ssn() -> None:
    """Patient list with dashed SSNs."""
    f, r = _faker("en_US", 23), random.Random(23)
    rows = []
    for _ in range(ROWS):
        s = _ssn(r)
        rows.append(
            (
                f.name(),
                f"{s[:3]}-{s[3:5]}-{s[5:]}",
                f.date_of_birth(minimum_age=1, maximum_age=95).isoformat(),
                r.choice(["Cardiology", "Oncology", "Pediatrics"]),
            )
        )
    _write("clinic_patient_list.csv", ("Patient", "SSN", "DOB", "Clinic"), rows)


def card_payments() -> None:
    """Card numbers under a card header (Luhn-valid test-range numbers), beside cardholders."""
    f, r = _faker("en_US", 24), random.Random(24)
    rows = [
        (
            f.name(),
            _luhn_complete("4" + "".join(str(r.randrange(10)) for _ in range(14))),
            f"{r.randrange(1, 13):02d}/{r.randrange(26, 31)}",
            f"{r.randrange(10, 500)}.00",
        )
        for _ in range(ROWS)
    ]
    _write(
        "parking_permit_card_payments.csv", ("Cardholder", "Card Number", "Expiry", "Amount"), rows
    )


def budget_codes() -> None:
    """Clean: 16-digit account strings, some Luhn-valid by chance, with no card context."""
    r = random.Random(25)
    rows = []
    for _ in range(ROWS):
        code = " ".join(str(r.randrange(1000, 9999)) for _ in range(4))
        rows.append(
            (
                code,
                r.choice(["Salaries", "Supplies", "Travel", "Contracts"]),
                r.randrange(10**4, 10**7),
                r.randrange(10**4, 10**7),
            )
        )
    _write(
        "budget_account_codes.csv",
        ("Account String", "Object", "FY2023 Budget", "FY2023 Actual"),
        rows,
    )


def document_index() -> None:
    """Clean: a document index whose URLs and file names carry dates and masked fragments."""
    r = random.Random(26)
    rows = []
    for i in range(ROWS):
        year = r.randrange(2015, 2025)
        rows.append(
            (
                f"Annual Report {year} part {i % 7}",
                f"https://data.example.gov/docs/{year}/"
                f"{r.randrange(100, 999)}-{r.randrange(10, 99)}-{year}.pdf",
                f"***-**-{year}",
                f"{r.randrange(100, 999)}-{r.randrange(10, 99)}-{year}.pdf",
                f"{year}-{r.randrange(1, 13):02d}-01",
            )
        )
    _write(
        "document_index_links.csv", ("Title", "URL", "Reference", "File Name", "Published"), rows
    )


def victims_json() -> None:
    """Nested JSON incidents with camelCase victim fields."""
    f, r = _faker("en_US", 27), random.Random(27)
    records = [
        {
            "incidentId": f"I{r.randrange(10**6, 10**7)}",
            "offense": r.choice(["Robbery", "Assault"]),
            "victim": {
                "victimName": f.name(),
                "victimAge": r.randrange(12, 90),
                "homeAddress": f.street_address(),
            },
        }
        for _ in range(ROWS)
    ]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "incident_victims.json").write_text(json.dumps({"data": records}, indent=1))


def es_mx_funcionarios() -> None:
    """Clean: transparency-portal directory of officials (title, office, office phone)."""
    f, r = _faker("es_MX", 28), random.Random(28)
    cargos = (
        "Secretario de Hacienda",
        "Directora de Obras Públicas",
        "Subsecretario de Gobierno",
        "Jefa de Departamento de Catastro",
        "Coordinador de Protección Civil",
        "Tesorero Municipal",
    )
    rows = [
        (
            f.name(),
            r.choice(cargos),
            r.choice(
                ["Secretaría de Hacienda", "Dirección de Obras Públicas", "Secretaría de Gobierno"]
            ),
            f"(55) 5{r.randrange(100, 999)} {r.randrange(1000, 9999)} ext. {r.randrange(100, 999)}",
            f"contacto{r.randrange(100)}@municipio.gob.mx",
        )
        for _ in range(ROWS)
    ]
    _write(
        "es_mx_directorio_funcionarios.csv",
        ("nombre", "cargo", "dependencia", "telefono_oficina", "correo_institucional"),
        rows,
    )


def legislature_leadership() -> None:
    """Clean: legislature members with leadership titles, party and district."""
    f, r = _faker("en_US", 29), random.Random(29)
    titles = (
        "Speaker",
        "Majority Leader",
        "Assistant Majority Whip",
        "Minority Whip",
        "Assistant Minority Leader",
        "Caucus Chair",
        "Member",
        "Member",
        "Member",
    )
    rows = [
        (
            f"{f.first_name()} {f.last_name()}",
            r.choice(titles),
            r.choice(["D", "R"]),
            r.randrange(1, 120),
            f.city(),
        )
        for _ in range(150)
    ]
    _write("state_house_members.csv", ("Member", "Title", "Party", "District", "Hometown"), rows)


def parks_geojson() -> None:
    """Clean: GeoJSON of named parks and features (names that are also surnames)."""
    f, r = _faker("en_US", 30), random.Random(30)
    kinds = ("Park", "Creek", "Playground", "Recreation Center", "Field", "Trail")
    feats = [
        {
            "type": "Feature",
            "properties": {
                "NAME": f"{f.last_name()} {r.choice(kinds)}",
                "OWNER": r.choice(["DPR", "NPS"]),
                "ACRES": round(r.random() * 50, 2),
            },
            "geometry": {
                "type": "Point",
                "coordinates": [-77 + r.random() / 10, 38.9 + r.random() / 10],
            },
        }
        for _ in range(ROWS)
    ]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "parks_features.geojson").write_text(
        json.dumps(
            {"type": "FeatureCollection", "name": "Parks and Recreation Areas", "features": feats}
        )
    )


def name_frequency_es() -> None:
    """Clean: name statistics (INE shape): name, frequency, mean age, per province."""
    f, r = _faker("es_ES", 31), random.Random(31)
    seen: set[str] = set()
    rows = []
    while len(rows) < ROWS:
        n = f.first_name().upper()
        if n in seen:
            continue
        seen.add(n)
        rows.append((len(rows) + 1, n, r.randrange(500, 300000), round(r.uniform(20, 70), 1)))
    _write("es_nombres_frecuencia.csv", ("Orden", "Nombre", "Frecuencia", "Edad Media (*)"), rows)


def block_crimes() -> None:
    """Clean: crime incidents located by block range ("3200 - 3299 BLOCK OF ELM ST")."""
    f, r = _faker("en_US", 32), random.Random(32)
    rows = []
    for _ in range(ROWS):
        start = r.randrange(1, 99) * 100
        rows.append(
            (
                f"{r.randrange(10**5, 10**6)}-2024",
                f"{start} - {start + 99} BLOCK OF {f.street_name().upper()}",
                r.choice(["BURGLARY", "THEFT", "ASSAULT"]),
                _date(r, 2024, 2025).isoformat(),
                r.choice(["NORTHEAST", "CENTRAL", "SOUTHWEST"]),
            )
        )
    _write(
        "police_incidents_block.csv",
        ("Incident Number", "Incident Address", "Offense", "Date", "Division"),
        rows,
    )


def employees_home() -> None:
    """Employee list with home addresses and birth dates (the classic critical leak)."""
    f, r = _faker("en_US", 33), random.Random(33)
    rows = [
        (
            f.last_name(),
            f.first_name(),
            f.date_of_birth(minimum_age=20, maximum_age=70).isoformat(),
            f.street_address(),
            f.city(),
            f.zipcode(),
            r.choice(["Parks", "Water", "Fire"]),
        )
        for _ in range(ROWS)
    ]
    _write(
        "employee_home_addresses.csv",
        ("Last Name", "First Name", "Birth Date", "Home Address", "City", "Zip", "Department"),
        rows,
    )


def shelter_animals() -> None:
    """Clean: animal intake with ``date_of_birth`` beside species and breed."""
    f, r = _faker("en_US", 34), random.Random(34)
    rows = [
        (
            f"A{r.randrange(10**5, 10**6)}",
            r.choice([f.first_name(), ""]),
            r.choice(["Dog", "Cat"]),
            r.choice(["Labrador Retriever Mix", "Domestic Shorthair", "Pit Bull Mix", "Siamese"]),
            _date(r, 2010, 2024).isoformat(),
            _date(r, 2024, 2025).isoformat(),
            r.choice(["Stray", "Owner Surrender"]),
        )
        for _ in range(ROWS)
    ]
    _write(
        "animal_intakes.csv",
        ("animal_id", "name", "species", "breed", "date_of_birth", "intake_date", "intake_type"),
        rows,
    )


# -- PDFs: a minimal writer (text lines and ruled grids) so no PDF library is needed -------


def _pdf(pages: list[str]) -> bytes:
    objs: list[bytes] = []
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
    objs.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objs.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, content in enumerate(pages):
        data = zlib.compress(content.encode("latin-1"))
        objs.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources "
            f"<< /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode()
        )
        objs.append(
            f"<< /Length {len(data)} /Filter /FlateDecode >>\nstream\n".encode()
            + data
            + b"\nendstream"
        )
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _esc(s: str) -> str:
    return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _text(lines: list[str], top: int = 740) -> str:
    return "".join(
        f"BT /F1 10 Tf 50 {top - 14 * i} Td ({_esc(t)}) Tj ET\n" for i, t in enumerate(lines)
    )


def _grid(rows: list[Sequence[str]], widths: list[int], top: int = 720) -> str:
    ops = []
    h = 16
    x0, total = 40, sum(widths)
    for i in range(len(rows) + 1):
        ops.append(f"{x0} {top - i * h} m {x0 + total} {top - i * h} l S\n")
    x = x0
    for w in [0, *widths]:
        x += w
        ops.append(f"{x} {top} m {x} {top - len(rows) * h} l S\n")
    for i, row in enumerate(rows):
        x = x0
        for w, cell in zip(widths, row, strict=True):
            ops.append(f"BT /F1 8 Tf {x + 3} {top - i * h - 11} Td ({_esc(cell)}) Tj ET\n")
            x += w
    return "".join(ops)


def applicants_pdf() -> None:
    """A PDF table of licence applicants: names, home addresses, birth dates."""
    f = _faker("en_US", 35)
    header = ["Applicant Name", "Home Address", "City", "Date of Birth"]
    pages = []
    for _ in range(4):
        rows = [header] + [
            [
                f.name(),
                f.street_address(),
                f.city(),
                f.date_of_birth(minimum_age=21, maximum_age=80).strftime("%m/%d/%Y"),
            ]
            for _ in range(38)
        ]
        pages.append(_grid(rows, [150, 180, 110, 80]))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "license_applicants_table.pdf").write_bytes(_pdf(pages))


def board_report_pdf() -> None:
    """Clean: a long board report naming officials in prose, with Luhn-valid table figures."""
    f, r = _faker("en_US", 36), random.Random(36)
    members = [f"{f.first_name()} {f.last_name()}" for _ in range(9)]
    pages = []
    for p in range(60):
        lines = [f"Board of Supervisors - Regular Meeting Minutes - page {p + 1}"]
        for _ in range(12):
            a, b = r.sample(members, 2)
            lines.append(
                f"Supervisor {a} moved to approve item {r.randrange(1, 40)}; seconded by Chair {b}."
            )
            lines.append(
                f"Staff presented the fiscal summary; Director {r.choice(members)} "
                "answered questions."
            )
        lines.append("Fund totals (account, amount):")
        for _ in range(4):
            digits = _luhn_complete("".join(str(r.randrange(10)) for _ in range(15)))
            lines.append(
                f"  {digits[:4]} {digits[4:8]} {digits[8:12]} {digits[12:]}"
                f"    ${r.randrange(10**5, 10**7):,}"
            )
        pages.append(_text(lines))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "board_minutes_long.pdf").write_bytes(_pdf(pages))


def employee_earnings_boston() -> None:
    """Payroll in the shape of Boston's earnings report: ``Last,First M`` names and home ZIPs.

    Replaces the real 2016 report the corpus first used: it names real employees, and
    real personal data is never committed.
    """
    f, r = _faker("en_US", 35), random.Random(35)
    departments = (
        "Boston Police Department",
        "Boston Fire Department",
        "BPS Facility Management",
        "Public Works Department",
        "Boston Public Library",
        "Parks Department",
    )
    titles = (
        "Police Officer",
        "Fire Fighter",
        "Teacher",
        "Custodian",
        "Librarian I",
        "Sr Administrative Asst",
        "Motor Equipment Operator",
    )
    rows = []
    for _ in range(ROWS):
        given = r.choice(_RARE_GIVEN) if r.random() < 0.15 else f.first_name()
        regular = r.randrange(30000, 110000)
        overtime = r.randrange(0, 40000) if r.random() < 0.5 else 0
        rows.append(
            (
                f"{f.last_name()},{given} {r.choice('ABCDEFGHJKLMNPRSTW')}",
                r.choice(departments),
                r.choice(titles),
                f"{regular:.2f}",
                "",
                f"{r.randrange(0, 3000):.2f}" if r.random() < 0.4 else "",
                f"{overtime:.2f}" if overtime else "",
                "",
                f"{r.randrange(0, 20000):.2f}" if r.random() < 0.2 else "",
                "",
                f"{regular + overtime:.2f}",
                f"0{r.randrange(1801, 2799)}",
            )
        )
    _write(
        "employee_earnings_boston_shape.csv",
        (
            "NAME",
            "DEPARTMENT_NAME",
            "TITLE",
            "REGULAR",
            "RETRO",
            "OTHER",
            "OVERTIME",
            "INJURED",
            "DETAIL",
            "QUINN/EDUCATION INCENTIVE",
            "TOTAL EARNINGS",
            "POSTAL",
        ),
        rows,
    )


def employee_salaries_chicago() -> None:
    """Salaries in the shape of Chicago's employee list: ``LAST,  FIRST M`` in capitals.

    Replaces the real list the corpus first used (real employees' names are not committed).
    """
    f, r = _faker("en_US", 36), random.Random(36)
    jobs = (
        ("POLICE OFFICER", "POLICE"),
        ("FIREFIGHTER-EMT", "FIRE"),
        ("MOTOR TRUCK DRIVER", "STREETS & SAN"),
        ("WATER RATE TAKER", "WATER MGMNT"),
        ("LIBRARIAN II", "PUBLIC LIBRARY"),
        ("CLERK III", "OEMC"),
    )
    rows = []
    for _ in range(ROWS):
        given = r.choice(_RARE_GIVEN) if r.random() < 0.15 else f.first_name()
        title, dept = r.choice(jobs)
        rows.append(
            (
                f"{f.last_name().upper()},  {given.upper()} {r.choice('ABCDEFGHJKLMNPRSTW')}",
                title,
                dept,
                f"${r.randrange(40000, 120000)}.00",
            )
        )
    _write(
        "employee_salaries_chicago_shape.csv",
        ("Name", "Position Title", "Department", "Employee Annual Salary"),
        rows,
    )


def main() -> None:
    """Write every synthetic file."""
    for make in (
        court_evictions,
        civil_cases_et_al,
        roster_camelcase_json,
        decedents,
        payees,
        notas_es_mx,
        headerless_extract,
        headerless_events,
        pt_br_cadastro,
        es_ar_habilitaciones,
        inmate_roster,
        visitor_log,
        patients_ssn,
        card_payments,
        budget_codes,
        document_index,
        victims_json,
        es_mx_funcionarios,
        legislature_leadership,
        parks_geojson,
        name_frequency_es,
        block_crimes,
        employees_home,
        shelter_animals,
        applicants_pdf,
        board_report_pdf,
        employee_earnings_boston,
        employee_salaries_chicago,
    ):
        make()


if __name__ == "__main__":
    main()
