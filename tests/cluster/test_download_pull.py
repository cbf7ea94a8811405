"""A replica asks the frontier for its next download as soon as one is acknowledged."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.crawl.conftest import run_scenario

if TYPE_CHECKING:
    from pathlib import Path

    import pytest


def test_a_replica_holding_one_job_takes_the_next_when_it_is_done_not_on_a_timer(
    prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The scenario's service clock never advances: only acknowledgements can pull.
    monkeypatch.setenv("LEAKMON_TEST_PREFIX", prefix)

    result = run_scenario("tests.cluster.download_scenarios:pulls_as_jobs_finish", tmp_path)

    assert result["unchanged"] == result["jobs"] == 40
    assert result["waiting"] == 0
