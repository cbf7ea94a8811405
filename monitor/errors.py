"""Exception tree for leakmon; every error we raise on purpose lives here.

LeakmonError
├── ConfigError(ValueError)          bad YAML, bad value, unknown key
├── ReaderError                      a file could not be read
│   ├── UnsupportedFormat            no reader accepts this file
│   ├── CorruptFile                  truncated, malformed, not what it claims
│   ├── EncryptedFile                password-protected workbook, archive or PDF
│   └── FileTooLarge                 a size, row, member or ratio limit was hit
├── DetectError                      a recognizer or the detection engine failed
├── NotConfigured                    a plugin switched itself off (loader skips it)
├── FetchError                       a URL given to ``scan`` could not be downloaded
├── StoreError                       the database is unreachable, or its schema is not current
│   └── MigrationRequired            the schema is older than this leakmon; run migrations
├── NotifyError                      an alert channel refused or did not answer
└── FrontierError                    the cluster's shared frontier (Redis) did not answer
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "CorruptFile",
    "DetectError",
    "EncryptedFile",
    "FetchError",
    "FileTooLarge",
    "FrontierError",
    "LeakmonError",
    "MigrationRequired",
    "NotConfigured",
    "NotifyError",
    "ReaderError",
    "StoreError",
    "UnsupportedFormat",
]


class LeakmonError(Exception):
    """Base class of every error leakmon raises on purpose."""


class ConfigError(LeakmonError, ValueError):
    """The configuration is invalid; the message names the field path and value."""


class ReaderError(LeakmonError):
    """A file could not be read; the message names the file and the reason."""


class UnsupportedFormat(ReaderError):
    """No registered reader accepts the file."""


class CorruptFile(ReaderError):
    """The file is truncated, malformed, or not the format it claims to be."""


class EncryptedFile(ReaderError):
    """The file is password-protected, so its contents cannot be checked."""


class FileTooLarge(ReaderError):
    """A configured limit (bytes, rows, columns, members, ratio, depth, pages) was hit."""


class DetectError(LeakmonError):
    """The detection engine failed on a table."""


class NotConfigured(LeakmonError):
    """A plugin found itself switched off; the loader skips it."""


class FetchError(LeakmonError):
    """A URL could not be downloaded."""


class StoreError(LeakmonError):
    """The store failed: unreachable database, or a schema that is not current."""


class MigrationRequired(StoreError):
    """The database schema is behind this version of leakmon."""


class NotifyError(LeakmonError):
    """An alert channel refused the alert or did not answer; the dispatcher retries."""


class FrontierError(LeakmonError):
    """The shared crawl frontier (Redis) refused or did not answer; nothing was lost."""
