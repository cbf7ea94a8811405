"""Fixtures for recognizer tests: run one recognizer alone, with leakmon's context step."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry
from presidio_analyzer.nlp_engine import NoOpNlpEngine

from monitor.detect.presidio_engine import TextContextEnhancer

Found = Callable[[EntityRecognizer, str], list[str]]


def _solo_analyzer(recognizer: EntityRecognizer) -> AnalyzerEngine:
    nlp = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "no_op"}])
    nlp.load()
    registry = RecognizerRegistry(recognizers=[recognizer], supported_languages=["en"])
    return AnalyzerEngine(
        registry=registry,
        nlp_engine=nlp,
        supported_languages=["en"],
        context_aware_enhancer=TextContextEnhancer(),
    )


@pytest.fixture(scope="module")
def found() -> Found:
    """Return ``found(recognizer, text)``: the matched substrings scoring >= 0.4, in order.

    0.4 is where Presidio's context step puts a weak match that has context, so a
    row passes only with context when the bare pattern is weak.
    """
    engines: dict[int, AnalyzerEngine] = {}

    def _found(recognizer: EntityRecognizer, text: str) -> list[str]:
        engine = engines.setdefault(id(recognizer), _solo_analyzer(recognizer))
        results = engine.analyze(text, language="en", score_threshold=0.4)
        return [text[r.start : r.end] for r in sorted(results, key=lambda r: r.start)]

    return _found
