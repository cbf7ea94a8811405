"""Endless, lying and compressed bodies: ``crawl.download_max_mb`` bounds them, inflated too."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.timeout(180)

TOO_LARGE = "too large: over the download limit of 2097152 bytes"
INFLATES = "too large: inflates past the download limit of 2097152 bytes"


@pytest.fixture(scope="module")
def run(scenario: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return scenario("tests.crawl.hostile_scenarios:sizes")


def _errors(run: dict[str, Any]) -> dict[str, str]:
    return {e["url"].rsplit("/", 1)[1]: e["error"] for e in run["polls"]["files"]["errors"]}


def test_an_endless_chunked_file_is_cut_at_the_size_limit(run: dict[str, Any]) -> None:
    assert _errors(run)["endless.csv"] == TOO_LARGE


def test_a_declared_length_over_the_limit_is_not_downloaded(run: dict[str, Any]) -> None:
    assert _errors(run)["huge-declared.csv"] == TOO_LARGE


@pytest.mark.parametrize("name", ["gzip.csv", "deflate.csv", "br.csv", "zstd.csv", "nested.csv"])
def test_compression_bombs_are_stopped_at_the_limit_after_decompression(
    run: dict[str, Any], name: str
) -> None:
    # gzip: 1 GiB in about 1 MB; nested: 1 GiB in under 2 KB (gzip, gzip); others 64 MiB.
    assert _errors(run)[name] == INFLATES


def test_a_body_shorter_than_its_length_is_an_error_never_a_file(run: dict[str, Any]) -> None:
    assert _errors(run)["shorter.csv"] == "ResponseDataLossError"
    assert not any(u.endswith("shorter.csv") for u in run["polls"]["files"]["files"])


def test_a_body_longer_than_its_length_is_read_to_the_declared_length(
    run: dict[str, Any],
) -> None:
    # HTTP/1.1 framing: what follows the declared length is not part of the body.
    assert run["sizes"][run["base"] + "/data/longer.csv"] == 10


def test_the_good_file_still_arrives_and_the_poll_is_complete(run: dict[str, Any]) -> None:
    assert run["ok"]["files"] is True
    assert run["sizes"][run["base"] + "/data/ok.csv"] == 34


@pytest.mark.parametrize("name", ["endless-page", "bomb-page", "short-page"])
def test_a_start_page_too_large_bombed_or_cut_short_makes_the_poll_incomplete(
    run: dict[str, Any], name: str
) -> None:
    # A poll that read nothing must never pass for one that saw the whole portal.
    assert run["ok"][name] is False
    assert run["polls"][name]["seen"] == []


def test_hostile_bodies_end_quickly(run: dict[str, Any]) -> None:
    assert max(run["took"].values()) < 10


def test_a_bomb_page_among_the_links_makes_the_poll_incomplete(run: dict[str, Any]) -> None:
    poll = run["polls"]["bomb-link"]
    assert run["ok"]["bomb-link"] is False  # the bomb page's links were never read
    assert [u.rsplit("/", 1)[1] for u in poll["files"]] == ["linked.csv"]
