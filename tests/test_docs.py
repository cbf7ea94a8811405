"""The documentation: every plugin a user can configure is documented (docs site and example
configs), the README stays short and keeps its quick start, generated pages are current, and
the MkDocs site builds with --strict."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from monitor.detect.recognizers import RECOGNIZER_CLASSES
from monitor.notifiers import NOTIFIERS
from monitor.readers import REGISTRY

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
DOCS_DIR = REPO / "docs"
#: The README and every page of the docs site, as one text to search.
DOCS = README + "\n".join(p.read_text() for p in sorted(DOCS_DIR.rglob("*.md")))
DAEMON_EXAMPLE = (REPO / "config" / "example.yaml").read_text()
RECOGNIZERS_YAML = (REPO / "config" / "recognizers.yaml").read_text()
#: The project's contract: the README's quick start, exactly.
QUICK_START = (
    "python3 -m venv .venv && .venv/bin/pip install -q . && .venv/bin/leakmon demo\n"
    "bash scripts/check\n"
)


@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_every_reader_kind_is_documented(kind: str) -> None:
    assert f"`{kind}`" in DOCS


@pytest.mark.parametrize("kind", sorted(NOTIFIERS))
def test_every_notifier_kind_is_documented(kind: str) -> None:
    assert f"**{kind}:**" in DOCS
    assert kind in DAEMON_EXAMPLE


@pytest.mark.parametrize("cls", RECOGNIZER_CLASSES, ids=lambda c: c.__name__)
def test_every_recognizer_is_documented(cls: type) -> None:
    assert f"`{cls.__name__}`" in DOCS


def test_yaml_recognizers_are_documented() -> None:
    names = [
        line.split(":", 1)[1].strip()
        for line in RECOGNIZERS_YAML.splitlines()
        if line.startswith("  - name:")
    ]
    assert names
    for name in names:
        assert f"`{name}`" in DOCS, name


@pytest.mark.parametrize(
    "command",
    [
        "leakmon demo",
        "leakmon run",
        "leakmon scan",
        "leakmon check-config",
        "leakmon findings",
        "leakmon baseline accept",
        "bash scripts/check",
    ],
)
def test_readme_shows_each_command(command: str) -> None:
    assert command in README


def test_ci_runs_exactly_the_readme_test_command() -> None:
    assert "exec bash scripts/check" in (REPO / ".ci" / "run").read_text()
    assert "bash scripts/check" in README


def test_readme_is_short_and_keeps_its_quick_start() -> None:
    assert len(README.encode()) < 40_000
    assert f"```sh\n{QUICK_START}```" in README
    for section in ("## Quick start", "## A five-minute tour", "## Documentation"):
        assert section in README


def test_readme_links_resolve() -> None:
    import re

    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README):
        if "://" not in target:
            assert (REPO / target).exists(), target


def test_reference_pages_match_the_code() -> None:
    """docs/configuration.md and docs/cli.md are generated from the config model and parser."""
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "reference_docs.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_every_page_and_runbook_is_in_the_nav() -> None:
    config = yaml.load((REPO / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)  # noqa: S506

    def pages(items: object) -> list[str]:
        if isinstance(items, str):
            return [items]
        if isinstance(items, dict):
            return [p for v in items.values() for p in pages(v)]
        if isinstance(items, list):
            return [p for v in items for p in pages(v)]
        return []

    nav = set(pages(config["nav"]))
    files = {p.relative_to(DOCS_DIR).as_posix() for p in DOCS_DIR.rglob("*.md")}
    assert files - nav == set()
    assert nav - files == set()


def test_site_builds_strictly(tmp_path: Path) -> None:
    """`mkdocs build --strict`: a broken link, a missing page or a page left out fails."""
    mkdocs = shutil.which("mkdocs") or shutil.which("mkdocs", path=str(REPO / ".venv" / "bin"))
    if mkdocs is None:
        message = "mkdocs is not installed: pip install -e '.[docs]'"
        if os.environ.get("CI"):
            pytest.fail(f"{message} (CI is set, so the docs build may not be skipped)")
        pytest.skip(message)
    done = subprocess.run(
        [mkdocs, "build", "--strict", "--site-dir", str(tmp_path / "site")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    assert (tmp_path / "site" / "runbooks" / "leakmoncriticalfindingsopen" / "index.html").exists()
