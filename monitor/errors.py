"""Exception tree for leakmon; every error we raise on purpose lives here.

LeakmonError
├── ConfigError(ValueError)          bad YAML, bad value, unknown key
├── ReaderError                      a file could not be read
│   ├── UnsupportedFormat            no reader accepts this file
│   ├── CorruptFile                  truncated, malformed, not what it claims
│   ├── EncryptedFile                password-protected workbook, archive or PDF
│   ├── FileTooLarge                 a size, row, member or ratio limit was hit
│   ├── IncompleteData               the source holds fewer rows than it says (a server capped them)
│   └── ReaderUnavailable            a known format no installed reader can open (.tde, .hyper)
├── DetectError                      a recognizer or the detection engine failed
├── NotConfigured                    a plugin switched itself off (loader skips it)
├── FetchError                       a URL given to ``scan`` could not be downloaded
├── TableauProtocolError             a Tableau VizQL response is not in a shape we know
├── StoreError                       the database is unreachable, or its schema is not current
│   ├── StoreBusy                    locked, unreachable or rolled back: trying again may succeed
│   └── MigrationRequired            the schema is older than this leakmon; run migrations
├── NotifyError                      an alert channel refused or did not answer
│   └── NotifyRefused                the receiver refused this event's body (400, 413, 415, 422)
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
    "IncompleteData",
    "LeakmonError",
    "MigrationRequired",
    "NotConfigured",
    "NotifyError",
    "NotifyRefused",
    "ReaderError",
    "ReaderUnavailable",
    "StoreBusy",
    "StoreError",
    "TableauProtocolError",
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


class IncompleteData(ReaderError):
    """The file says it holds more rows than it does: a server capped it; the rest is unchecked."""


class ReaderUnavailable(ReaderError):
    """The format is known, but no installed reader opens it, so its data is not checked.

    A legacy Tableau ``.tde`` extract (no reader exists), or a ``.hyper`` extract
    without the ``tableau`` extra installed.
    """


class DetectError(LeakmonError):
    """The detection engine failed on a table."""


class NotConfigured(LeakmonError):
    """A plugin found itself switched off; the loader skips it."""


class FetchError(LeakmonError):
    """A URL could not be downloaded."""


class TableauProtocolError(LeakmonError, ValueError):
    """A Tableau VizQL response is malformed or in an unknown shape.

    Messages name keys, offsets and lengths, never values: the response may hold personal data.
    """


class StoreError(LeakmonError):
    """The store failed: unreachable database, or a schema that is not current."""


class StoreBusy(StoreError):
    """The database could not do it now (locked, connection lost, deadlock): a retry may succeed.

    Raised instead of a plain ``StoreError`` for the driver's operational errors, so a
    caller that must not lose work (a scan result) retries these, and only these.
    """


class MigrationRequired(StoreError):
    """The database schema is behind this version of leakmon."""


class NotifyError(LeakmonError):
    """An alert channel refused the alert or did not answer; the dispatcher retries."""


class NotifyRefused(NotifyError):
    """The receiver answered, and refused this very body (HTTP 400, 413, 415 or 422).

    Sending the same body again will not help: after a few tries the dispatcher parks
    the event instead of letting it hold up the incident's later events. A refusal of
    the sender (401, 403, 404...) is a plain ``NotifyError``: fixed on the receiver's
    side, after which the waiting events must still go out.
    """


class FrontierError(LeakmonError):
    """The shared crawl frontier (Redis) refused or did not answer; nothing was lost."""
