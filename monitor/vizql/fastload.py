"""Parse a large VizQL answer fast: its index arrays go straight to numpy, the rest through json.

A 192,000-row underlying-data answer is ~45 MB, three quarters of it the integer
arrays ``valueIndices``, ``aliasIndices`` and ``formatValIdxs``; building Python ints
for them costs seconds. This loader cuts those arrays out of the bytes, parses them
with numpy, and hands the rest (strings, structure) to ``json``. ``formatValIdxs`` is
dropped (``null``): leakmon decodes values, not their display format. Example::

    from monitor.vizql.fastload import load_answer

    answer = load_answer(body, what="get-underlying-data answer")
    answer["vqlCmdResponse"]["cmdResultList"][0]  # valueIndices are numpy int64 arrays

An array is only cut out where its key is structural (after ``{`` or ``,``: in valid
JSON those bytes cannot sit inside a string) and its body holds nothing but integers;
anything else is left to ``json``, so the result equals ``json.loads`` but for the
array types (and the dropped ``formatValIdxs``).
"""

from __future__ import annotations

import re
import secrets
import warnings
from typing import TYPE_CHECKING, Any

from monitor.errors import TableauProtocolError
from monitor.vizql.framing import parse_object

if TYPE_CHECKING:
    import numpy as np

__all__ = ["load_answer"]

_KEYS = (b'"valueIndices"', b'"aliasIndices"', b'"formatValIdxs"')
_DROPPED = b'"formatValIdxs"'
_SPACE = b" \t\r\n"
_INTEGER_BYTES = b"0123456789-," + _SPACE
_SPLIT_NUMBER = re.compile(rb"\d\s+\d")


def load_answer(data: bytes, *, what: str) -> dict[str, Any]:
    """Return a JSON object whose integer index arrays are numpy ``int64`` arrays.

    Raises:
        TableauProtocolError: the document is not a JSON object, or an index array is
            malformed (the message names its offset, not its content).
    """
    token = secrets.token_hex(8)
    ref_key = f"leakmon-index-{token}"
    spans = sorted(span for key in _KEYS for span in _array_spans(data, key))
    if not spans:
        return parse_object(data, what=what)
    arrays: list[np.ndarray[Any, np.dtype[np.int64]]] = []
    parts: list[bytes] = []
    last = 0
    for start, end, key in spans:
        parts.append(data[last:start])
        if key == _DROPPED:
            parts.append(b"null")
        else:
            arrays.append(_parse_integers(data[start + 1 : end - 1], start, what))
            parts.append(b'{"%s":%d}' % (ref_key.encode(), len(arrays) - 1))
        last = end
    parts.append(data[last:])

    def resolve(node: dict[str, Any]) -> Any:  # Any: a parsed array or the object itself
        if len(node) == 1 and ref_key in node:
            return arrays[node[ref_key]]
        return node

    return parse_object(b"".join(parts), what=what, object_hook=resolve)


def _array_spans(data: bytes, key: bytes) -> list[tuple[int, int, bytes]]:
    """Return ``(start of '[', end after ']', key)`` of each integer array under ``key``."""
    spans: list[tuple[int, int, bytes]] = []
    pos = 0
    while True:
        at = data.find(key, pos)
        if at < 0:
            return spans
        pos = at + len(key)
        before = at - 1
        while before >= 0 and data[before] in _SPACE:
            before -= 1
        if before < 0 or data[before] not in b"{,":
            continue
        colon = _skip_space(data, pos)
        if colon >= len(data) or data[colon] != ord(":"):
            continue
        bracket = _skip_space(data, colon + 1)
        if bracket >= len(data) or data[bracket] != ord("["):
            continue
        close = data.find(b"]", bracket)
        if close < 0:
            return spans
        if data[bracket + 1 : close].translate(None, _INTEGER_BYTES):
            # Not integers only: json decides what it is. Keys up to ``close`` are left to
            # json too, so hostile nesting costs linear time, not quadratic.
            pos = close + 1
            continue
        spans.append((bracket, close + 1, key))
        pos = close + 1


def _skip_space(data: bytes, pos: int) -> int:
    """Return the first offset at or after ``pos`` that is not JSON whitespace."""
    while pos < len(data) and data[pos] in _SPACE:
        pos += 1
    return pos


def _parse_integers(body: bytes, offset: int, what: str) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Parse the inside of an integer array, as strictly as JSON would."""
    # Lazy: the daemon loads numpy (about 8 MB) only once it polls a Tableau view.
    import numpy as np

    compact = body.translate(None, _SPACE)
    if not compact:
        return np.zeros(0, dtype=np.int64)
    count = compact.count(b",") + 1
    if compact.startswith(b"-1,") and compact == b"-1," * (count - 1) + b"-1":
        return np.full(count, -1, dtype=np.int64)  # aliasIndices of an unaliased column
    malformed = TableauProtocolError(f"{what}: malformed integer array at offset {offset}")
    # numpy's parser is laxer than JSON's: "," must separate two numbers, "-" start one.
    if (
        compact.startswith(b",")
        or compact.endswith((b",", b"-"))
        or b",," in compact
        or (b"-" in compact and not _signs_start_numbers(compact))
        or (len(compact) != len(body) and _SPLIT_NUMBER.search(body))
    ):
        raise malformed
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            values = np.fromstring(compact, dtype=np.int64, sep=",")
    except (ValueError, DeprecationWarning):
        raise malformed from None
    if len(values) != count:
        raise malformed
    return values


def _signs_start_numbers(compact: bytes) -> bool:
    """Say whether every "-" starts a number: right after "," or at the start, before a digit."""
    if b"-," in compact:
        return False
    unsigned = compact.replace(b",-", b",").removeprefix(b"-")
    return b"-" not in unsigned
