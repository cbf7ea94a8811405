"""The raw-value search the leak tests rely on: finds values, not digits inside hashes."""

from __future__ import annotations

import pytest

from tests.evidence import raw_values_in


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ('"evidence": ["CA 93349"]', ["93349"]),
        ('"x": "93349"', ["93349"]),
        ('"name": "Jane Doe"', ["Jane Doe"]),
        ('"key": "ab93349f0c"', []),
        ('"occurred_at": "2026-12-01T22:53:19.933490+00:00"', []),
        ('"evidence": ["J*** D**"]', []),
        ('"fingerprint": "9334912"', []),
    ],
)
def test_finds_values_only_where_they_stand_alone(text: str, found: list[str]) -> None:
    assert raw_values_in(["93349", "Jane Doe"], text) == found
