"""The reader registry: which reader opens which file, and the one door to read any file.

Built-in readers register themselves exactly as third-party ones do, through the
``register`` decorator or the ``leakmon.readers`` entry-point group.
"""

from __future__ import annotations

import dataclasses
import logging
import zipfile
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, ClassVar, Protocol, TypeVar

from monitor.errors import CorruptFile, EncryptedFile, FileTooLarge, UnsupportedFormat
from monitor.readers.zipdamage import ZIP_DAMAGE, ZIP_UNSUPPORTED

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from monitor.models import ReadLimits, Table

__all__ = [
    "REGISTRY",
    "Reader",
    "detect_kind",
    "load_plugins",
    "read_tables",
    "reader_for",
    "register",
]

logger = logging.getLogger(__name__)

_HEAD_BYTES = 8192
#: The first bytes of a spooled Tableau VizQL answer (``monitor.vizql.envelope``).
_VIZQL_MAGIC = b'{"leakmon_vizql":'
#: Kinds whose files always start with a signature, checked first in ``detect_kind``;
#: a name or media type alone never picks them (portals mislabel files often).
_SIGNED_KINDS = frozenset({"zip", "spreadsheet", "pdf"})
# PDF readers accept a signature anywhere in the first kilobyte.
_PDF_SIGNATURE_WINDOW = 1024
#: Text kinds and the first characters their content must start with; a name or
#: media type claiming one of them for other text leaves it to be sniffed.
_FIRST_BYTES = {"json": b"{[", "ndjson": b"{[", "html": b"<", "twb": b"<"}
#: Binary formats known by their first bytes (a NUL follows soon, so text never matches):
#: Tableau Hyper and legacy TDE extracts.
_BINARY_SIGNATURES = {"hyper": b"Hyper", "tde": b"\x20\x02\x01\x62\xa0\x1e\xab\x07"}


class Reader(Protocol):
    """A plugin that turns one file format into tables of string cells."""

    kind: ClassVar[str]
    extensions: ClassVar[tuple[str, ...]]
    media_types: ClassVar[tuple[str, ...]]

    def read(self, path: Path, limits: ReadLimits) -> Iterator[Table]:
        """Yield the file's tables in chunks, raising ``ReaderError`` subclasses."""
        ...


R = TypeVar("R", bound=type[Reader])

#: kind -> reader class. Filled by ``register`` at import time.
REGISTRY: dict[str, type[Reader]] = {}


def register(cls: R) -> R:
    """Add a reader class to the registry under its ``kind``; duplicates are an error."""
    kind = cls.kind
    if kind in REGISTRY and REGISTRY[kind] is not cls:
        raise ValueError(
            f"reader kind {kind!r} registered twice: {REGISTRY[kind].__qualname__} "
            f"and {cls.__qualname__}"
        )
    REGISTRY[kind] = cls
    return cls


def load_plugins() -> list[str]:
    """Import third-party readers from the ``leakmon.readers`` entry-point group."""
    loaded = []
    for ep in entry_points(group="leakmon.readers"):
        cls = ep.load()
        register(cls)
        loaded.append(cls.kind)
    return loaded


def _zip_kind(path: Path) -> str:
    """Tell an OOXML/ODF workbook from a plain ZIP archive by its members."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist()[:2000])
            if "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names):
                return "spreadsheet"
            if "twbx" in REGISTRY and any(
                "/" not in n and n.lower().endswith((".twb", ".tds")) for n in names
            ):
                return "twbx"  # a Tableau packaged workbook: its XML sits at the root
            if "mimetype" in names:
                info = zf.getinfo("mimetype")
                if info.file_size < 200 and b"spreadsheet" in zf.read("mimetype"):
                    return "spreadsheet"
    except ZIP_DAMAGE as exc:
        raise CorruptFile(f"{path.name}: ZIP container is damaged or truncated ({exc})") from exc
    except ZIP_UNSUPPORTED as exc:
        raise UnsupportedFormat(f"{path.name}: ZIP container uses {exc}") from exc
    return "zip"


def _text_kind(head: bytes, suffix: str) -> str | None:
    """Guess a text format from its first bytes."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(_VIZQL_MAGIC):
        return "tableau-data"
    if text[:1] in (b"{", b"["):
        lines = [ln for ln in text.splitlines()[:3] if ln.strip()]
        if suffix in (".ndjson", ".jsonl") or (
            len(lines) > 1
            and all(ln.lstrip()[:1] == b"{" and ln.rstrip()[-1:] == b"}" for ln in lines)
        ):
            return "ndjson"
        return "json"
    if text[:1] == b"<":
        low = text[:4096].lower()
        if b"<workbook" in low and b"source-build=" in low:
            return "twb"  # Tableau workbook XML (whose worksheets hold <table> elements)
        if b"<table" in low or b"<html" in low or b"<!doctype html" in low:
            return "html"
    return None


