"""The spool file of a VizQL data answer: the command response with the session's segments.

The crawl client writes one per answer; the ``tableau-data`` reader finds it by its
first key and decodes it in the scan worker. Example::

    from monitor.vizql.envelope import write_envelope, read_envelope

    write_envelope(path, mechanism="full_data", view="CCW/Applicants",
                   segments=session_segments, response=answer_bytes)
    envelope = read_envelope(path.read_bytes())
    decoded = envelope.decode()

Layout: ``{"leakmon_vizql": 1, "mechanism": ..., "view": ..., "segments": {...},
"response": <the answer's bytes, unchanged>}``, always in that key order so the
magic key is the file's first bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from monitor.errors import TableauProtocolError
from monitor.vizql.commands import underlying_table
from monitor.vizql.fastload import load_answer

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from pathlib import Path

    from monitor.vizql.dictionary import DecodedTable

__all__ = ["MAGIC", "MECHANISMS", "Envelope", "read_envelope", "write_envelope"]

#: The envelope's first bytes: how a reader tells it from other JSON.
MAGIC = b'{"leakmon_vizql":'
_VERSION = 1
#: Mechanisms whose answers are underlying-data tables.
MECHANISMS = ("full_data", "summary_data")


@dataclass(frozen=True)
class Envelope:
    """A spooled VizQL data answer, parsed.

    Attributes:
        mechanism: ``full_data`` or ``summary_data``.
        view: ``<workbook>/<sheet>``.
        segments: the session's data segments when the command was sent.
        response: the command response object (its index arrays as numpy arrays, its
            ``formatValIdxs`` dropped: see ``monitor.vizql.fastload``).
    """

    mechanism: str
    view: str
    segments: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    response: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def decode(
        self, *, max_rows: int | None = None, max_columns: int | None = None
    ) -> DecodedTable:
        """Decode the answer's table against the spooled segments."""
        # Lazy: the daemon writes envelopes; only the scan worker decodes (polars).
        from monitor.vizql.dictionary import decode_table

        return decode_table(
            underlying_table(self.response),
            self.segments,
            max_rows=max_rows,
            max_columns=max_columns,
        )


def write_envelope(
    path: Path,
    *,
    mechanism: str,
    view: str,
    segments: Mapping[str, Any],
    response: bytes | Iterable[bytes],
) -> None:
    """Write an envelope, copying the response bytes in as they are (not re-encoded).

    ``response`` is the answer body or an iterable of its blocks (a streamed download).

    Raises:
        ValueError: an unknown mechanism.
        TableauProtocolError: the response does not start with a JSON object.
    """
    if mechanism not in MECHANISMS:
        raise ValueError(f"unknown VizQL mechanism {mechanism!r}; expected one of {MECHANISMS}")
    blocks: Iterable[bytes] = [response] if isinstance(response, bytes) else response
    head = (
        MAGIC
        + f'{_VERSION},"mechanism":{json.dumps(mechanism)},"view":{json.dumps(view)},'.encode()
        + b'"segments":'
        + json.dumps(dict(segments), separators=(",", ":")).encode()
        + b',"response":'
    )
    started = False
    with path.open("wb") as out:
        out.write(head)
        for block in blocks:
            if not started:
                stripped = block.lstrip(b"\xef\xbb\xbf \t\r\n")
                if not stripped:
                    continue
                if stripped[:1] != b"{":
                    raise TableauProtocolError("VizQL answer does not start with a JSON object")
                block, started = stripped, True
            out.write(block)
        if not started:
            raise TableauProtocolError("VizQL answer is empty")
        out.write(b"}")


def read_envelope(data: bytes) -> Envelope:
    """Parse an envelope's bytes.

    Raises:
        TableauProtocolError: not an envelope, an unknown version or mechanism, or a
            key of the wrong type.
    """
    if not data.lstrip().startswith(MAGIC):
        raise TableauProtocolError("not a leakmon VizQL envelope (no leakmon_vizql key first)")
    document = load_answer(data, what="VizQL envelope")
    if document.get("leakmon_vizql") != _VERSION:
        raise TableauProtocolError("VizQL envelope has an unknown version")
    mechanism = document.get("mechanism")
    if mechanism not in MECHANISMS:
        raise TableauProtocolError("VizQL envelope has an unknown mechanism")
    view = document.get("view")
    segments = document.get("segments")
    response = document.get("response")
    if not isinstance(view, str):
        raise TableauProtocolError("VizQL envelope has no 'view' string")
    if not isinstance(segments, dict) or not isinstance(response, dict):
        raise TableauProtocolError("VizQL envelope 'segments' or 'response' is not an object")
    return Envelope(str(mechanism), view, MappingProxyType(segments), MappingProxyType(response))
