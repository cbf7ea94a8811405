"""`leakmon demo` as a new user runs it: the 2022 case is paged, named by its full-data download."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.timeout(120)


def test_demo_pages_the_full_data_behind_a_clean_summary_export() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "demo"],
        capture_output=True,
        text=True,
        timeout=100,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "the dashboard now offers Download > Data > Full data" in out
    paged = next(line for line in out.splitlines() if line.startswith("paged after "))
    assert "Full data of view CCW/Applicants" in paged
    assert "allow_view_underlying" in paged
    seconds = float(paged.split()[2])
    assert 0 < seconds <= 45  # after the offer began, within the demo's wait
