"""A file's validators packed in one ``bytes``, for the daemon's in-memory cache."""

from __future__ import annotations

from monitor.crawl.hooks import Validators

__all__ = ["pack", "unpack"]

#: Bytes of a sha256 digest.
_DIGEST = 32
#: An ETag or Last-Modified longer than this (encoded) is not cached: fetched in full.
_MAX_FIELD = 0xFFFE
#: The length written for a field that is ``None`` (an empty string is length 0).
_NONE = 0xFFFF


def pack(etag: str | None, last_modified: str | None, sha256: str) -> bytes | None:
    """Return a file's validators as one ``bytes``, or ``None`` when they cannot be kept.

    The cache holds one entry per watched file for the life of the process. A tuple
    of two strings and the digest is four objects (about 300 bytes); this is one
    (about 140): digest, then each field as a 2-byte length and its UTF-8 bytes.
    ``None`` is kept apart from an empty string. Not a hex digest, or a field too
    long: ``None`` (not kept, the file is fetched in full).
    """
    try:
        digest = bytes.fromhex(sha256)
    except ValueError:
        return None
    if len(digest) != _DIGEST:
        return None
    out = bytearray(digest)
    for field in (etag, last_modified):
        if field is None:
            out += _NONE.to_bytes(2, "big")
            continue
        raw = field.encode("utf-8", "surrogatepass")
        if len(raw) > _MAX_FIELD:
            return None
        out += len(raw).to_bytes(2, "big") + raw
    return bytes(out)


def unpack(entry: bytes) -> Validators:
    """Return the validators ``pack`` packed."""
    fields: list[str | None] = []
    at = _DIGEST
    for _ in range(2):
        size = int.from_bytes(entry[at : at + 2], "big")
        at += 2
        if size == _NONE:
            fields.append(None)
            continue
        fields.append(entry[at : at + size].decode("utf-8", "surrogatepass"))
        at += size
    return Validators(fields[0], fields[1], entry[:_DIGEST].hex())
