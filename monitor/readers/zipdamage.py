"""The exceptions ``zipfile`` raises on a damaged or hostile archive, in one place.

``zipfile`` reports damage with ``BadZipFile`` mostly, but not only: a directory
entry pointing before the start of the file makes a seek fail with ``OSError``
(EINVAL) or ``ValueError``; a name flagged UTF-8 that is not raises
``UnicodeDecodeError`` (a ``ValueError``); a cut deflate stream ends in
``EOFError`` or ``zlib.error``; an unknown version or method is a
``NotImplementedError``. Fuzzing found each of them escaping a reader. The
archive readers catch this tuple around ``zipfile`` calls on untrusted files,
and only there, so a disk failure elsewhere still surfaces as itself.
"""

from __future__ import annotations

import lzma
import zipfile
import zlib

__all__ = ["ZIP_DAMAGE", "ZIP_UNSUPPORTED"]

#: The archive is damaged or lies about itself.
ZIP_DAMAGE: tuple[type[Exception], ...] = (
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    OSError,
    ValueError,
)
#: The archive uses a ZIP version, compression or feature ``zipfile`` does not read.
ZIP_UNSUPPORTED: tuple[type[Exception], ...] = (NotImplementedError,)
