"""The daemon's in-memory validators: packed small, read back exactly."""

from __future__ import annotations

import sys

import pytest

from monitor.crawl import Validators
from monitor.crawl.cache import pack, unpack

DIGEST = "9f" * 32
LAST_MODIFIED = "Fri, 04 Dec 2026 20:00:00 GMT"


@pytest.mark.parametrize(
    ("etag", "last_modified"),
    [
        ('"5d41402abc4b2a76b9719d911017c592"', LAST_MODIFIED),
        (None, None),
        ("", None),  # an empty ETag is not a missing one
        (None, ""),
        ('W/"é-\udc80"', LAST_MODIFIED),  # not ASCII, and a lone surrogate from a bad header
    ],
)
def test_validators_are_read_back_as_they_were_kept(
    etag: str | None, last_modified: str | None
) -> None:
    entry = pack(etag, last_modified, DIGEST)
    assert entry is not None
    assert unpack(entry) == Validators(etag, last_modified, DIGEST)


@pytest.mark.parametrize("sha256", ["", "not hex", "ab" * 31, "ab" * 33])
def test_a_value_that_is_not_a_sha256_digest_is_not_kept(sha256: str) -> None:
    assert pack('"e"', LAST_MODIFIED, sha256) is None


def test_a_field_too_long_to_pack_is_not_kept() -> None:
    assert pack("x" * 0xFFFF, None, DIGEST) is None
    assert pack("x" * 0xFFFE, None, DIGEST) is not None


def test_an_entry_is_one_object_smaller_than_the_tuple_it_replaces() -> None:
    etag, digest = '"' + "a" * 40 + '"', bytes.fromhex(DIGEST)
    entry = pack(etag, LAST_MODIFIED, DIGEST)
    assert entry is not None
    old = (etag, LAST_MODIFIED, digest)
    old_size = sys.getsizeof(old) + sum(sys.getsizeof(part) for part in old)
    assert sys.getsizeof(entry) < old_size / 2
