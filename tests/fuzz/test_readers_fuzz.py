"""Fuzz every registered reader through the scan path: ``.venv/bin/pytest -m fuzz tests/fuzz``.

1,500 structure-aware mutations per reader kind plus 1,500 noise files: 12,000
inputs. Each must end in a ``FileReport`` (an error naming a ``ReaderError`` is
fine); an escaping exception or a hang past the deadline fails the run, and
Hypothesis prints the shrunk input. Inputs are new on every run; the counts and
times are printed at the end of each test.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from monitor.readers import REGISTRY
from tests.fuzz.harness import Tally, run_case
from tests.fuzz.seeds import seeds
from tests.fuzz.strategies import Case, mutated, noise

pytestmark = [pytest.mark.fuzz, pytest.mark.timeout(3600)]

PER_KIND = 1_500
FUZZ = settings(
    max_examples=PER_KIND,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_every_registered_reader_has_seeds() -> None:
    assert set(REGISTRY) <= set(seeds()), f"no fuzz seeds for {set(REGISTRY) - set(seeds())}"


def _report(name: str, tally: Tally, capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        print(f"\n{tally.line(name)}")


@pytest.mark.parametrize("kind", sorted(seeds()))
def test_mutated_files_never_crash_a_reader(kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    tally = Tally()
    with tempfile.TemporaryDirectory(prefix="leakmon-fuzz-") as tmp:

        @FUZZ
        @given(case=mutated(kind))
        def check(case: Case) -> None:
            run_case(case, Path(tmp), tally)

        check()
    _report(kind, tally, capsys)
    assert tally.inputs >= PER_KIND


def test_noise_never_crashes_a_reader(capsys: pytest.CaptureFixture[str]) -> None:
    tally = Tally()
    with tempfile.TemporaryDirectory(prefix="leakmon-fuzz-") as tmp:

        @FUZZ
        @given(case=noise())
        def check(case: Case) -> None:
            run_case(case, Path(tmp), tally)

        check()
    _report("noise", tally, capsys)
    assert tally.inputs >= PER_KIND
