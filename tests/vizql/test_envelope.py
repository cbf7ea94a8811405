"""The spool envelope of VizQL data answers, and the fast loader under it."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.errors import TableauProtocolError
from monitor.vizql.envelope import MAGIC, read_envelope, write_envelope
from monitor.vizql.fastload import load_answer
from tests.vizql.recorded import load

if TYPE_CHECKING:
    from pathlib import Path


def test_round_trip_streams_the_answer_unchanged(tmp_path: Path) -> None:
    raw = (json.dumps(load("underlying_data.json"), indent=1) + "\n").encode()
    path = tmp_path / "answer.vizql"
    blocks = [raw[i : i + 1000] for i in range(0, len(raw), 1000)]
    segments = {"0": {"dataColumns": []}}
    write_envelope(
        path, mechanism="full_data", view="NY/Hospitals", segments=segments, response=blocks
    )
    data = path.read_bytes()
    assert data.startswith(MAGIC)
    assert raw in data  # copied in, not re-encoded
    envelope = read_envelope(data)
    assert (envelope.mechanism, envelope.view) == ("full_data", "NY/Hospitals")
    assert envelope.segments == segments
    assert envelope.decode().frame.shape == (200, 21)


def test_rejects_unknown_mechanism_and_non_object_answers(tmp_path: Path) -> None:
    path = tmp_path / "a.vizql"
    with pytest.raises(ValueError, match="unknown VizQL mechanism"):
        write_envelope(path, mechanism="crosstab", view="v", segments={}, response=b"{}")
    with pytest.raises(TableauProtocolError, match="does not start with a JSON object"):
        write_envelope(path, mechanism="full_data", view="v", segments={}, response=b"<html>")
    with pytest.raises(TableauProtocolError, match="empty"):
        write_envelope(path, mechanism="full_data", view="v", segments={}, response=[b"", b" "])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"view": "v"}', "no leakmon_vizql key first"),
        (b'{"leakmon_vizql":2,"mechanism":"full_data"}', "unknown version"),
        (b'{"leakmon_vizql":1,"mechanism":"x"}', "unknown mechanism"),
        (b'{"leakmon_vizql":1,"mechanism":"full_data","view":1}', "no 'view' string"),
        (
            b'{"leakmon_vizql":1,"mechanism":"full_data","view":"v","segments":[],"response":{}}',
            "not an object",
        ),
        (
            b'{"leakmon_vizql":1,"mechanism":"full_data","view":"v","segments":{},"response":{',
            "not valid JSON",
        ),
    ],
)
def test_broken_envelopes_are_clear_errors(data: bytes, message: str) -> None:
    with pytest.raises(TableauProtocolError, match=message):
        read_envelope(data)


def _lists(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lists(v) for v in value]
    return value


@pytest.mark.parametrize("name", ["underlying_data.json", "summary_data.json"])
def test_fast_loader_equals_json_but_for_format_indices(name: str) -> None:
    text = (json.dumps(load(name), indent=2)).encode()
    fast = load_answer(text, what="answer")
    plain = json.loads(text)
    for column in plain["vqlCmdResponse"]["cmdResultList"][0]["commandReturn"][
        "underlyingDataTable"
    ]["underlyingDataTableColumns"]:
        column["formatValIdxs"] = None
    assert _lists(fast) == plain
    column = fast["vqlCmdResponse"]["cmdResultList"][0]["commandReturn"]["underlyingDataTable"][
        "underlyingDataTableColumns"
    ][0]
    assert isinstance(column["valueIndices"], np.ndarray)


@pytest.mark.parametrize("array", [b"1,,2", b"1,-", b"1-2", b"1 2", b"--1", b"1,2,", b",1", b"-"])
def test_fast_loader_refuses_what_json_refuses(array: bytes) -> None:
    data = b'{"valueIndices":[' + array + b"]}"
    with pytest.raises(json.JSONDecodeError):
        json.loads(data)
    with pytest.raises(TableauProtocolError, match="malformed integer array at offset 16"):
        load_answer(data, what="answer")


def test_fast_loader_leaves_strings_and_other_arrays_to_json() -> None:
    data = (
        b'{"note":"x\\",\\"valueIndices\\":[1]","valueIndices":[1.5,"a"],'
        b'"x":[{"aliasIndices" : [ -1 , 2 ]}],"leakmon-index-0":0}'
    )
    loaded = load_answer(data, what="answer")
    assert loaded["note"] == 'x","valueIndices":[1]'
    assert loaded["valueIndices"] == [1.5, "a"]
    assert loaded["x"][0]["aliasIndices"].tolist() == [-1, 2]
    assert loaded["leakmon-index-0"] == 0


def test_fast_loader_is_linear_on_hostile_nesting() -> None:
    data = b'{"x":' + b'{"valueIndices":[' * 200_000 + b"1" + b"]}" * 200_000 + b"}"
    started = time.monotonic()
    with pytest.raises(TableauProtocolError, match="nests JSON too deep"):
        load_answer(data, what="answer")
    assert time.monotonic() - started < 5


_KEYS = st.sampled_from(["valueIndices", "aliasIndices", "formatValIdxs", "other"])
_SPACES = st.sampled_from(["", " ", "\n", "\t ", "\r\n  "])


@st.composite
def _documents(draw: st.DrawFn) -> str:
    """JSON text with integer arrays under the index keys, spaced in odd ways."""
    parts = []
    for _ in range(draw(st.integers(1, 6))):
        key = draw(_KEYS)
        values = draw(st.lists(st.integers(-(2**40), 2**40), max_size=8))
        gap = draw(_SPACES)
        body = f",{gap}".join(str(v) for v in values)
        parts.append(f'{gap}"{key}"{gap}:{gap}[{gap}{body}{gap}]')
    note = json.dumps(draw(st.text(max_size=20)))
    return '{"note":' + note + "," + ",".join(parts) + ',"nested":[{' + ",".join(parts) + "}]}"


@settings(max_examples=300, deadline=None)
@given(text=_documents())
def test_fast_loader_equals_json_on_generated_documents(text: str) -> None:
    plain = json.loads(text)

    def drop(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: None if k == "formatValIdxs" else drop(v) for k, v in value.items()}
        if isinstance(value, list):
            return [drop(v) for v in value]
        return value

    assert _lists(load_answer(text.encode(), what="answer")) == drop(plain)
