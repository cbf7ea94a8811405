"""Split a VizQL ``bootstrapSession`` body into its JSON chunks (``<len>;<json><len>;<json>``).

Example::

    from monitor.vizql.framing import split_chunks

    info, data = split_chunks(b'14;{"sheetName":1}2;{}')

A plain JSON object body (command responses, ``startSession``) is accepted too and
comes back as a one-element list.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from monitor.errors import TableauProtocolError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["DEFAULT_MAX_BYTES", "parse_object", "split_chunks"]

#: A bootstrap body larger than this is refused before it is decoded.
DEFAULT_MAX_BYTES = 512 * 1024**2
#: A length prefix longer than this many digits is absurd (10**12 characters).
_MAX_PREFIX_DIGITS = 12
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s*")
_DECODER = json.JSONDecoder()


def split_chunks(body: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> list[dict[str, Any]]:
    """Return the JSON objects of a chunked (or plain JSON) VizQL response body, in order.

    A chunk's length prefix counts the characters of its JSON; the UTF-8 bytes and
    UTF-16 code units of the same text are accepted as well, since public clients
    disagree on which one Tableau means (ASCII-only chunks make them equal).

    Raises:
        TableauProtocolError: the body is too large, not UTF-8, or its framing is broken
            (non-digit, absurd or over-long length prefix, truncated chunk, a chunk that
            is not a JSON object, trailing garbage, JSON nested too deep).
    """
    text = _decode(body, max_bytes)
    start = _SPACE.match(text, 0)
    pos = start.end() if start else 0
    if pos == len(text):
        raise TableauProtocolError("empty VizQL response: no JSON chunk")
    if text[pos] == "{":
        return [parse_object(text, what="response body")]
    chunks: list[dict[str, Any]] = []
    while pos < len(text):
        pos = _read_chunk(text, pos, len(chunks), chunks, max_bytes)
        space = _SPACE.match(text, pos)
        pos = space.end() if space else pos
    return chunks


def parse_object(
    text: str | bytes,
    *,
    what: str,
    object_hook: Callable[[dict[str, Any]], Any] | None = None,
) -> dict[str, Any]:
    """Parse one JSON document that must be an object; ``what`` names it in errors.

    Raises:
        TableauProtocolError: not JSON, nested too deep, or not an object.
    """
    try:
        value = json.loads(text, object_hook=object_hook)
    except json.JSONDecodeError as exc:
        raise TableauProtocolError(
            f"{what} is not valid JSON at offset {exc.pos}: {exc.msg}"
        ) from None
    except UnicodeDecodeError as exc:
        raise TableauProtocolError(f"{what} is not UTF-8 text at byte {exc.start}") from None
    except RecursionError:
        raise TableauProtocolError(f"{what} nests JSON too deep to parse") from None
    if not isinstance(value, dict):
        raise TableauProtocolError(f"{what} is a JSON {_kind(value)}, not an object")
    return value


def _decode(body: bytes, max_bytes: int) -> str:
    """Return the body as text, refusing an oversize or non-UTF-8 one."""
    if len(body) > max_bytes:
        raise TableauProtocolError(
            f"VizQL response of {len(body)} bytes is over the limit of {max_bytes} bytes"
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TableauProtocolError(
            f"VizQL response is not UTF-8 text at byte {exc.start}"
        ) from None
    return text.removeprefix("\ufeff")


def _read_chunk(
    text: str, pos: int, index: int, chunks: list[dict[str, Any]], max_bytes: int
) -> int:
    """Parse the chunk at ``pos`` into ``chunks`` and return where the next one starts."""
    match = _DIGITS.match(text, pos)
    where = f"chunk {index} at offset {pos}"
    if match is None:
        raise TableauProtocolError(f"{where}: no '<length>;' prefix (found a non-digit)")
    digits = match.group()
    if len(digits) > _MAX_PREFIX_DIGITS:
        raise TableauProtocolError(f"{where}: absurd length prefix of {len(digits)} digits")
    end_digits = match.end()
    if end_digits >= len(text) or text[end_digits] != ";":
        raise TableauProtocolError(f"{where}: length prefix not followed by ';'")
    length = int(digits)
    start = end_digits + 1
    remaining = len(text) - start
    if length == 0 or length > max_bytes:
        raise TableauProtocolError(f"{where}: absurd declared length {length}")
    if length > remaining and length > len(text[start:].encode("utf-8")):
        raise TableauProtocolError(
            f"{where}: truncated chunk, declared length {length} but only "
            f"{remaining} characters remain"
        )
    if text[start] != "{":
        raise TableauProtocolError(f"{where}: chunk does not start with a JSON object")
    try:
        value, end = _DECODER.raw_decode(text, start)
    except json.JSONDecodeError as exc:
        raise TableauProtocolError(
            f"{where}: chunk is not valid JSON at offset {exc.pos}: {exc.msg}"
        ) from None
    except RecursionError:
        raise TableauProtocolError(f"{where}: chunk nests JSON too deep to parse") from None
    span = end - start
    if length != span and length not in _other_lengths(text[start:end]):
        raise TableauProtocolError(
            f"{where}: declared length {length} but its JSON spans {span} characters"
        )
    if not isinstance(value, dict):  # pragma: no cover - raw_decode from "{" is an object
        raise TableauProtocolError(f"{where}: chunk is a JSON {_kind(value)}, not an object")
    chunks.append(value)
    return end


def _other_lengths(chunk: str) -> tuple[int, int]:
    """Return the chunk's length in UTF-8 bytes and in UTF-16 code units."""
    return len(chunk.encode("utf-8")), len(chunk.encode("utf-16-le")) // 2


def _kind(value: object) -> str:
    """Name a JSON value's type without showing the value."""
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return "number"
