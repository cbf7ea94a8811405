"""A quick, repeatable slice of the reader fuzzing for the default suite (about 400 inputs).

The same strategies and harness as ``test_readers_fuzz.py``, derandomized so
that every run tries the same inputs, and few enough to stay well under 30 s.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from tests.fuzz.harness import Tally, run_case
from tests.fuzz.seeds import seeds
from tests.fuzz.strategies import Case, mutated, noise

PER_KIND = 50
QUICK = settings(
    max_examples=PER_KIND,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("kind", [*sorted(seeds()), "noise"])
def test_generated_files_end_in_a_report(kind: str) -> None:
    tally = Tally()
    strategy = noise() if kind == "noise" else mutated(kind)
    with tempfile.TemporaryDirectory(prefix="leakmon-fuzz-") as tmp:

        @QUICK
        @given(case=strategy)
        def check(case: Case) -> None:
            run_case(case, Path(tmp), tally)

        check()
    assert tally.inputs >= PER_KIND
