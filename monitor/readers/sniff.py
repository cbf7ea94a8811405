"""Guess how a delimited text file is written: encoding, line endings and delimiter.

Portal exports come with BOMs, cp1252 bytes, CR-only (old Mac) and CR-CR-LF
line endings; polars wants UTF-8 with LF. The sniffer decides once from the
head of the file; the CSV reader applies the decision to every block it reads.
"""

from __future__ import annotations

import codecs
from collections import Counter
from dataclasses import dataclass

__all__ = ["Dialect", "looks_binary", "sniff_dialect"]

_DELIMITERS = (",", "\t", "|", ";")
# Bytes cp1252 leaves undefined: their presence means latin-1, not cp1252.
_CP1252_HOLES = frozenset(b"\x81\x8d\x8f\x90\x9d")


@dataclass(frozen=True)
class Dialect:
    """How a delimited file is written.

    Attributes:
        encoding: a Python codec name; ``utf-8`` when no transcoding is needed.
        bom: bytes to strip from the very start of the file.
        newline: the line ending: LF, CRLF, CR or CR-CR-LF, as a string.
        delimiter: the field separator.
    """

    encoding: str
    bom: bytes
    newline: str
    delimiter: str


def _sniff_encoding(head: bytes) -> tuple[str, bytes]:
    for bom, name in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if head.startswith(bom):
            return name, bom
    utf16 = _utf16_without_bom(head)
    if utf16:
        return utf16, b""
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still UTF-8.
        if exc.start < len(head) - 4:
            return ("latin-1" if _CP1252_HOLES & set(head) else "cp1252"), b""
    return "utf-8", b""


def _utf16_without_bom(head: bytes) -> str | None:
    """Name UTF-16 text that has no BOM: ASCII characters leave every other byte NUL."""
    pairs = len(head) // 2
    if pairs < 8:
        return None
    odd = head[1 : pairs * 2 : 2].count(0)
    even = head[0 : pairs * 2 : 2].count(0)
    if odd > pairs * 0.4 and even < pairs * 0.05:
        return "utf-16-le"
    if even > pairs * 0.4 and odd < pairs * 0.05:
        return "utf-16-be"
    return None


def looks_binary(text: str) -> bool:
    """Say whether decoded text is really binary data: more than 2% control characters.

    Text exports carry the odd stray control byte (a DOS end-of-file mark, NUL
    padding); random or compressed bytes are about 10% control characters.
    """
    if not text:
        return False
    controls = sum(1 for ch in text if ch < " " and ch not in "\t\n\r\f\v")
    return controls > len(text) * 0.02


def _sniff_newline(text: str) -> str:
    crcrlf = text.count("\r\r\n")
    crlf = text.count("\r\n") - crcrlf
    lf = text.count("\n") - crlf - crcrlf
    cr = text.count("\r") - crlf - 2 * crcrlf
    counts = {"\r\r\n": crcrlf, "\r\n": crlf, "\n": lf, "\r": cr}
    best = max(counts, key=lambda k: counts[k])
    return best if counts[best] else "\n"


def _sniff_delimiter(lines: list[str]) -> str:
    """Pick the delimiter whose count per line is most consistent and non-zero."""
    best, best_score = ",", -1.0
    for delim in _DELIMITERS:
        counts = [_count_outside_quotes(line, delim) for line in lines]
        nonzero = [c for c in counts if c]
        if not nonzero:
            continue
        mode, freq = Counter(nonzero).most_common(1)[0]
        score = freq / len(counts) * (1 + min(mode, 50) / 50)
        if score > best_score:
            best, best_score = delim, score
    return best


def _count_outside_quotes(line: str, delim: str) -> int:
    if '"' not in line:
        return line.count(delim)
    count, quoted = 0, False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == delim and not quoted:
            count += 1
    return count


def sniff_dialect(head: bytes) -> Dialect:
    """Return the dialect of a delimited file from its first bytes."""
    encoding, bom = _sniff_encoding(head)
    text = head[len(bom) :].decode(encoding, errors="replace")
    newline = _sniff_newline(text)
    lines = [ln for ln in text.split(newline)[:50] if ln.strip()]
    if len(lines) > 1:
        lines = lines[:-1]  # the last line of a sample may be cut short
    return Dialect(encoding, bom, newline, _sniff_delimiter(lines))
