"""A poll's found files reach the real frontier several per round trip, and a dead one says so."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.crawl.conftest import run_scenario

if TYPE_CHECKING:
    from pathlib import Path

    import pytest


def test_files_found_at_once_are_offered_in_a_few_batches_each_answered(
    prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAKMON_TEST_PREFIX", prefix)

    result = run_scenario("tests.cluster.download_scenarios:offers_in_batches", tmp_path)

    assert result["queued"] == 300
    assert result["again"] == 0  # the same URLs, still queued: not queued twice
    assert result["in_stream"] == 300
    assert sum(result["sizes"]) == 310
    assert result["sizes"][0] == 1  # the first goes at once, alone
    assert max(result["sizes"]) == 100  # later ones gather while one is sent, up to the limit
    assert len(result["sizes"]) <= 5


def test_offers_to_a_frontier_that_does_not_answer_all_fail_with_the_reason(
    tmp_path: Path,
) -> None:
    result = run_scenario("tests.cluster.download_scenarios:offers_to_a_dead_frontier", tmp_path)

    assert result["failed"] == [True] * 5
    assert len(result["messages"]) == 1
    assert "cannot queue a download" in result["messages"][0]
