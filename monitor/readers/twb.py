"""Reader for Tableau workbook XML (.twb) and data sources (.tds): the schema, never data rows."""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import IO, TYPE_CHECKING, ClassVar, cast

from monitor.errors import CorruptFile, FileTooLarge
from monitor.readers.chunks import table_chunks
from monitor.readers.registry import register

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from monitor.models import ReadLimits, Table

__all__ = ["Datasource", "Extract", "TwbReader", "Workbook", "parse_workbook", "schema_tables"]

logger = logging.getLogger(__name__)

_BLOCK = 1024 * 1024
# The prolog (XML declaration, build comment) before the root element; longer is hostile.
_MAX_PROLOG_BYTES = 64 * 1024
_PROLOG_END = re.compile(rb"<[A-Za-z_]")
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
# Tableau nests a datasource about ten levels deep; thousands of levels is an attack on memory.
_MAX_DEPTH = 256
# Connection classes whose dbname is an extract packaged in the .twbx (Hyper, legacy TDE).
_EXTRACT_ENGINES = frozenset({"hyper", "dataengine"})
# The datasource holding a workbook's parameters: user inputs, not columns of data.
_PARAMETERS = "Parameters"


@dataclass(frozen=True)
class Extract:
    """An extract a datasource names: its file inside the package and its column captions.

    Attributes:
        dbname: the extract's path inside the ``.twbx`` (``Data/Extracts/x.hyper``).
        datasource: the caption of the datasource it belongs to.
        engine: ``hyper`` or ``dataengine`` (legacy TDE).
        captions: column name in the extract -> the caption a visitor sees.
    """

    dbname: str
    datasource: str
    engine: str
    captions: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Datasource:
    """One datasource of a workbook: its caption and its columns, captions first."""

    name: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Workbook:
    """What a workbook's XML says about its data: datasources and the extracts they use."""

    datasources: tuple[Datasource, ...]
    extracts: tuple[Extract, ...]

    def extract_for(self, member: str) -> Extract | None:
        """Return the extract stored at ``member`` inside the package, if the XML names it."""
        wanted = _normal_path(member)
        for extract in self.extracts:
            if _normal_path(extract.dbname) == wanted:
                return extract
        # A dbname written as an absolute or Windows path: the file name alone, if unique.
        named = [e for e in self.extracts if _base(e.dbname) == _base(member)]
        return named[0] if len(named) == 1 else None


@register
class TwbReader:
    """Tableau workbook XML (.twb) and data sources (.tds): datasources and column captions only.

    A ``.twb`` holds no data rows: it describes the workbook's datasources, and
    the data lives in the database it connects to or in the extract packaged
    beside it in a ``.twbx``. Each datasource becomes one table with the
    captions a visitor sees as its columns and zero rows, so schema drift
    (a column added, a datasource that now carries names) is tracked. The XML is
    parsed in a stream; a DOCTYPE or entity declaration (which Tableau never
    writes) is refused, and so is nesting deeper than 256 elements.
    """

    kind: ClassVar[str] = "twb"
    extensions: ClassVar[tuple[str, ...]] = (".twb", ".tds")
    media_types: ClassVar[tuple[str, ...]] = ("application/x-twb",)

    def read(self, path: Path, limits: ReadLimits) -> Iterator[Table]:
        """Yield one empty table per datasource, with its columns as the schema.

        Raises:
            CorruptFile: the XML is malformed, declares a DTD, or nests too deep.
            FileTooLarge: the XML is over ``max_json_bytes``, or a datasource over ``max_columns``.
        """
        yield from schema_tables(parse_workbook(path, limits), path, limits)


def schema_tables(workbook: Workbook, path: Path, limits: ReadLimits) -> Iterator[Table]:
    """Yield one empty table per datasource of a parsed workbook: its columns, no rows."""
    logger.info(
        "%s: Tableau workbook XML holds no data rows; read %d datasource(s) as schema only",
        path.name,
        len(workbook.datasources),
    )
    for source in workbook.datasources:
        yield from table_chunks(
            source.columns,
            (),
            source=str(path),
            name=source.name,
            kind=TwbReader.kind,
            limits=limits,
        )


def parse_workbook(path: Path, limits: ReadLimits) -> Workbook:
    """Return the datasources and extracts a ``.twb`` (or ``.tds``) declares.

    Raises:
        CorruptFile: the XML is malformed, declares a DTD, or nests too deep.
        FileTooLarge: the file is over ``max_json_bytes``.
    """
    size = path.stat().st_size
    if size > limits.max_json_bytes:
        raise FileTooLarge(
            f"{path.name}: workbook XML of {size} bytes is over the limit of "
            f"{limits.max_json_bytes} bytes (max_json_mb)"
        )
    with path.open("rb") as fh:
        _check_prolog(path, fh)
        fh.seek(0)
        return _parse(path, fh)


