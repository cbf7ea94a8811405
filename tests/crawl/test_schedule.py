"""The service's schedule: intervals, no overlapping polls, and a clean stop.

The first test runs the real service on a reactor in a child process; the
others drive the scheduling logic with Twisted's ``Clock`` and fake polls, in
this process, without running a reactor.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import pytest
from twisted.internet import defer
from twisted.internet.task import Clock

from monitor.config import Settings
from monitor.crawl import CrawlService
from monitor.errors import ConfigError
from monitor.metrics import Metrics
from tests.crawl.conftest import hooks
from tests.crawl.recording import RecordingHooks

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def run(scenario: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return scenario("schedule")


def _windows(run: dict[str, Any], target: str) -> list[dict[str, Any]]:
    return [w for w in run["windows"] if w["target"] == target]


def test_targets_are_polled_repeatedly_and_concurrently(run: dict[str, Any]) -> None:
    assert len(_windows(run, "one")) >= 2
    assert len(_windows(run, "two")) >= 2
    slow = _windows(run, "slow")[0]
    # While the slow target's single poll ran, the others completed several.
    assert [
        w for w in _windows(run, "one") if slow["start"] < w["start"] and w["end"] < slow["end"]
    ]


def test_polls_of_one_target_never_overlap_and_keep_the_interval(run: dict[str, Any]) -> None:
    for target in ("one", "two", "slow"):
        windows = _windows(run, target)
        for before, after in itertools.pairwise(windows):
            assert after["start"] >= before["end"]
            assert after["start"] - before["start"] >= 1.0 - 0.05


def test_stop_ends_the_running_poll_and_schedules_no_more(run: dict[str, Any]) -> None:
    assert run["running"] == [False, True, False]
    assert run["stop_seconds"] < 5.0  # the slow page was in flight; nothing else waited
    assert run["polls_later"] == run["polls_at_stop"]
    slow = hooks(run["events"], "on_poll_done", "slow")
    assert [e["ok"] for e in slow] == [False]  # stopped mid-poll: not a complete view
    assert all(w["end"] is not None for w in run["windows"])


# -- the scheduling logic, with a fake clock -------------------------------------------


def _service(clock: Clock, *names: str, every: float = 10.0) -> CrawlService:
    settings = Settings.model_validate(
        {
            "targets": [
                {"kind": "html", "name": n, "start_urls": ["http://127.0.0.1:9/"], "every": every}
                for n in names
            ]
        }
    )
    return CrawlService(settings, RecordingHooks(), Metrics(), clock=clock)


class _FakePolls:
    """Stands in for ``CrawlService.poll``: each call returns a Deferred the test fires."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float]] = []
        self.pending: dict[str, defer.Deferred[bool]] = {}

    def __call__(self, name: str) -> defer.Deferred[bool]:
        assert name not in self.pending, "overlapping polls"
        d: defer.Deferred[bool] = defer.Deferred()
        self.pending[name] = d
        return d

    def finish(self, name: str, ok: bool = True) -> None:
        self.pending.pop(name).callback(ok)


def _install(service: CrawlService, clock: Clock) -> _FakePolls:
    fake = _FakePolls()

    def poll(name: str) -> defer.Deferred[bool]:
        fake.calls.append((name, clock.seconds()))
        return fake(name)

    service.poll = poll  # type: ignore[method-assign]
    return fake


def test_next_poll_is_scheduled_when_the_previous_one_ends() -> None:
    clock = Clock()
    service = _service(clock, "a")
    fake = _install(service, clock)
    service.start()
    clock.advance(0)
    assert fake.calls == [("a", 0.0)]
    clock.advance(25)  # the poll runs longer than its interval: no second poll meanwhile
    assert len(fake.calls) == 1
    fake.finish("a")
    clock.advance(0.5)
    assert len(fake.calls) == 1
    clock.advance(0.5)  # one second after it ended
    assert fake.calls[-1] == ("a", 26.0)
    fake.finish("a")
    clock.advance(9)
    assert len(fake.calls) == 2
    clock.advance(1)  # every=10 s after the start of the second poll
    assert fake.calls[-1] == ("a", 36.0)


def test_targets_are_scheduled_independently() -> None:
    clock = Clock()
    service = _service(clock, "a", "b")
    fake = _install(service, clock)
    service.start()
    clock.advance(0)
    assert sorted(n for n, _ in fake.calls) == ["a", "b"]
    fake.finish("a")
    clock.advance(10)
    assert [n for n, _ in fake.calls].count("a") == 2
    assert [n for n, _ in fake.calls].count("b") == 1


def test_stop_cancels_pending_polls() -> None:
    clock = Clock()
    service = _service(clock, "a", "b")
    fake = _install(service, clock)
    service.start()
    clock.advance(0)
    fake.finish("a")
    stopped = service.stop()
    assert not service.running
    assert clock.getDelayedCalls() == []
    # stop() waits for polls started by poll() itself (the reactor test shows it);
    # these fakes bypass poll(), so nothing is left to wait for.
    assert stopped.called
    fake.finish("b")
    clock.advance(100)
    assert len(fake.calls) == 2


def test_a_poll_that_cannot_start_keeps_the_schedule() -> None:
    clock = Clock()
    service = _service(clock, "a")
    calls: list[float] = []

    def broken(name: str) -> defer.Deferred[bool]:
        calls.append(clock.seconds())
        raise RuntimeError("cannot build the crawler")

    service.poll = broken  # type: ignore[method-assign]
    service.start()
    clock.advance(0)
    clock.advance(10)
    clock.advance(10)
    assert calls == [0.0, 10.0, 20.0]


def test_unknown_portal_kind_is_a_config_error() -> None:
    settings = Settings.model_validate(
        {"targets": [{"name": "x", "start_urls": ["http://127.0.0.1:9/"], "kind": "nosuch"}]}
    )
    with pytest.raises(ConfigError, match=r"no spider for kind 'nosuch'.*html"):
        CrawlService(settings, RecordingHooks(), Metrics(), clock=Clock())


def test_polling_an_unknown_target_is_a_key_error() -> None:
    service = _service(Clock(), "a")
    with pytest.raises(KeyError):
        service.poll("nope")
