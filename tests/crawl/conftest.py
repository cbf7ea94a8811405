"""Run crawl scenarios in child processes: Twisted's reactor runs once per process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

REPO = Path(__file__).resolve().parents[2]
#: The driver stops its reactor after this long; the child is killed a little later.
LIMIT = 90.0


def run_scenario(name: str, tmp: Path, reactor: str = "default") -> dict[str, Any]:
    """Run scenario ``name`` (see ``tests.crawl.driver``) in a child process; return its result."""
    out = tmp / f"{name.rpartition(':')[2]}-{reactor}.json"
    env = dict(os.environ, TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS="")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.crawl.driver",
            name,
            str(out),
            "--reactor",
            reactor,
            "--limit",
            str(LIMIT),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=LIMIT + 30,
        check=False,
    )
    written = json.loads(out.read_text()) if out.is_file() else {}
    if proc.returncode != 0 or "result" not in written:
        pytest.fail(
            f"scenario {name} failed (exit {proc.returncode}):\n"
            f"{written.get('error', '')}\n--- stderr ---\n{proc.stderr[-6000:]}"
        )
    result: dict[str, Any] = written["result"]
    result["reactor"] = written.get("reactor")
    return result


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., dict[str, Any]]:
    """Return a runner of scenarios that keeps its output in a module temp dir."""
    tmp = tmp_path_factory.mktemp("crawl")

    def run(name: str, reactor: str = "default") -> dict[str, Any]:
        return run_scenario(name, tmp, reactor)

    return run


def hooks(
    events: list[dict[str, Any]], hook: str, target: str | None = None
) -> list[dict[str, Any]]:
    """Return the recorded calls of one hook (of one target)."""
    return [e for e in events if e["hook"] == hook and target in (None, e.get("target"))]


def paths(urls: list[str], base: str) -> list[str]:
    """Return URLs relative to the portal's base URL."""
    return [u.removeprefix(base) for u in urls]
