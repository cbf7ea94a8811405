"""Build hostile ZIP files byte by byte, in shapes ``zipfile`` refuses to write.

Overlapping entries (David Fifield, "A better zip bomb", 2019), sizes that lie,
a 10 GB member declared through a ZIP64 extra field, and real PKWARE
("ZipCrypto") encryption, which ``zipfile`` can read but not write.
"""

from __future__ import annotations

import struct
import zlib

_LOCAL = 0x04034B50
_CENTRAL = 0x02014B50
_END = 0x06054B50
_DEFLATE = 8
_STORED = 0
_DOS_TIME, _DOS_DATE = 0, 0x21  # 1980-01-01
_ZIP64_EXTRA = 0x0001
_MAX32 = 0xFFFFFFFF


def deflate(data: bytes) -> bytes:
    """Return a raw deflate stream (no zlib header), as ZIP members hold."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def local_header(
    name: bytes, crc: int, csize: int, usize: int, *, method: int = _DEFLATE, flags: int = 0
) -> bytes:
    return (
        struct.pack(
            "<IHHHHHIIIHH",
            _LOCAL,
            20,
            flags,
            method,
            _DOS_TIME,
            _DOS_DATE,
            crc,
            csize,
            usize,
            len(name),
            0,
        )
        + name
    )


def central_entry(
    name: bytes,
    crc: int,
    csize: int,
    usize: int,
    offset: int,
    *,
    method: int = _DEFLATE,
    flags: int = 0,
    extra: bytes = b"",
    external_attr: int = 0,
) -> bytes:
    return (
        struct.pack(
            "<IHHHHHHIIIHHHHHII",
            _CENTRAL,
            (3 << 8) | 20,  # made by Unix, so external_attr carries a mode
            20,
            flags,
            method,
            _DOS_TIME,
            _DOS_DATE,
            crc,
            csize,
            usize,
            len(name),
            len(extra),
            0,
            0,
            0,
            external_attr,
            offset,
        )
        + name
        + extra
    )


def end_record(count: int, cd_size: int, cd_offset: int) -> bytes:
    return struct.pack("<IHHHHIIH", _END, 0, 0, count, count, cd_size, cd_offset, 0)


def archive(body: bytes, entries: list[bytes]) -> bytes:
    """Join member data, a central directory of ``entries`` and the end record."""
    directory = b"".join(entries)
    return body + directory + end_record(len(entries), len(directory), len(body))


def overlapping_bomb(kernel: bytes, copies: int, name: bytes = b"data.csv") -> bytes:
    """Return one deflated kernel with ``copies`` directory entries that all point at it."""
    packed = deflate(kernel)
    crc = zlib.crc32(kernel)
    body = local_header(name, crc, len(packed), len(kernel)) + packed
    return archive(body, [central_entry(name, crc, len(packed), len(kernel), 0)] * copies)


def quoted_overlap_bomb(kernel: bytes, files: int) -> bytes:
    """Return Fifield's quoted-overlap bomb: each member's data quotes the next local header.

    Member ``i`` inflates to the local headers of members ``i+1..n`` (quoted in
    stored deflate blocks) followed by the kernel, so every member has its own
    name and offset, and ``zipfile`` itself (before Python 3.12) reads them all.
    """
    names = [f"{i:05d}.csv".encode() for i in range(files)]
    packed = deflate(kernel)
    output = kernel
    csize = len(packed)
    crc = zlib.crc32(kernel)
    headers = [b""] * files
    headers[-1] = local_header(names[-1], crc, csize, len(output))
    for i in range(files - 2, -1, -1):
        quoted = headers[i + 1]
        output = quoted + output
        csize += 5 + len(quoted)
        crc = zlib.crc32(output)
        headers[i] = local_header(names[i], crc, csize, len(output))
    body = b""
    offsets = []
    for i, header in enumerate(headers):
        offsets.append(len(body))
        body += header
        if i + 1 < files:
            quoted = headers[i + 1]
            # A stored, non-final deflate block whose payload is the next local header.
            body += b"\x00" + struct.pack("<HH", len(quoted), len(quoted) ^ 0xFFFF)
            # ... and the payload is the next header itself, written on the next round.
    body += packed
    entries = []
    for i, header in enumerate(headers):
        crc, csize, usize = struct.unpack("<III", header[14:26])
        entries.append(central_entry(names[i], crc, csize, usize, offsets[i]))
    return archive(body, entries)


def declared_size_member(name: bytes, declared: int, data: bytes = b"a,b\n1,2\n") -> bytes:
    """Return an archive whose one member declares ``declared`` bytes through ZIP64."""
    packed = deflate(data)
    crc = zlib.crc32(data)
    body = local_header(name, crc, len(packed), len(data)) + packed
    extra = struct.pack("<HHQ", _ZIP64_EXTRA, 8, declared)
    entry = central_entry(name, crc, len(packed), _MAX32, 0, extra=extra)
    return archive(body, [entry])


def symlink_member(name: bytes, target: bytes) -> bytes:
    """Return an archive whose one member is a Unix symbolic link to ``target``."""
    crc = zlib.crc32(target)
    body = local_header(name, crc, len(target), len(target), method=_STORED) + target
    mode = 0o120777 << 16
    entry = central_entry(
        name, crc, len(target), len(target), 0, method=_STORED, external_attr=mode
    )
    return archive(body, [entry])


class _ZipCrypto:
    """The traditional PKWARE stream cipher (APPNOTE 6.1): weak, but what most tools write."""

    def __init__(self, password: bytes) -> None:
        self.keys = [0x12345678, 0x23456789, 0x34567890]
        for byte in password:
            self._update(byte)

    def _update(self, byte: int) -> None:
        k0, k1, k2 = self.keys
        k0 = zlib.crc32(bytes([byte]), k0 ^ _MAX32) ^ _MAX32
        k1 = ((k1 + (k0 & 0xFF)) * 134775813 + 1) & _MAX32
        k2 = zlib.crc32(bytes([k1 >> 24]), k2 ^ _MAX32) ^ _MAX32
        self.keys = [k0, k1, k2]

    def encrypt(self, data: bytes) -> bytes:
        out = bytearray()
        for byte in data:
            temp = (self.keys[2] | 2) & 0xFFFF
            out.append(byte ^ (((temp * (temp ^ 1)) >> 8) & 0xFF))
            self._update(byte)
        return bytes(out)


def encrypted_archive(members: dict[str, bytes], password: bytes) -> bytes:
    """Return a ZipCrypto-encrypted archive that ``zipfile`` opens with ``pwd=password``."""
    body = b""
    entries = []
    for name, data in members.items():
        packed = deflate(data)
        crc = zlib.crc32(data)
        # 12-byte encryption header; its last byte is the CRC's high byte, for the check.
        header = bytes(range(11)) + bytes([crc >> 24])
        sealed = _ZipCrypto(password).encrypt(header + packed)
        offset = len(body)
        raw = name.encode()
        body += local_header(raw, crc, len(sealed), len(data), flags=0x1) + sealed
        entries.append(central_entry(raw, crc, len(sealed), len(data), offset, flags=0x1))
    return archive(body, entries)
