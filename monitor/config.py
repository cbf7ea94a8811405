"""leakmon's configuration: one validated pydantic model tree, defaults on the fields.

Unknown keys are errors (``extra="forbid"``), so a typo in YAML fails with its
field path instead of being silently ignored. Secrets come from ``LEAKMON_*``
environment variables, never from YAML kept in a repository.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from monitor.errors import ConfigError
from monitor.models import ReadLimits, Severity

__all__ = ["LimitsConfig", "ScanConfig", "format_validation_error", "load_scan_config"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LimitsConfig(_Model):
    """Bounds on what one file may cost; see ``monitor.models.ReadLimits``."""

    max_file_mb: int = Field(2048, gt=0, description="largest file read, in MiB")
    max_rows: int = Field(50_000_000, gt=0)
    max_columns: int = Field(5_000, gt=0)
    max_sheets: int = Field(200, gt=0)
    chunk_mb: int = Field(8, gt=0, le=1024, description="bytes of CSV parsed at a time, MiB")
    max_archive_depth: int = Field(3, ge=0)
    max_archive_members: int = Field(10_000, gt=0)
    max_uncompressed_mb: int = Field(4096, gt=0)
    max_compression_ratio: float = Field(200.0, gt=1)
    max_pdf_pages: int = Field(500, gt=0)
    max_json_mb: int = Field(512, gt=0)
    worker_memory_mb: int = Field(3072, gt=128, description="address-space limit of a scan worker")
    worker_timeout_s: float = Field(900.0, gt=0, description="wall-clock limit of one file's scan")

    def read_limits(self) -> ReadLimits:
        """Return the limits readers obey."""
        mib = 1024**2
        return ReadLimits(
            max_file_bytes=self.max_file_mb * mib,
            max_rows=self.max_rows,
            max_columns=self.max_columns,
            max_sheets=self.max_sheets,
            chunk_bytes=self.chunk_mb * mib,
            max_archive_depth=self.max_archive_depth,
            max_archive_members=self.max_archive_members,
            max_uncompressed_bytes=self.max_uncompressed_mb * mib,
            max_compression_ratio=self.max_compression_ratio,
            max_pdf_pages=self.max_pdf_pages,
            max_json_bytes=self.max_json_mb * mib,
        )


class ScanConfig(_Model):
    """How files are scanned."""

    limits: LimitsConfig = LimitsConfig()
    fail_on: str = Field("high", pattern=r"^(low|medium|high|critical)$")
    free_text_analysis: bool = Field(
        True, description="run Presidio's analyzer on a sample of free-text cells"
    )
    recognizers_file: Path | None = Field(
        None, description="extra Presidio YAML recognizers (see config/recognizers.yaml)"
    )
    hash_key: SecretStr | None = Field(
        None, description="HMAC key for finding fingerprints; from LEAKMON_HASH_KEY"
    )

    @property
    def fail_severity(self) -> Severity:
        """Return ``fail_on`` as a severity."""
        return Severity.parse(self.fail_on)


def format_validation_error(exc: ValidationError, where: str) -> str:
    """Return pydantic's errors as ``path.to.field: message (got value)`` lines."""
    lines = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"]) or "<root>"
        got = err.get("input")
        shown = "" if isinstance(got, dict) else f" (got {got!r})"
        lines.append(f"{where}: {path}: {err['msg']}{shown}")
    return "\n".join(lines)


def load_scan_config(
    path: Path | None = None, overrides: dict[str, Any] | None = None
) -> ScanConfig:
    """Load scan settings from YAML (the ``scan:`` section or the whole file) and the environment.

    Raises:
        ConfigError: naming the field path and the bad value.
    """
    data: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: cannot read YAML: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: top level must be a mapping, got {type(loaded).__name__}")
        data = dict(loaded.get("scan", loaded))
    data.update(overrides or {})
    key = os.environ.get("LEAKMON_HASH_KEY")
    if key:
        data["hash_key"] = key
    try:
        return ScanConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, str(path or "scan config"))) from exc
