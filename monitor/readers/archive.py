"""Reader for ZIP archives: each member goes back to the registry, nested archives included."""

from __future__ import annotations

import dataclasses
import logging
import re
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, ClassVar

from monitor.errors import (
    CorruptFile,
    EncryptedFile,
    FileTooLarge,
    ReaderError,
    ReaderUnavailable,
    UnsupportedFormat,
)
from monitor.readers.registry import reader_for, register
from monitor.readers.zipdamage import ZIP_DAMAGE, ZIP_UNSUPPORTED

if TYPE_CHECKING:
    from collections.abc import Iterator

    from monitor.models import ReadLimits, Table

__all__ = ["ZipReader"]

logger = logging.getLogger(__name__)

_COPY_BLOCK = 1024 * 1024
# Small members of repetitive text compress far better than any ratio a bomb
# needs to hurt; the ratio limit only bites once a member is this large.
_RATIO_GRACE_BYTES = 1024 * 1024
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_NAME_CHARS = 100
_ENCRYPTED_FLAG = 0x1
_UTF8_FLAG = 0x800
_LOCAL_HEADER_BYTES = 30


@dataclasses.dataclass
class _Budget:
    """What a tree of archives may still use; shared, so nesting cannot multiply it."""

    members: int
    uncompressed: int

    @property
    def exhausted(self) -> bool:
        return self.members < 0 or self.uncompressed < 0


