"""Build the Presidio analyzer leakmon uses: offline, with no language model unless installed.

Presidio normally runs spaCy for tokens, lemmas and person names. leakmon must
start offline on a bare server, so by default it runs Presidio's no-op NLP engine,
finds names with :class:`~monitor.detect.recognizers.NameListRecognizer`, and
reads context words straight from the text with :class:`TextContextEnhancer`.
If a spaCy English pipeline is installed it is used as well; none is ever
downloaded.
"""

from __future__ import annotations

import bisect
import functools
import importlib.util
import logging
import os
import re
from importlib import resources
from typing import TYPE_CHECKING

import yaml

# Before presidio is imported: see monitor/detect/recognizers/__init__.py.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

from presidio_analyzer import (
    AnalyzerEngine,
    EntityRecognizer,
    PatternRecognizer,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpEngine, NlpEngineProvider, NoOpNlpEngine

from monitor.detect.recognizers import RECOGNIZER_CLASSES
from monitor.errors import ConfigError

if TYPE_CHECKING:
    from pathlib import Path

    from presidio_analyzer.nlp_engine import NlpArtifacts

logger = logging.getLogger(__name__)

LANGUAGE = "en"
#: spaCy English pipelines used when installed, best first. Never downloaded.
SPACY_MODELS = ("en_core_web_lg", "en_core_web_md", "en_core_web_sm", "en_core_web_trf")

_WORD = re.compile(r"[^\W_]+")


class TextContextEnhancer(ContextAwareEnhancer):
    """Raise a result's score when one of its recognizer's context words is near it.

    Presidio's own enhancer compares spaCy lemmas, so with the no-op NLP engine it
    sees no context in the text at all. This one splits the text into words with a
    regex and looks at the ``context_prefix_count`` words before a match and the
    ``context_suffix_count`` words after it, plus any ``context`` passed to
    ``analyze`` (a column header, say). Words are compared whole and lower-cased,
    a trailing plural "s" is ignored, and multi-word context ("date of birth",
    "state id") matches the same words in a row. Scores move as in Presidio: plus
    ``context_similarity_factor``, at least ``min_score_with_context_similarity``.
    """

    MAX_PHRASE_WORDS = 4

    def __init__(
        self,
        context_similarity_factor: float = 0.35,
        min_score_with_context_similarity: float = 0.4,
        context_prefix_count: int = 5,
        context_suffix_count: int = 0,
    ) -> None:
        super().__init__(
            context_similarity_factor=context_similarity_factor,
            min_score_with_context_similarity=min_score_with_context_similarity,
            context_prefix_count=context_prefix_count,
            context_suffix_count=context_suffix_count,
        )

    def enhance_using_context(
        self,
        text: str,
        raw_results: list[RecognizerResult],
        nlp_artifacts: NlpArtifacts,
        recognizers: list[EntityRecognizer],
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        """Return ``raw_results`` with scores raised where context words surround a match."""
        by_id = {rec.id: rec for rec in recognizers}
        matches = list(_WORD.finditer(text))
        starts = [m.start() for m in matches]
        words = [m.group().lower() for m in matches]
        external = _phrases(_WORD.findall(" ".join(context or []).lower()), self.MAX_PHRASE_WORDS)
        for result in raw_results:
            meta = result.recognition_metadata
            if not meta:  # the analyzer fills it in; without it the recognizer is unknown
                continue
            recognizer = by_id.get(meta.get(RecognizerResult.RECOGNIZER_IDENTIFIER_KEY))
            if recognizer is None or not recognizer.context:
                continue
            if meta.get(RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY):
                continue
            first = bisect.bisect_left(starts, result.start)
            after = bisect.bisect_left(starts, result.end)
            before_words = words[max(0, first - self.context_prefix_count) : first]
            after_words = words[after : after + self.context_suffix_count]
            near = (
                _phrases(before_words, self.MAX_PHRASE_WORDS)
                | _phrases(after_words, self.MAX_PHRASE_WORDS)
                | external
            )
            word = next(
                (w for w, key in _context_keys(tuple(recognizer.context)) if key in near), None
            )
            if word is None:
                continue
            result.score = min(
                self.MAX_SCORE,
                max(
                    result.score + self.context_similarity_factor,
                    self.min_score_with_context_similarity,
                ),
            )
            if result.analysis_explanation is not None:
                result.analysis_explanation.set_supportive_context_word(word)
                result.analysis_explanation.set_improved_score(result.score)
            meta[RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY] = True
        return raw_results


def _phrases(words: list[str], longest: int) -> set[str]:
    """Return every run of up to ``longest`` consecutive words, joined by one space."""
    out: set[str] = set()
    for i, word in enumerate(words):
        if len(word) > 3 and word.endswith("s"):
            out.add(word[:-1])
        for n in range(1, longest + 1):
            if i + n <= len(words):
                out.add(" ".join(words[i : i + n]))
    return out


@functools.lru_cache(maxsize=256)
def _context_keys(context: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """Return (context word, its comparable form) pairs: "D.O.B." -> "d o b"."""
    keys = ((word, " ".join(_WORD.findall(word.lower()))) for word in context)
    return tuple((word, key) for word, key in keys if key)


def installed_spacy_model() -> str | None:
    """Return the name of an installed spaCy English pipeline, or None; never download one."""
    for model in SPACY_MODELS:
        if importlib.util.find_spec(model) is None:
            continue
        import spacy.util  # presidio depends on spaCy; imported only when a model exists

        # Presidio downloads a model that spaCy does not see as a package: check both.
        if spacy.util.is_package(model):
            return model
    return None


def _nlp_engine(model: str | None) -> NlpEngine:
    """Return a loaded NLP engine: spaCy with ``model``, or the no-op engine."""
    engine: NlpEngine
    if model is None:
        engine = NoOpNlpEngine(models=[{"lang_code": LANGUAGE, "model_name": "no_op"}])
    else:
        config = {
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": LANGUAGE, "model_name": model}],
        }
        engine = NlpEngineProvider(nlp_configuration=config).create_engine()
    if not engine.is_loaded():
        engine.load()
    return engine


def _add_yaml_recognizers(registry: RecognizerRegistry, text: str, source: str) -> int:
    """Add the recognizers of one YAML file to ``registry``; return how many.

    Presidio's own loader prints errors and re-raises raw exceptions; this one
    raises :class:`ConfigError` naming the file and the failing entry.
    """
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"recognizer file {source} is not valid YAML: {exc}") from exc
    entries = doc.get("recognizers") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise ConfigError(f"recognizer file {source} needs a top-level 'recognizers' list")
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ConfigError(f"recognizers[{index}] in {source} must be a mapping, got {entry!r}")
        try:
            registry.add_pattern_recognizer_from_dict(entry)
        except (TypeError, ValueError) as exc:
            name = entry.get("name", "?")
            raise ConfigError(
                f"recognizers[{index}] ({name}) in {source} is invalid: {exc}"
            ) from exc
    return len(entries)


@functools.cache
def build_analyzer(extra_yaml: Path | None = None) -> AnalyzerEngine:
    """Return the shared analyzer: Presidio's English recognizers, leakmon's, and YAML ones.

    Built once per ``extra_yaml`` and cached, since loading takes about a second.
    The packaged ``data/recognizers.yaml`` is always loaded; ``extra_yaml`` adds a
    user's file on top.

    Raises:
        ConfigError: a recognizer YAML file is missing, malformed or has a bad entry.
    """
    model = installed_spacy_model()
    nlp_engine = _nlp_engine(model)
    registry = RecognizerRegistry(supported_languages=[LANGUAGE])
    # With the no-op engine this adds no NER recognizer; with spaCy it adds spaCy's.
    registry.load_predefined_recognizers(languages=[LANGUAGE], nlp_engine=nlp_engine)
    for cls in RECOGNIZER_CLASSES:
        registry.add_recognizer(cls())
    packaged = resources.files("monitor.detect").joinpath("data", "recognizers.yaml")
    count = _add_yaml_recognizers(
        registry, packaged.read_text("utf-8"), "monitor/detect/data/recognizers.yaml"
    )
    if extra_yaml is not None:
        try:
            extra_text = extra_yaml.read_text("utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read recognizer file {extra_yaml}: {exc}") from exc
        count += _add_yaml_recognizers(registry, extra_text, str(extra_yaml))
    analyzer = AnalyzerEngine(
        registry=registry,
        nlp_engine=nlp_engine,
        supported_languages=[LANGUAGE],
        # spaCy gives lemmas, so Presidio's default enhancer works; without it, ours.
        context_aware_enhancer=None if model else TextContextEnhancer(),
    )
    logger.info(
        "built presidio analyzer nlp=%s recognizers=%d yaml_recognizers=%d",
        model or "no_op",
        len(list(registry.recognizers)),
        count,
    )
    return analyzer


def pattern_recognizers(extra_yaml: Path | None = None) -> tuple[PatternRecognizer, ...]:
    """Return the analyzer's regex recognizers, Presidio's and leakmon's, for reuse in column scans.

    Each carries ``patterns`` (``Pattern.regex``, ``Pattern.score``), ``context``,
    ``global_regex_flags`` and the ``validate_result`` / ``invalidate_result``
    hooks. They are the analyzer's own instances: read them, do not change them.
    Recognizers that are not regex-based (phone numbers, person names) are left
    out; one with ``REQUIRES_CONTEXT = True`` must only count matches that have
    context, such as a matching column header.
    """
    recognizers = build_analyzer(extra_yaml).registry.recognizers
    return tuple(rec for rec in recognizers if isinstance(rec, PatternRecognizer))
