"""Rebuild ``encrypted.xlsx``: a password-protected workbook of synthetic data.

Needs ``msoffcrypto-tool``, which is not a leakmon dependency (the reader only has
to recognise the file, not decrypt it): ``pip install msoffcrypto-tool`` and run
``python tests/data/files/make_encrypted_xlsx.py``. The password is
``synthetic-test-password``.
"""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
from faker import Faker
from msoffcrypto.format.ooxml import OOXMLFile

UNLOCK_WITH = "synthetic-test-password"


def main() -> None:
    fake = Faker("en_US")
    fake.seed_instance(7)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Staff"
    sheet.append(["Name", "Date of Birth", "Email"])
    for _ in range(5):
        sheet.append([fake.name(), fake.date_of_birth().isoformat(), fake.email(safe=True)])
    plain = io.BytesIO()
    workbook.save(plain)
    plain.seek(0)
    with (Path(__file__).parent / "encrypted.xlsx").open("wb") as out:
        OOXMLFile(plain).encrypt(UNLOCK_WITH, out)


if __name__ == "__main__":
    main()
