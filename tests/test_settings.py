"""The daemon's configuration: example loads, errors name fields, secrets stay secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config import Settings, load_settings, parse_duration
from monitor.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
ENV = {"LEAKMON_WEBHOOK_URL": "http://127.0.0.1:9/hook/t0ken", "LEAKMON_WEBHOOK_SECRET": "s3cr3t"}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)


@pytest.mark.usefixtures("env")
def test_example_config_loads() -> None:
    settings = load_settings(REPO / "config" / "example.yaml")
    assert settings.targets[0].every == 60
    assert settings.notify[0].url is not None
    assert settings.notify[0].url.get_secret_value() == ENV["LEAKMON_WEBHOOK_URL"]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1h", 3600), ("1h30m", 5400), (45, 45), ("2.5s", 2.5)],
)
def test_parses_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "5 minutes", "-5s", "m"])
def test_rejects_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("targets:\n  - name: x\n    start_urls: [ftp://a/b]\n", "targets.0.start_urls"),
        (
            "targets:\n  - name: x\n    start_urls: [http://a/]\n    every: soon\n",
            "targets.0.every",
        ),
        ("targets:\n  - name: x\n    start_urls: [http://a/]\n    evry: 5s\n", "targets.0.evry"),
        (
            "notify:\n  - name: n\n    kind: webhook\n    min_severity: loud\n",
            "notify.0.min_severity",
        ),
        ("allow:\n  - reason: because\n", "at least one of"),
        (
            "notify:\n  - name: n\n    kind: webhook\n    url: ${LEAKMON_NOT_SET_ANYWHERE}\n",
            "LEAKMON_NOT_SET_ANYWHERE is not set",
        ),
        (
            "targets:\n  - {name: a, start_urls: ['http://a/']}\n  - {name: a, start_urls: ['http://b/']}\n",
            "unique",
        ),
    ],
)
def test_errors_name_the_field_and_value(tmp_path: Path, yaml_text: str, message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("$", r"\$")):
        load_settings(path)


@pytest.mark.usefixtures("env")
def test_check_config_redacts_secrets(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text = (
        (REPO / "config" / "example.yaml")
        .read_text()
        .replace(
            'storage: "sqlite:////var/lib/leakmon/state.db"',
            'storage: "postgresql+psycopg://leakmon:pa55word@db:5432/leakmon"',
        )
    )
    path = tmp_path / "c.yaml"
    path.write_text(text)
    assert main(["check-config", str(path)]) == 0
    out = capsys.readouterr().out
    for secret in ("pa55word", "t0ken", "s3cr3t"):
        assert secret not in out
    assert "postgresql+psycopg://leakmon:***@db:5432/leakmon" in out


def test_check_config_reports_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("http:\n  listen: nowhere\n")
    assert main(["check-config", str(path)]) == 2
    assert "http.listen" in capsys.readouterr().err


def test_defaults_are_safe() -> None:
    settings = Settings()
    assert settings.http.listen.startswith("127.0.0.1:")
    assert settings.crawl.obey_robots_txt


_CLUSTER = """
storage: "postgresql+psycopg://leakmon:pa55word@db:5432/leakmon"
cluster:
  redis: "redis://:r3dis-canary@redis:6379/0"
targets:
  - name: portal
    start_urls: ["https://data.example.gov/"]
"""


def test_cluster_section_loads_with_its_defaults(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(_CLUSTER)
    cluster = load_settings(path).cluster
    assert cluster is not None
    assert (cluster.lease, cluster.prefix, cluster.replica) == (30.0, "leakmon", None)


def test_no_cluster_section_means_one_process(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("targets: []\n")
    assert load_settings(path).cluster is None


def test_cluster_needs_a_postgresql_store(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(_CLUSTER.replace("postgresql+psycopg://leakmon:pa55word@db:5432", "sqlite:///"))
    with pytest.raises(ConfigError, match="cluster mode needs a shared PostgreSQL store"):
        load_settings(path)


def test_check_config_hides_the_redis_url(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(_CLUSTER)
    assert main(["check-config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "r3dis-canary" not in out
    assert "pa55word" not in out
