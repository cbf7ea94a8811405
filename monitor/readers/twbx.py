"""Reader for Tableau packaged workbooks (.twbx) and data sources (.tdsx): XML, extracts, files."""

from __future__ import annotations

import logging
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, ClassVar

from monitor.errors import CorruptFile
from monitor.readers.archive import ZipReader
from monitor.readers.hyper import read_extract
from monitor.readers.registry import register
from monitor.readers.tde import TdeReader
from monitor.readers.twb import parse_workbook, schema_tables

if TYPE_CHECKING:
    import zipfile
    from collections.abc import Iterator
    from pathlib import Path

    from monitor.errors import ReaderError
    from monitor.models import ReadLimits, Table
    from monitor.readers.archive import _Budget
    from monitor.readers.twb import Workbook

__all__ = ["TwbxReader"]

logger = logging.getLogger(__name__)

_WORKBOOK_SUFFIXES = (".twb", ".tds")
# Tableau's own caches of rendered query results and the images a dashboard shows:
# derived from the datasources read above, in undocumented binary formats.
_DERIVED_PREFIXES = ("twbxexternalcache/", "image/")


@register
class TwbxReader(ZipReader):
    """Tableau packaged workbooks (.twbx, .tdsx): the workbook XML, every extract, every data file.

    A ``.twbx`` is a ZIP: the workbook XML at its root gives each datasource's
    columns and captions (read first, as schema, zero rows); each ``.hyper``
    extract is read in full with the Hyper reader, its columns named by the
    captions the XML gives them; a legacy ``.tde`` extract cannot be read and is
    reported as "could not be checked"; original files packaged under ``Data/``
    (CSV, Excel, JSON, …) go back to the registry like any archive member.
    Tableau's result caches and images are skipped. The archive limits of the
    ``zip`` reader (members, uncompressed bytes, ratio, overlapping entries)
    apply unchanged. A ``.twbx`` is recognised by its content too: Tableau
    Public serves it at ``/workbooks/<name>.twb``.
    """

    kind: ClassVar[str] = "twbx"
    extensions: ClassVar[tuple[str, ...]] = (".twbx", ".tdsx")
    media_types: ClassVar[tuple[str, ...]] = ("application/x-twbx",)

    # A damaged extract or data file is data the workbook publishes and leakmon did not
    # read: the package is reported after its other members, never as clean.
    _unchecked: ClassVar[tuple[type[ReaderError], ...]] = (
        *ZipReader._unchecked,
        CorruptFile,
    )

    def __init__(self) -> None:
        self._workbook: Workbook | None = None

    def _members(self, members: list[zipfile.ZipInfo]) -> list[zipfile.ZipInfo]:
        """Drop Tableau's caches and images; read the root workbook XML first (captions)."""
        kept = [i for i in members if not _normal(i.filename).startswith(_DERIVED_PREFIXES)]
        if len(kept) < len(members):
            logger.debug("skipped %d Tableau cache or image members", len(members) - len(kept))
        return sorted(kept, key=lambda info: not _is_root_workbook(info.filename))

    def _member_tables(
        self, name: str, target: Path, limits: ReadLimits, budget: _Budget, tmp: Path
    ) -> Iterator[Table]:
        """Read the workbook XML, each extract with its captions, the rest as archives do."""
        suffix = PurePosixPath(_normal(name)).suffix
        if _is_root_workbook(name):
            self._workbook = parse_workbook(target, limits)
            yield from schema_tables(self._workbook, target, limits)
        elif suffix == ".hyper":
            extract = self._workbook.extract_for(name) if self._workbook else None
            yield from read_extract(target, limits, captions=extract.captions if extract else None)
        elif suffix == ".tde":
            yield from TdeReader().read(target, limits)
        else:
            yield from super()._member_tables(name, target, limits, budget, tmp)


def _normal(name: str) -> str:
    return name.replace("\\", "/").lower()


def _is_root_workbook(name: str) -> bool:
    """Say whether a member is the package's workbook XML: a .twb or .tds at the root."""
    return "/" not in name.replace("\\", "/") and name.lower().endswith(_WORKBOOK_SUFFIXES)
