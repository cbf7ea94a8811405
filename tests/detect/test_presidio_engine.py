from __future__ import annotations

import socket
from pathlib import Path

import pytest
import yaml
from presidio_analyzer import PatternRecognizer
from presidio_analyzer.nlp_engine import NoOpNlpEngine

from monitor.detect.presidio_engine import (
    TextContextEnhancer,
    build_analyzer,
    installed_spacy_model,
    pattern_recognizers,
)
from monitor.detect.recognizers import RECOGNIZER_CLASSES
from monitor.errors import ConfigError
from monitor.models import ENTITIES

REPO = Path(__file__).resolve().parents[2]
PACKAGED_YAML = REPO / "monitor" / "detect" / "data" / "recognizers.yaml"
EXAMPLE_YAML = REPO / "config" / "recognizers.yaml"
YAML_NAMES = {
    "LeakmonSsnNoDashRecognizer",
    "LeakmonStreetAddressRecognizer",
    "LeakmonNonStreetAddressRecognizer",
}


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_builds_offline_with_the_no_op_engine(no_network: None) -> None:
    build_analyzer.cache_clear()
    analyzer = build_analyzer()
    analyzer.analyze("mail jane.doe@example.com", language="en")  # e-mail check runs tldextract
    assert installed_spacy_model() is None
    assert isinstance(analyzer.nlp_engine, NoOpNlpEngine)
    assert isinstance(analyzer.context_aware_enhancer, TextContextEnhancer)


def test_is_cached() -> None:
    assert build_analyzer() is build_analyzer()


@pytest.mark.parametrize(
    ("entity", "value"),
    [
        ("US_SSN", "536-22-8164"),
        ("EMAIL_ADDRESS", "jane.doe@example.com"),
        ("PHONE_NUMBER", "(212) 555-0199"),
    ],
)
def test_finds_common_entities_in_a_sentence(entity: str, value: str) -> None:
    text = "Contact: SSN 536-22-8164, jane.doe@example.com, phone (212) 555-0199."
    results = build_analyzer().analyze(text, language="en", entities=[entity], score_threshold=0.4)
    assert value in [text[r.start : r.end] for r in results]


def test_includes_leakmon_and_yaml_recognizers() -> None:
    names = {r.name for r in build_analyzer().registry.recognizers}
    assert {cls.__name__ for cls in RECOGNIZER_CLASSES} <= names
    assert names >= YAML_NAMES
    assert "UsSsnRecognizer" in names  # Presidio's own


def test_finds_leakmon_entities_in_a_sentence() -> None:
    text = (
        "Officer John Smith booked Maria de la Cruz (DOB: 03/14/1987), CII A18273645, "
        "DL B4729136, of 78128 Wood Street Apt. 704."
    )
    results = build_analyzer().analyze(text, language="en", score_threshold=0.4)
    found = {(r.entity_type, text[r.start : r.end]) for r in results}
    assert found >= {
        ("PERSON", "John Smith"),
        ("PERSON", "Maria de la Cruz"),
        ("DATE_OF_BIRTH", "03/14/1987"),
        ("STATE_ID", "A18273645"),
        ("US_DRIVER_LICENSE", "B4729136"),
        ("ADDRESS", "78128 Wood Street Apt. 704"),
    }


def test_context_passed_to_analyze_counts() -> None:
    # A column header is context the text itself does not carry.
    analyzer = build_analyzer()
    bare = analyzer.analyze("536228164", language="en", entities=["US_SSN"])
    with_header = analyzer.analyze(
        "536228164", language="en", entities=["US_SSN"], context=["Soc_Sec_SSN"]
    )
    assert max(r.score for r in bare) < 0.4 <= max(r.score for r in with_header)


def test_context_words_in_text_raise_presidio_scores() -> None:
    # Presidio's SSN recognizer scores bare nine digits 0.05; "SSN" before them is context.
    results = build_analyzer().analyze("SSN 536228164", language="en", entities=["US_SSN"])
    assert max(r.score for r in results) == pytest.approx(0.4)


def test_pattern_recognizers_expose_regexes_and_hooks() -> None:
    recognizers = pattern_recognizers()
    names = {r.name for r in recognizers}
    assert all(isinstance(r, PatternRecognizer) for r in recognizers)
    assert {"UsSsnRecognizer", "CreditCardRecognizer", "CaliforniaDriverLicenseRecognizer"} <= names
    assert {"CiiNumberRecognizer", "DateOfBirthRecognizer"} | YAML_NAMES <= names
    assert "NameListRecognizer" not in names  # not regex-based
    ssn = next(r for r in recognizers if r.name == "UsSsnRecognizer")
    assert ssn.patterns
    assert ssn.invalidate_result("000-12-3456") is True


def test_packaged_and_example_yaml_are_identical() -> None:
    assert PACKAGED_YAML.read_bytes() == EXAMPLE_YAML.read_bytes()


def test_yaml_entities_are_leakmon_entities() -> None:
    doc = yaml.safe_load(PACKAGED_YAML.read_text())
    assert {entry["name"] for entry in doc["recognizers"]} == YAML_NAMES
    assert {entry["supported_entity"] for entry in doc["recognizers"]} <= ENTITIES


def test_leakmon_recognizer_entities_are_leakmon_entities() -> None:
    assert {cls.ENTITY for cls in RECOGNIZER_CLASSES} <= ENTITIES


def test_loads_an_extra_yaml_file(tmp_path: Path) -> None:
    extra = tmp_path / "mine.yaml"
    extra.write_text(
        "recognizers:\n"
        "  - name: BookingNumberRecognizer\n"
        "    supported_language: en\n"
        "    supported_entity: STATE_ID\n"
        "    patterns:\n"
        "      - {name: booking, regex: '\\bBK-[0-9]{6}\\b', score: 0.6}\n"
    )
    analyzer = build_analyzer(extra)
    results = analyzer.analyze("booked as BK-204913", language="en", entities=["STATE_ID"])
    assert [r.score for r in results] == [0.6]
    assert analyzer is not build_analyzer()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("recognizers: [", "not valid YAML"),
        ("something: else\n", "top-level 'recognizers' list"),
        ("recognizers:\n  - just a string\n", "must be a mapping"),
        ("recognizers:\n  - name: Bad\n    supported_entity: X\n", "(Bad)"),
        (
            "recognizers:\n  - name: BadRegex\n    supported_entity: X\n"
            "    patterns: [{name: p, regex: '([', score: 0.5}]\n",
            "(BadRegex)",
        ),
        (
            "recognizers:\n  - name: BadScore\n    supported_entity: X\n"
            "    patterns: [{name: p, regex: 'x', score: 5}]\n",
            "(BadScore)",
        ),
    ],
)
def test_bad_yaml_raises_config_error(tmp_path: Path, content: str, message: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(content)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build_analyzer(bad)


def test_missing_yaml_raises_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read recognizer file"):
        build_analyzer(tmp_path / "absent.yaml")


@pytest.mark.parametrize(
    ("importable", "is_package", "expected"),
    [
        (False, False, None),
        (True, False, None),  # importable but not a pip package: presidio would download
        (True, True, "en_core_web_sm"),
    ],
)
def test_picks_a_spacy_model_only_if_installed(
    monkeypatch: pytest.MonkeyPatch, importable: bool, is_package: bool, expected: str | None
) -> None:
    import importlib.util

    import spacy.util

    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: object() if importable and name == "en_core_web_sm" else None,
    )
    monkeypatch.setattr(spacy.util, "is_package", lambda name: is_package)
    assert installed_spacy_model() == expected
