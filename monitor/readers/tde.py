"""Reader for legacy Tableau Data Engine extracts (.tde): known, but none can be read."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from monitor.errors import ReaderUnavailable
from monitor.readers.registry import register

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from monitor.models import ReadLimits, Table

__all__ = ["TDE_SIGNATURE", "TdeReader"]

#: The first bytes of the .tde extracts in tableau/document-api-python's test assets.
TDE_SIGNATURE = b"\x20\x02\x01\x62\xa0\x1e\xab\x07"


@register
class TdeReader:
    """Legacy Tableau Data Engine extracts (.tde): always reported as "could not be checked".

    Tableau replaced TDE with Hyper in 2018 and no maintained reader exists,
    in Python or elsewhere. A ``.tde`` (alone or inside a ``.twbx``) is named
    as a file leakmon could not check, never as one without personal data.
    Re-extracting the workbook in a current Tableau turns it into ``.hyper``.
    """

    kind: ClassVar[str] = "tde"
    extensions: ClassVar[tuple[str, ...]] = (".tde",)
    media_types: ClassVar[tuple[str, ...]] = ()

    def read(self, path: Path, limits: ReadLimits) -> Iterator[Table]:
        """Refuse the file: its data cannot be read.

        Raises:
            ReaderUnavailable: always.
        """
        raise ReaderUnavailable(
            f"{path.name}: could not be checked (legacy TDE extract: no reader exists; "
            "re-extract the workbook to .hyper)"
        )
        yield  # pragma: no cover  # a generator, like every reader
