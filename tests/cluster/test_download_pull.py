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


def test_a_take_reads_its_jobs_validators_together_and_acknowledges_every_job(
    prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAKMON_TEST_PREFIX", prefix)

    result = run_scenario("tests.cluster.download_scenarios:reads_validators_per_take", tmp_path)

    # The stored sha256 read with the take made every 200 "unchanged".
    assert result["unchanged"] == 40
    assert sum(result["validator_reads"]) == 40
    assert max(result["validator_reads"]) > 1  # not one query per file
    assert result["asked_with_stored"] == 40
    assert result["asked_without"] == 0
    assert result["left_in_stream"] == 0  # every job acknowledged, in batches or not


def test_when_the_store_fails_a_batch_read_each_job_asks_for_its_own_validators(
    prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAKMON_TEST_PREFIX", prefix)

    result = run_scenario(
        "tests.cluster.download_scenarios:store_down_reads_validators_one_by_one", tmp_path
    )

    assert result["unchanged"] == 40
    assert result["asked_with_stored"] == 0
    assert result["asked_without"] == 40
    assert result["left_in_stream"] == 0


def test_when_acknowledgements_fail_the_replica_goes_on_and_the_jobs_wait_for_their_lease(
    prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAKMON_TEST_PREFIX", prefix)

    result = run_scenario("tests.cluster.download_scenarios:acknowledgements_lost", tmp_path)

    assert result["unchanged"] == 40  # every job fetched: a failed send did not stop the pulls
    assert sum(result["acknowledged"]) == 40  # each job's acknowledgement was tried once
    assert result["waiting"] == 0
    assert result["left_in_stream"] == 40  # still pending: reclaimed by others after the lease


def test_a_replica_takes_no_job_while_its_scan_slots_are_full_however_many_it_may_download(
    prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAKMON_TEST_PREFIX", prefix)

    result = run_scenario(
        "tests.cluster.download_scenarios:takes_nothing_while_scans_are_full", tmp_path
    )

    # 8 downloads, and one more taken while only the first handed file waited for a scan
    assert result["at_first"] == 9
    assert result["after_7_scanned"] == 9  # 2 files still wait for a scan: nothing taken
    # 1 waits: 8 more downloads; the first of them handed makes 2 waiting again
    assert result["after_8_scanned"] == 17
    assert result["handed"] == 17
