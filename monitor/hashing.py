"""Keyed hashes of matched values, so findings can be deduplicated without keeping the values.

A plain hash of an SSN is reversible by trying all 10^9 of them; a keyed hash
(HMAC-SHA256 with a secret key) is not, as long as the key stays secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["ValueHasher"]


class ValueHasher:
    """HMAC-SHA256 over values with a secret key.

    Without a configured key a random one is drawn per process: hashes then
    compare only within one run, which is all a one-shot ``scan`` needs.
    """

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key if key else secrets.token_bytes(32)

    def digest(self, values: list[str] | tuple[str, ...] | set[str]) -> str:
        """Return a short hex digest of a set of values, independent of their order."""
        mac = hmac.new(self._key, digestmod=hashlib.sha256)
        for value in sorted(set(values)):
            mac.update(value.encode("utf-8", "replace"))
            mac.update(b"\x00")
        return mac.hexdigest()[:24]

    def __repr__(self) -> str:
        return "ValueHasher(key=<redacted>)"
