"""Header hints: what a column's name suggests before its values are read."""

from __future__ import annotations

import pytest

from monitor.detect.headers import header_hint


@pytest.mark.parametrize(
    ("header", "entity", "strong"),
    [
        ("first_name", "PERSON", True),
        ("lastname", "PERSON", True),
        ("Worker", "PERSON", True),
        ("data.attributes.fullName", "PERSON", True),
        ("Name", "PERSON", False),
        ("Date of Birth", "DATE_OF_BIRTH", True),
        ("DOB", "DATE_OF_BIRTH", True),
        ("birthDate", "DATE_OF_BIRTH", True),
        ("SSN", "US_SSN", True),
        ("dl_number", "US_DRIVER_LICENSE", True),
        ("CII", "STATE_ID", True),
        ("Phone Number", "PHONE_NUMBER", True),
        ("email", "EMAIL_ADDRESS", True),
        ("features.properties.Zip_Code", "ZIP", True),
        ("Primary Home Address", "ADDRESS", True),
        ("gender", "SEX", True),
        ("AGE", "AGE", True),
    ],
)
def test_recognises_personal_data_headers(header: str, entity: str, strong: bool) -> None:
    hint = header_hint(header)
    assert (hint.entity, hint.strong) == (entity, strong)


@pytest.mark.parametrize(
    "header",
    [
        "HPSA_Name",
        "Hospital Name",
        "agency name",
        "c3",
        "county",
        "rank",
        "command",
        "Title",
        "message",
        "stage",
        "image",
        "badge_no",
        "record_key_number",
        "license_type",
        "CLOSEST_CITY",
        "HPSA_ID",
        "issue_date",
        "date_of_death_yyyy",
        "DATE_",
        "Provider Number",
        "year",
    ],
)
def test_names_nothing_personal_for_ordinary_headers(header: str) -> None:
    assert header_hint(header).entity is None


@pytest.mark.parametrize("header", ["Hospital Name", "agency name", "HPSA_Name", "School Name"])
def test_marks_names_of_things(header: str) -> None:
    assert header_hint(header).thing_name


@pytest.mark.parametrize(
    "header", ["issue_date", "Date of Death", "arrest date", "DATE_", "created"]
)
def test_marks_event_dates(header: str) -> None:
    assert header_hint(header).event_date