@register
class ZipReader:
    """ZIP archives: every member is read by the reader for its own format, nested ZIPs too.

    Tables are named after the member (``data/roster.csv``) and, when the member
    has tables of its own, ``member::table`` (``roster.xlsx::Sheet1``,
    ``inner.zip::people.json::data``). Members are extracted one at a time to a
    private temporary directory under a sanitised name, so a member called
    ``../../etc/passwd`` cannot escape it. Bounded across the whole tree of nested
    archives by ``max_archive_depth``, ``max_archive_members`` and
    ``max_uncompressed_bytes`` (counted while extracting, not taken from the
    headers), and per member by ``max_compression_ratio`` and ``max_file_bytes``.
    An archive whose members share compressed data (the overlapping-entry bomb,
    where thousands of entries inflate the same bytes) is refused before any is read.
    A member that cannot be read is logged and skipped; the archive fails only if
    every member fails, or after the readable members when one was encrypted or
    over a limit, so the operator hears about what could not be checked.
    """

    kind: ClassVar[str] = "zip"
    extensions: ClassVar[tuple[str, ...]] = (".zip",)
    media_types: ClassVar[tuple[str, ...]] = ("application/zip", "application/x-zip-compressed")
    #: Member errors that fail the archive after the rest is read: its data was not checked.
    _unchecked: ClassVar[tuple[type[ReaderError], ...]] = (
        EncryptedFile,
        FileTooLarge,
        ReaderUnavailable,
    )

    def read(self, path: Path, limits: ReadLimits) -> Iterator[Table]:
        """Yield the tables of every member, in archive order.

        Raises:
            FileTooLarge: a depth, member, size or ratio limit was hit; a limit on
                the whole archive stops at once, a member's limit after the rest is read.
            EncryptedFile: a member is password-protected (after the rest is read).
            CorruptFile: the archive itself is damaged, or every member failed.
        """
        budget = _Budget(limits.max_archive_members, limits.max_uncompressed_bytes)
        with tempfile.TemporaryDirectory(prefix="leakmon-zip-") as tmp:
            yield from self._read_archive(path, limits, budget, Path(tmp))

    def _read_archive(
        self, path: Path, limits: ReadLimits, budget: _Budget, tmp: Path
    ) -> Iterator[Table]:
        if limits.depth >= limits.max_archive_depth:
            raise FileTooLarge(
                f"{path.name}: archive nested {limits.depth} levels deep, "
                f"over the limit of {limits.max_archive_depth}"
            )
        try:
            archive = zipfile.ZipFile(path)
        except ZIP_DAMAGE as exc:
            raise CorruptFile(f"{path.name}: ZIP archive is damaged or truncated ({exc})") from exc
        except ZIP_UNSUPPORTED as exc:
            raise UnsupportedFormat(f"{path.name}: ZIP archive uses {exc}") from exc
        with archive:
            members = self._members(
                [i for i in archive.infolist() if not i.is_dir() and not _is_junk(i.filename)]
            )
            _check_totals(path, members, limits, budget)
            _check_overlaps(path, archive)
            member_limits = dataclasses.replace(limits, depth=limits.depth + 1)
            errors: list[ReaderError] = []
            read_any = False
            for info in members:
                try:
                    yield from self._read_member(archive, info, path, member_limits, budget, tmp)
                except ReaderError as exc:
                    if budget.exhausted:
                        raise
                    errors.append(exc)
                    level = logging.INFO if isinstance(exc, UnsupportedFormat) else logging.WARNING
                    logger.log(level, "skipped archive member: %s", exc)
                else:
                    read_any = True
        if errors and not read_any:
            raise errors[0]
        unchecked = [e for e in errors if isinstance(e, self._unchecked)]
        if unchecked:
            raise unchecked[0]

    def _members(self, members: list[zipfile.ZipInfo]) -> list[zipfile.ZipInfo]:
        """Return the members to read, in order: all of them, in archive order, here."""
        return members

    def _read_member(
        self,
        archive: zipfile.ZipFile,
        info: zipfile.ZipInfo,
        path: Path,
        limits: ReadLimits,
        budget: _Budget,
        tmp: Path,
    ) -> Iterator[Table]:
        name = info.filename
        workdir = Path(tempfile.mkdtemp(dir=tmp))
        target = workdir / _safe_name(name)
        try:
            if info.flag_bits & _ENCRYPTED_FLAG:
                raise EncryptedFile(f"{target.name}: password-protected archive member")
            _extract(archive, info, target, limits, budget)
            for table in self._member_tables(name, target, limits, budget, tmp):
                yield dataclasses.replace(
                    table,
                    source=str(path),
                    name=f"{name}::{table.name}" if table.name else name,
                )
        except ReaderError as exc:
            raise type(exc)(f"{path.name}: member {name!r}: {exc}") from exc
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _member_tables(
        self, name: str, target: Path, limits: ReadLimits, budget: _Budget, tmp: Path
    ) -> Iterator[Table]:
        """Yield the tables of one extracted member, read by the reader for its format."""
        reader = reader_for(target)
        if isinstance(reader, ZipReader):
            # The member's own reader (a packaged workbook is a ZIP too), same budget.
            tables = reader._read_archive(target, limits, budget, tmp)
        else:
            tables = reader.read(target, limits)
        for table in tables:
            yield dataclasses.replace(table, kind=table.kind or reader.kind)


def _is_junk(name: str) -> bool:
    """Say whether a member is operating-system litter (macOS resource forks, thumbnails)."""
    base = PurePosixPath(name).name
    return (
        name.startswith("__MACOSX/") or base.startswith("._") or base in (".DS_Store", "Thumbs.db")
    )


def _safe_name(member: str) -> str:
    """Return a file name for a member that cannot leave the directory it is put in.

    Only the last path part is kept, reduced to safe characters; its suffix
    survives because the registry uses it to tell formats apart.
    """
    base = PurePosixPath(member.replace("\\", "/")).name
    return _UNSAFE_CHARS.sub("_", base)[-_MAX_NAME_CHARS:].lstrip(".") or "member"


def _ratio_cap(info: zipfile.ZipInfo, limits: ReadLimits) -> float:
    return max(limits.max_compression_ratio * max(info.compress_size, 1), _RATIO_GRACE_BYTES)


