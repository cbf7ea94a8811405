"""Terminal and chat output shows control and bidi characters from files; it never obeys them."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from monitor.models import FileReport, Finding, Severity
from monitor.printable import printable
from monitor.report import render_text

if TYPE_CHECKING:
    from pathlib import Path

HOSTILE = "name\x1b]0;owned\x07\x1b[2J\nFAKE LINE\u202egpj.exe\x9b31m\u2066\ufeff"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b[2J", "\\x1b[2J"),
        ("a\nb\tc\r", "a\\x0ab\\x09c\\x0d"),
        ("\x9b", "\\x9b"),
        ("\u202egpj.exe", "\\u202egpj.exe"),
        ("\u2066x\u2069", "\\u2066x\\u2069"),
        ("José Müller ✓ 数据", "José Müller ✓ 数据"),  # ordinary text is untouched
    ],
)
def test_printable(text: str, shown: str) -> None:
    assert printable(text) == shown


def _raw_controls(text: str) -> list[str]:
    allowed = {"\n", "\x1b"}  # the printer's own line breaks and colours
    return [c for c in text if (ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F) and c not in allowed] + [
        c for c in text if c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
    ]


def test_scan_report_escapes_names_errors_and_reasons() -> None:
    finding = Finding(
        file=HOSTILE,
        table=HOSTILE,
        column=HOSTILE,
        entity="PERSON",
        severity=Severity.HIGH,
        score=0.9,
        matched=3,
        scanned=3,
        evidence=(HOSTILE,),
        reason=HOSTILE,
    )
    report = FileReport(HOSTILE, "csv", 10, 1, 3, (finding,), "CorruptFile: " + HOSTILE, 0.1)
    for colour in (False, True):
        text = render_text([report], colour=colour)
        assert "FAKE LINE" in text
        assert "\nFAKE LINE" not in text
        assert _raw_controls(text) == []
        if not colour:
            assert "\x1b" not in text


def test_leakmon_scan_prints_hostile_column_names_escaped(tmp_path: Path) -> None:
    path = tmp_path / "hostile.csv"
    header = ["first_name\x1b[31m", "email\u202e", "note\nforged"]
    rows = [f"Jane{i},jane{i}@example.com,x" for i in range(30)]
    path.write_text(",".join(json.dumps(h) for h in header) + "\n" + "\n".join(rows) + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "scan", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out = done.stdout
    assert "EMAIL_ADDRESS" in out, done.stderr
    assert "\x1b[31m" not in out
    assert "\u202e" not in out
    assert "\\u202e" in out or "\\x1b" in out