def _content_allows(kind: str, first: bytes) -> bool:
    """Say whether a name or media type may pick ``kind`` for content that starts with ``first``."""
    if kind in _SIGNED_KINDS:
        return False  # its signature was checked first, and is not there
    allowed = _FIRST_BYTES.get(kind)
    return allowed is None or (first != b"" and first in allowed)


def detect_kind(path: Path, media_type: str | None = None) -> str:
    """Return the reader kind for a file, by magic bytes first, then extension and media type.

    PDF, ZIP and workbook files are known by their signature only, and JSON or
    HTML by a first character that fits; a file named or served as one that does
    not fit is sniffed like any other (text is read as CSV, binary refused).

    Raises:
        EncryptedFile: for a password-protected Office document.
        UnsupportedFormat: when no reader accepts the file.
    """
    with path.open("rb") as fh:
        head = fh.read(_HEAD_BYTES)
    suffix = path.suffix.lower()
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_kind(path)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        # An OLE container: a legacy .xls, or an encrypted OOXML package.
        if "EncryptedPackage".encode("utf-16-le") in path.read_bytes()[: 1024 * 1024]:
            raise EncryptedFile(f"{path.name}: password-protected Office document")
        return "spreadsheet"
    for kind, signature in _BINARY_SIGNATURES.items():
        if kind in REGISTRY and head.startswith(signature) and b"\x00" in head[:32]:
            return kind
    if head.startswith(b"%PDF") or (suffix == ".pdf" and b"%PDF-" in head[:_PDF_SIGNATURE_WINDOW]):
        return "pdf"
    guessed = _text_kind(head, suffix)
    if guessed and guessed in REGISTRY:
        return guessed
    # The signature checks above failed, so a name or media type saying PDF, ZIP or
    # workbook is wrong: the content decides (text is read as CSV, binary refused).
    first = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    for kind, cls in REGISTRY.items():
        if suffix and suffix in cls.extensions and _content_allows(kind, first):
            return kind
    if media_type:
        base = media_type.split(";")[0].strip().lower()
        for kind, cls in REGISTRY.items():
            if base in cls.media_types and _content_allows(kind, first):
                return kind
    if head and b"\x00" not in head and "csv" in REGISTRY:
        return "csv"
    if not head:
        raise UnsupportedFormat(f"{path.name}: file is empty")
    raise UnsupportedFormat(f"{path.name}: no reader accepts this file (binary, suffix {suffix!r})")


def reader_for(path: Path, media_type: str | None = None) -> Reader:
    """Return a reader instance for the file."""
    kind = detect_kind(path, media_type)
    try:
        return REGISTRY[kind]()
    except KeyError:
        raise UnsupportedFormat(f"{path.name}: no reader registered for kind {kind!r}") from None


def read_tables(
    path: Path,
    limits: ReadLimits,
    *,
    source: str | None = None,
    media_type: str | None = None,
    kind: str | None = None,
) -> Iterator[Table]:
    """Yield every table chunk of a file, labelled with ``source``.

    ``kind`` skips format detection when the caller has already run ``detect_kind``.

    Raises:
        FileTooLarge: when the file is over ``limits.max_file_bytes``.
        ReaderError: the reader's own errors, unchanged.
    """
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise FileTooLarge(
            f"{path.name}: {size} bytes is over the limit of {limits.max_file_bytes} bytes"
        )
    label = source if source is not None else str(path)
    reader = REGISTRY[kind]() if kind in REGISTRY else reader_for(path, media_type)
    for table in reader.read(path, limits):
        yield dataclasses.replace(table, source=label, kind=table.kind or reader.kind)
