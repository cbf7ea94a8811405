"""Chunk framing of bootstrapSession bodies, including hostile framing."""

from __future__ import annotations

import json

import pytest
from faker import Faker

from monitor.errors import TableauProtocolError
from monitor.vizql.encode import frame_chunks
from monitor.vizql.framing import split_chunks
from tests.vizql.recorded import load


def test_splits_recorded_info_and_data_chunks() -> None:
    info, data = load("bootstrap_info.json"), load("bootstrap_data.json")
    assert split_chunks(frame_chunks(info, data)) == [info, data]


def test_accepts_whitespace_around_chunks_as_in_recorded_sample() -> None:
    # tableau-scraping's tableauDataResponse starts and ends with a newline.
    body = b"\n" + frame_chunks({"a": 1}, {"b": [2]}) + b"\n"
    assert split_chunks(body) == [{"a": 1}, {"b": [2]}]


def test_accepts_plain_json_object_body_and_bom() -> None:
    assert split_chunks(b'\xef\xbb\xbf {"vqlCmdResponse": {}}') == [{"vqlCmdResponse": {}}]


@pytest.mark.parametrize("unit", ["characters", "utf-8 bytes", "utf-16 units"])
def test_length_prefix_may_count_characters_bytes_or_utf16_units(unit: str) -> None:
    chunk = json.dumps({"city": "Zürich 𝄞"}, ensure_ascii=False)
    length = {
        "characters": len(chunk),
        "utf-8 bytes": len(chunk.encode()),
        "utf-16 units": len(chunk.encode("utf-16-le")) // 2,
    }[unit]
    body = f"{length};{chunk}2;{{}}".encode()
    assert split_chunks(body) == [{"city": "Zürich 𝄞"}, {}]


HOSTILE = [
    (b"abc;{}", "no '<length>;' prefix"),
    (b"-5;{}", "no '<length>;' prefix"),
    (b"99999999999999999999;{}", "absurd length prefix of 20 digits"),
    (b"0;{}", "absurd declared length 0"),
    (b"5{}", "not followed by ';'"),
    (b'40;{"a": 1}', "truncated chunk, declared length 40"),
    (b'9;{"a": 1}2;{}', "declared length 9 but its JSON spans 8"),
    (b'8;{"a": 1}xyz', "no '<length>;' prefix"),
    (b"2;[]", "does not start with a JSON object"),
    (b'8;{"a": 1}4;{"b"', "not valid JSON"),
    (b"", "empty VizQL response"),
    (b"   \n", "empty VizQL response"),
    (b"\xff\xfe1;{}", "not UTF-8 text at byte 0"),
    (b"[1, 2]", "no '<length>;' prefix"),
    (b'{"a": 1} trailing', "not valid JSON"),
]


@pytest.mark.parametrize(("body", "message"), HOSTILE)
def test_hostile_framing_is_a_clear_error(body: bytes, message: str) -> None:
    with pytest.raises(TableauProtocolError) as info:
        split_chunks(body)
    assert message in str(info.value)


def test_refuses_body_over_the_limit_before_parsing() -> None:
    with pytest.raises(TableauProtocolError, match="over the limit of 10 bytes"):
        split_chunks(frame_chunks({"a": "x" * 20}), max_bytes=10)


def test_declared_length_over_the_limit_is_absurd() -> None:
    with pytest.raises(TableauProtocolError, match="absurd declared length 100000"):
        split_chunks(b"100000;{}", max_bytes=1000)


@pytest.mark.parametrize("framed", [True, False])
def test_json_nesting_bomb_is_a_clear_error(framed: bool) -> None:
    bomb = '{"a":' * 200_000 + "1" + "}" * 200_000
    body = f"{len(bomb)};{bomb}".encode() if framed else bomb.encode()
    with pytest.raises(TableauProtocolError, match="nests JSON too deep"):
        split_chunks(body)


def test_error_messages_never_quote_the_content() -> None:
    ssn = Faker().ssn()
    for body in (
        f'{ssn};{{"x": 1}}'.encode(),
        f'12;{{"ssn": "{ssn}"'.encode(),
        f'{{"ssn": "{ssn}" oops}}'.encode(),
    ):
        with pytest.raises(TableauProtocolError) as info:
            split_chunks(body)
        assert ssn not in str(info.value)
        assert ssn.replace("-", "") not in str(info.value)
