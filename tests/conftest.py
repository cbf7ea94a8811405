"""Shared fixtures: the real corpus, a detector without NLP models, scan settings."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

if TYPE_CHECKING:
    from collections.abc import Callable

    from monitor.config import ScanConfig
    from monitor.detect.engine import Detector

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "real"
#: Tests pin "today" so birth-date ages do not drift with the calendar.
TODAY = dt.date(2026, 11, 1)


@pytest.fixture(scope="session")
def corpus() -> Path:
    """Return the real public-data corpus folder (``../shared/corpus/real``)."""
    if not (CORPUS / "labels.json").is_file():
        pytest.skip(f"real corpus not found at {CORPUS}: clone the repo with ../shared beside it")
    return CORPUS


@pytest.fixture(scope="session")
def labels(corpus: Path) -> dict[str, Any]:
    """Return the corpus truth labels."""
    return json.loads((corpus / "labels.json").read_text())


@pytest.fixture(scope="session")
def detector() -> Detector:
    """Return a detector with census name lists, Presidio free-text analysis and a fixed date."""
    from monitor.detect.factory import build_detector

    det = build_detector(hash_key=b"test-key")
    det.today = TODAY
    return det


@pytest.fixture
def settings() -> Callable[..., ScanConfig]:
    """Return a factory of scan settings that takes field overrides."""
    from monitor.config import ScanConfig

    def make(**overrides: Any) -> ScanConfig:
        return ScanConfig.model_validate(overrides)

    return make
