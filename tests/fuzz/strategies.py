"""Hypothesis strategies for hostile files: structure-aware mutations of valid seeds, and noise.

A mutation is a short list of edits (byte flips, interesting bytes, truncation,
splices from any seed, duplicated or deleted runs). Files that are ZIP packages
(XLSX, ODS, ZIP) are also mutated inside: a member is decompressed, edited and
packed again, so the XML and CSV inside are fuzzed and not only the deflate
stream, whose CRC would otherwise reject almost every edit.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from hypothesis import strategies as st

from tests.fuzz.seeds import seeds

MEDIA_TYPES = (
    None,
    "text/csv",
    "text/plain",
    "text/html",
    "application/json",
    "application/x-ndjson",
    "application/pdf",
    "application/zip",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/octet-stream",
)
SUFFIXES = (
    ".csv",
    ".tsv",
    ".xlsx",
    ".ods",
    ".json",
    ".ndjson",
    ".zip",
    ".pdf",
    ".html",
    ".bin",
    "",
)
INTERESTING = (
    b"\x00",
    b"\xff",
    b'"',
    b",",
    b"\n",
    b"\r",
    b"<",
    b">",
    b"{",
    b"[",
    b"]",
    b"}",
    b"&",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"PK\x03\x04",
    b"%PDF-",
    b"<!DOCTYPE x [<!ENTITY a 'b'>]>",
    b"9" * 12,
    b"-1",
    b"obj",
    b"endobj",
    b"stream",
    b"<table>",
    b"<tr><td colspan=99999>",
    b"/Count 99999",
    b'r="XFD1048576"',
    b"../../",
)


@dataclass(frozen=True)
class Case:
    """One generated file: its name (suffix matters), content and served media type."""

    kind: str
    name: str
    data: bytes
    media_type: str | None

    def __repr__(self) -> str:
        return f"Case({self.kind!r}, {self.name!r}, {self.data[:2000]!r}, {self.media_type!r})"


@st.composite
def _edit(draw: st.DrawFn, data: bytes) -> bytes:
    donors = [d for group in seeds().values() for _, d in group]
    op = draw(st.sampled_from(("flip", "set", "insert", "truncate", "delete", "dup", "splice")))
    size = len(data)
    pos = draw(st.integers(0, size))
    if op == "flip" and size:
        at = min(pos, size - 1)
        return data[:at] + bytes([data[at] ^ (1 << draw(st.integers(0, 7)))]) + data[at + 1 :]
    if op == "set":
        value = draw(st.sampled_from(INTERESTING))
        return data[:pos] + value + data[pos + len(value) :]
    if op == "insert":
        value = draw(st.one_of(st.sampled_from(INTERESTING), st.binary(min_size=1, max_size=64)))
        return data[:pos] + value + data[pos:]
    if op == "truncate":
        return data[:pos]
    if op == "delete":
        return data[:pos] + data[pos + draw(st.integers(1, 256)) :]
    if op == "dup":
        run = data[pos : pos + draw(st.integers(1, 512))]
        return data[:pos] + run * draw(st.integers(2, 50)) + data[pos:]
    donor = draw(st.sampled_from(donors))
    start = draw(st.integers(0, len(donor)))
    return data[:pos] + donor[start : start + draw(st.integers(1, 2048))] + data[pos:]


@st.composite
def _mutate(draw: st.DrawFn, data: bytes) -> bytes:
    for _ in range(draw(st.integers(1, 6))):
        data = draw(_edit(data))
    return data


@st.composite
def _mutate_package(draw: st.DrawFn, data: bytes) -> bytes:
    """Edit one member of a ZIP package (or rename it) and pack the package again."""
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        members = [(info.filename, package.read(info)) for info in package.infolist()]
    index = draw(st.integers(0, len(members) - 1))
    name, content = members[index]
    if draw(st.integers(0, 9)) == 0:
        name = draw(st.sampled_from(("../../x.csv", "/abs.json", "a\\b.csv", "", "x" * 300)))
    else:
        content = draw(_mutate(content))
    members[index] = (name or "blank", content)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for member, body in members:
            package.writestr(member, body)
    return out.getvalue()


@st.composite
def mutated(draw: st.DrawFn, kind: str) -> Case:
    """Return a mutation of one of ``kind``'s seeds, named and served mostly as the seed was."""
    name, data = draw(st.sampled_from(seeds()[kind]))
    if data.startswith(b"PK") and draw(st.booleans()):
        data = draw(_mutate_package(data))
    else:
        data = draw(_mutate(data))
    if draw(st.integers(0, 4)) == 0:
        name = "file" + draw(st.sampled_from(SUFFIXES))
    media_type = draw(st.sampled_from(MEDIA_TYPES)) if draw(st.booleans()) else None
    return Case(kind, name, data, media_type)


@st.composite
def noise(draw: st.DrawFn) -> Case:
    """Return raw random bytes behind a random name and media type."""
    data = draw(st.binary(max_size=4096))
    if draw(st.booleans()):  # a signature in front, so each reader's parser sees noise too
        data = draw(st.sampled_from((b"PK\x03\x04", b"%PDF-1.4\n", b"{", b"<html>", b""))) + data
    name = "noise" + draw(st.sampled_from(SUFFIXES))
    return Case("noise", name, data, draw(st.sampled_from(MEDIA_TYPES)))