def _check_prolog(path: Path, fh: IO[bytes]) -> None:
    """Refuse a DOCTYPE or ENTITY before the root element (entity expansion, external entities)."""
    head = b""
    while True:
        block = fh.read(4096)
        head += block
        root = _PROLOG_END.search(head)
        prolog = head[: root.start()] if root else head
        if _DTD.search(prolog):
            raise CorruptFile(
                f"{path.name}: workbook XML declares a DOCTYPE or XML entities, which Tableau "
                "never writes (entity expansion or external entity attack); refused"
            )
        if root or not block:
            return
        if len(head) > _MAX_PROLOG_BYTES:
            raise CorruptFile(
                f"{path.name}: workbook XML has no root element in its first "
                f"{_MAX_PROLOG_BYTES} bytes"
            )


def _parse(path: Path, fh: IO[bytes]) -> Workbook:
    """Stream the XML, keeping only top-level datasources; everything else is dropped as it ends."""
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start", "end"))
    stack: list[tuple[ET.Element, bool]] = []
    inside = 0  # how many datasource definitions are open (0 or 1)
    sources: list[Datasource] = []
    extracts: list[Extract] = []
    try:
        while block := fh.read(_BLOCK):
            parser.feed(block)
            # Only start and end events were asked for: each is (event, element).
            events = cast("Iterator[tuple[str, ET.Element]]", parser.read_events())
            for event, elem in events:
                if event == "start":
                    defines = _is_datasource(elem, stack)
                    stack.append((elem, defines))
                    inside += defines
                    if len(stack) > _MAX_DEPTH:
                        raise CorruptFile(
                            f"{path.name}: workbook XML nests more than {_MAX_DEPTH} elements deep"
                        )
                    continue
                _, defines = stack.pop()
                if defines:
                    _collect(elem, sources, extracts)
                    inside -= 1
                    elem.clear()
                elif not inside:
                    elem.clear()  # worksheets, windows, thumbnails: not needed, not kept
        parser.close()
    except ET.ParseError as exc:
        raise CorruptFile(f"{path.name}: workbook XML is malformed ({exc})") from exc
    return Workbook(tuple(sources), tuple(extracts))


def _is_datasource(elem: ET.Element, parents: list[tuple[ET.Element, bool]]) -> bool:
    """Say whether ``elem`` defines a datasource: the root of a .tds, or workbook/datasources/*."""
    if _local(elem.tag) != "datasource" or len(parents) not in (0, 2):
        return False
    return not parents or (
        _local(parents[0][0].tag) == "workbook" and _local(parents[1][0].tag) == "datasources"
    )


def _collect(elem: ET.Element, sources: list[Datasource], extracts: list[Extract]) -> None:
    """Add one datasource's columns and extract to the lists."""
    name = elem.get("caption") or elem.get("formatted-name") or elem.get("name") or "datasource"
    if elem.get("name") == _PARAMETERS and elem.get("hasconnection") == "false":
        return
    captions = {
        col.get("name", ""): col.get("caption") or _unbracket(col.get("name", ""))
        for col in elem.findall("column")
        if col.get("name")
    }
    columns: list[str] = []
    connection = elem.find("connection")
    if connection is not None:
        columns.extend(_names(connection, captions).values())
    columns.extend(caption for caption in captions.values() if caption not in columns)
    if columns:
        sources.append(Datasource(name, tuple(dict.fromkeys(columns))))
    else:
        logger.info("datasource %r declares no columns; nothing to track", name)
    main = _names(connection, captions) if connection is not None else {}
    for conn in elem.iter("connection"):
        # An extract's own connection, or a datasource built on an extract file.
        if conn.get("class") not in _EXTRACT_ENGINES or not conn.get("dbname"):
            continue
        names = _names(conn, captions) or main
        extracts.append(Extract(conn.get("dbname", ""), name, conn.get("class", ""), names))


def _names(conn: ET.Element, captions: dict[str, str]) -> dict[str, str]:
    """Return column name in the data -> caption, from a connection's metadata records."""
    names = {}
    for record in conn.iter("metadata-record"):
        if record.get("class") != "column":
            continue
        local = record.findtext("local-name") or ""
        remote = record.findtext("remote-name") or _unbracket(local)
        names[remote] = captions.get(local) or remote
    return names


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _unbracket(name: str) -> str:
    """Return ``[Customer Name]`` as ``Customer Name``."""
    return name[1:-1] if name.startswith("[") and name.endswith("]") else name


def _base(name: str) -> str:
    return PurePosixPath(_normal_path(name)).name


def _normal_path(name: str) -> str:
    """Compare package paths the way Tableau writes them: either slash, any case."""
    return str(PurePosixPath(name.replace("\\", "/"))).lower()
