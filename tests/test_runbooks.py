"""Every ``leakmon`` command of the runbooks (docs/runbooks/*.md) runs exactly as written.

The commands are the lines starting with ``leakmon `` in the pages' ``sh`` code blocks.
Each runs in bash, as on-call would type it, with ``$LEAKMON_CONFIG`` naming a daemon
config whose notifier secret is NOT set (the runbooks promise that read-only commands do
not need it) and a store holding an open critical finding, and must exit 0 without a
traceback. Lines for other tools (systemctl, journalctl, kubectl) are prose, not code
blocks, in those pages: they need a host this test does not have.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.cli import build_parser
from monitor.models import Severity
from monitor.store import Store
from tests.store.fakes import TARGET, URL, FakeRouter, finding, minutes

REPO = Path(__file__).resolve().parents[1]
RUNBOOKS = REPO / "docs" / "runbooks"
_BLOCK = re.compile(r"^( *)```sh\n(.*?)^\1```", re.M | re.S)
CONFIG = f"""\
storage: sqlite:///{{db}}
targets:
  - name: {TARGET}
    start_urls: ["https://data.example.gov/"]
notify:
  - name: ops
    kind: webhook
    url: ${{{{LEAKMON_RUNBOOK_TEST_WEBHOOK}}}}
"""


def _commands() -> list[tuple[str, str]]:
    found = []
    for page in sorted(RUNBOOKS.glob("*.md")):
        for block in _BLOCK.finditer(page.read_text(encoding="utf-8")):
            for line in block.group(2).splitlines():
                line = line.strip()
                if line.startswith("leakmon "):
                    found.append((page.name, line))
    return found


def _unique(commands: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Return each command once (with the first page showing it): the same line runs the same."""
    seen: dict[str, str] = {}
    for page, line in commands:
        seen.setdefault(line, page)
    return [(page, line) for line, page in seen.items()]


COMMANDS = _commands()
_PARSER = build_parser()
SUBCOMMANDS = tuple(
    f"leakmon {name} "
    for name in _PARSER._subparsers._group_actions[0].choices  # type: ignore[union-attr, attr-defined]
)


def test_runbooks_have_commands_in_code_blocks() -> None:
    pages = {page for page, _ in COMMANDS}
    assert len(pages) >= 10
    bare = [
        (page.name, line)
        for page in RUNBOOKS.glob("*.md")
        for line in page.read_text(encoding="utf-8").splitlines()
        if f"{line.strip()} ".startswith(SUBCOMMANDS) and (page.name, line.strip()) not in COMMANDS
    ]
    assert bare == [], "a leakmon command outside an sh block is not run by this test"


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("runbooks")
    config = tmp / "leakmon.yaml"
    config.write_text(CONFIG.format(db=tmp / "state.db"), encoding="utf-8")
    store = Store(f"sqlite:///{tmp / 'state.db'}")
    store.migrate()
    store.apply_findings(
        TARGET,
        URL,
        [finding(severity=Severity.CRITICAL)],
        minutes(0),
        FakeRouter(),
    )
    store.close()
    env = {k: v for k, v in os.environ.items() if k != "LEAKMON_RUNBOOK_TEST_WEBHOOK"}
    bindir = str(Path(sys.executable).parent)
    env.update(LEAKMON_CONFIG=str(config), PATH=f"{bindir}:{env.get('PATH', '')}")
    return env


@pytest.mark.parametrize(("page", "command"), _unique(COMMANDS), ids=lambda v: v)
def test_runbook_command_runs_as_written(
    page: str, command: str, environment: dict[str, str]
) -> None:
    done = subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=environment,
    )
    assert done.returncode == 0, f"{page}: {command}\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
    assert "Traceback" not in done.stderr
    if command.startswith("leakmon findings --open"):
        assert "***-**-9999" in done.stdout  # the open finding, masked
        if "--format json" in command:
            (row,) = json.loads(done.stdout)
            assert row["severity"] == "critical"
