"""Configuration: the example loads, typos fail with their field path, secrets stay secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import ScanConfig, load_scan_config
from monitor.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def test_example_config_loads_and_equals_the_defaults() -> None:
    loaded = load_scan_config(REPO / "config" / "leakmon.example.yaml")
    assert loaded == ScanConfig()


@pytest.mark.parametrize(
    ("yaml_text", "path"),
    [
        ("scan:\n  limits:\n    max_rowz: 5\n", "limits.max_rowz"),
        ("scan:\n  fail_on: urgent\n", "fail_on"),
        ("scan:\n  limits:\n    chunk_mb: -1\n", "limits.chunk_mb"),
    ],
)
def test_bad_values_name_their_field(tmp_path: Path, yaml_text: str, path: str) -> None:
    file = tmp_path / "c.yaml"
    file.write_text(yaml_text)
    with pytest.raises(ConfigError, match=path.replace(".", r"\.")):
        load_scan_config(file)


def test_broken_yaml_is_a_config_error(tmp_path: Path) -> None:
    file = tmp_path / "c.yaml"
    file.write_text("scan: [unclosed\n")
    with pytest.raises(ConfigError, match="cannot read YAML"):
        load_scan_config(file)


def test_hash_key_comes_from_the_environment_and_is_redacted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEAKMON_HASH_KEY", "s3cret-value")
    config = load_scan_config(None)
    assert config.hash_key is not None
    assert config.hash_key.get_secret_value() == "s3cret-value"
    assert "s3cret-value" not in repr(config)


def test_read_limits_follow_the_config() -> None:
    limits = ScanConfig.model_validate({"limits": {"chunk_mb": 2, "max_pdf_pages": 7}}).limits
    assert limits.read_limits().chunk_bytes == 2 * 1024**2
    assert limits.read_limits().max_pdf_pages == 7