def _check_totals(
    path: Path, members: list[zipfile.ZipInfo], limits: ReadLimits, budget: _Budget
) -> None:
    """Refuse an archive whose own headers already admit it is over the tree's budget.

    Headers can lie, so extraction counts again; but an honest bomb is cheaper
    to refuse before a single byte is inflated.
    """
    budget.members -= len(members)
    if budget.members < 0:
        raise FileTooLarge(
            f"{path.name}: archive has {len(members)} members, which takes it over "
            f"the limit of {limits.max_archive_members}"
        )
    declared = sum(info.file_size for info in members)
    if declared > budget.uncompressed:
        budget.uncompressed = -1  # the whole tree is over budget: outer archives stop too
        raise FileTooLarge(
            f"{path.name}: archive declares {declared} uncompressed bytes, over the limit "
            f"of {limits.max_uncompressed_bytes}"
        )


def _check_overlaps(path: Path, archive: zipfile.ZipFile) -> None:
    """Refuse an archive in which one member's data runs into another's, or into the directory.

    Each member's data ends at least at its header offset plus a 30-byte local
    header, its name and its compressed size; the local extra field can only add
    to that, so a smaller lower bound than the next offset is a certain overlap.
    This is the shape of David Fifield's non-recursive zip bomb: many directory
    entries inflating one kernel, which no honest archiver writes.
    """
    spans = sorted(archive.infolist(), key=lambda info: info.header_offset)
    following: list[zipfile.ZipInfo | None] = [*spans[1:], None]
    for info, after in zip(spans, following[: len(spans)], strict=True):
        limit = after.header_offset if after is not None else archive.start_dir
        encoding = "utf-8" if info.flag_bits & _UTF8_FLAG else "cp437"
        name_bytes = len(info.orig_filename.encode(encoding, errors="replace"))
        end = info.header_offset + _LOCAL_HEADER_BYTES + name_bytes + info.compress_size
        if end > limit:
            other = f"member {after.filename!r}" if after is not None else "the central directory"
            raise FileTooLarge(
                f"{path.name}: member {info.filename!r} overlaps {other} (entries that share "
                "compressed data: an overlapping-entry zip bomb); refused"
            )


def _extract(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    target: Path,
    limits: ReadLimits,
    budget: _Budget,
) -> None:
    """Copy one member to ``target``, counting the bytes that really come out."""
    ratio_cap = _ratio_cap(info, limits)
    if info.file_size > ratio_cap:
        raise FileTooLarge(
            f"{target.name}: declares a compression ratio over {limits.max_compression_ratio:g} "
            f"({info.compress_size} bytes inflate to {info.file_size})"
        )
    written = 0
    try:
        with _open_member(archive, info, target) as src, target.open("wb") as out:
            while block := _read_block(src, target):
                written += len(block)
                budget.uncompressed -= len(block)
                if budget.uncompressed < 0:
                    raise FileTooLarge(
                        f"{target.name}: extracting takes the archive past "
                        f"{limits.max_uncompressed_bytes} uncompressed bytes"
                    )
                if written > ratio_cap:
                    raise FileTooLarge(
                        f"{target.name}: expands more than {limits.max_compression_ratio:g} "
                        f"times its compressed size of {info.compress_size} bytes"
                    )
                if written > limits.max_file_bytes:
                    raise FileTooLarge(
                        f"{target.name}: over the limit of {limits.max_file_bytes} bytes"
                    )
                out.write(block)
    except ZIP_UNSUPPORTED as exc:
        raise UnsupportedFormat(
            f"{target.name}: compression method {info.compress_type} is not supported"
        ) from exc
    except ZIP_DAMAGE as exc:
        raise CorruptFile(f"{target.name}: cannot be extracted ({exc})") from exc


def _open_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> IO[bytes]:
    """Open a member; a header offset outside the archive is damage, not an I/O fault."""
    try:
        return archive.open(info)
    except OSError as exc:  # seeking to a negative offset: EINVAL
        raise CorruptFile(f"{target.name}: cannot be extracted ({exc.strerror or exc})") from exc


def _read_block(src: IO[bytes], target: Path) -> bytes:
    """Read the next block of a member; a seek outside the file is damage, not an I/O fault."""
    try:
        return src.read(_COPY_BLOCK)
    except OSError as exc:  # a header offset past either end of the archive
        raise CorruptFile(f"{target.name}: cannot be extracted ({exc.strerror or exc})") from exc
