"""Every plugin a user can configure is documented in the README and the example configs."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.detect.recognizers import RECOGNIZER_CLASSES
from monitor.notifiers import NOTIFIERS
from monitor.readers import REGISTRY

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
DAEMON_EXAMPLE = (REPO / "config" / "example.yaml").read_text()
RECOGNIZERS_YAML = (REPO / "config" / "recognizers.yaml").read_text()


@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_every_reader_kind_is_documented(kind: str) -> None:
    assert f"`{kind}`" in README


@pytest.mark.parametrize("kind", sorted(NOTIFIERS))
def test_every_notifier_kind_is_documented(kind: str) -> None:
    assert f"**{kind}:**" in README
    assert kind in DAEMON_EXAMPLE


@pytest.mark.parametrize("cls", RECOGNIZER_CLASSES, ids=lambda c: c.__name__)
def test_every_recognizer_is_documented(cls: type) -> None:
    assert f"`{cls.__name__}`" in README


def test_yaml_recognizers_are_documented() -> None:
    names = [
        line.split(":", 1)[1].strip()
        for line in RECOGNIZERS_YAML.splitlines()
        if line.startswith("  - name:")
    ]
    assert names
    for name in names:
        assert f"`{name}`" in README, name


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
