"""The ZIP reader: members through the registry, nesting, bombs, traversal, failing members."""

from __future__ import annotations

import functools
import io
import json
import logging
import random
import tempfile
import zipfile
from typing import TYPE_CHECKING

import openpyxl
import pytest
from faker import Faker

from monitor.errors import CorruptFile, EncryptedFile, FileTooLarge, UnsupportedFormat
from monitor.models import ReadLimits
from monitor.readers import archive as archive_module
from monitor.readers import read_tables
from monitor.readers.archive import ZipReader
from tests.readers import zipcraft
from tests.synthetic import ZIP_ROWLEVEL_MEMBER, zip_hiding_rowlevel_csv

if TYPE_CHECKING:
    from pathlib import Path

    from monitor.models import Table

Members = dict[str, bytes]


def _people_json(n: int = 3) -> bytes:
    fake = Faker("en_US")
    fake.seed_instance(11)
    return json.dumps(
        {"data": [{"name": fake.name(), "email": fake.email(safe=True)} for _ in range(n)]}
    ).encode()


def _xlsx() -> bytes:
    fake = Faker("en_US")
    fake.seed_instance(12)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Staff"
    sheet.append(["Name", "Phone", "City"])
    for _ in range(3):
        sheet.append([fake.name(), fake.phone_number(), fake.city()])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _zip_bytes(members: Members, *, encrypted: tuple[str, ...] = ()) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2023, 1, 1, 0, 0, 0))
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return _mark_encrypted(out.getvalue(), encrypted)


def _mark_encrypted(data: bytes, names: tuple[str, ...]) -> bytes:
    """Set the "encrypted" flag a password-protected member carries (zipfile cannot write one)."""
    buf = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in names:
            buf[archive.getinfo(name).header_offset + 6] |= 0x1  # local file header
    pos = buf.find(b"PK\x01\x02")
    while pos != -1:  # central directory entries
        size = int.from_bytes(buf[pos + 28 : pos + 30], "little")
        if buf[pos + 46 : pos + 46 + size].decode() in names:
            buf[pos + 8] |= 0x1
        pos = buf.find(b"PK\x01\x02", pos + 46)
    return bytes(buf)


def _zip(path: Path, members: Members, **kwargs: tuple[str, ...]) -> Path:
    path.write_bytes(_zip_bytes(members, **kwargs))
    return path


def _read(path: Path, **limits: float) -> list[Table]:
    return list(ZipReader().read(path, ReadLimits(**limits)))  # type: ignore[arg-type]


def test_zip_member_names_in_table_name(tmp_path: Path) -> None:
    path = _zip(
        tmp_path / "release.zip", {"2023/people.json": _people_json(), "staff.xlsx": _xlsx()}
    )
    tables = _read(path)
    assert [(t.name, t.kind) for t in tables] == [
        ("2023/people.json::data", "json"),
        ("staff.xlsx::Staff", "spreadsheet"),
    ]
    assert all(t.source == str(path) for t in tables)
    assert tables[1].columns == ["Name", "Phone", "City"]


def test_reads_csv_members_through_the_registry(tmp_path: Path) -> None:
    path = zip_hiding_rowlevel_csv(tmp_path, rows=40)
    tables = {t.name: t for t in read_tables(path, ReadLimits())}
    assert tables[ZIP_ROWLEVEL_MEMBER].kind == "csv"
    assert tables[ZIP_ROWLEVEL_MEMBER].frame.height == 40
    assert "ccw_counts_by_county.csv" in tables


def test_reads_nested_zip_members(tmp_path: Path) -> None:
    inner = _zip_bytes(
        {"people.json": _people_json(), "deeper.zip": _zip_bytes({"staff.xlsx": _xlsx()})}
    )
    path = _zip(tmp_path / "outer.zip", {"inner.zip": inner})
    assert [t.name for t in _read(path)] == [
        "inner.zip::people.json::data",
        "inner.zip::deeper.zip::staff.xlsx::Staff",
    ]


def test_refuses_archives_nested_deeper_than_the_limit(tmp_path: Path) -> None:
    inner = _zip_bytes({"deeper.zip": _zip_bytes({"staff.xlsx": _xlsx()})})
    path = _zip(tmp_path / "outer.zip", {"people.json": _people_json(), "inner.zip": inner})
    reader = ZipReader().read(path, ReadLimits(max_archive_depth=2))
    assert next(reader).name == "people.json::data"  # what is within reach is still read
    with pytest.raises(
        FileTooLarge, match=r"deeper\.zip: archive nested 2 levels deep, over the limit of 2"
    ):
        next(reader)


def test_stops_zip_bomb_by_ratio(tmp_path: Path) -> None:
    path = _zip(tmp_path / "bomb.zip", {"zeros.csv": b"0" * (8 * 1024 * 1024)})
    with pytest.raises(
        FileTooLarge, match=r"bomb\.zip: member 'zeros\.csv': .*compression ratio over 200"
    ):
        _read(path)


def test_small_members_may_compress_well(tmp_path: Path) -> None:
    # 200 KB of a repeated row deflates past 200:1, yet it is no bomb.
    rows = b"county,count\n" + b"Alameda,0\n" * 20_000
    path = _zip(tmp_path / "sparse.zip", {"counts.csv": rows})
    (table,) = _read(path)
    assert table.frame.height == 20_000


def test_stops_when_archive_expands_past_max_uncompressed_bytes(tmp_path: Path) -> None:
    path = _zip(tmp_path / "big.zip", {f"p{i}.json": _people_json(50) for i in range(4)})
    size = len(_people_json(50))
    with pytest.raises(FileTooLarge, match=r"big\.zip: archive declares \d+ uncompressed bytes"):
        _read(path, max_uncompressed_bytes=3 * size)


def test_nested_archives_share_one_budget(tmp_path: Path) -> None:
    # Each inner archive fits the budget alone; together they do not.
    inner = _zip_bytes({"people.json": _people_json(50)})
    size = len(_people_json(50))
    path = _zip(tmp_path / "outer.zip", {f"part{i}.zip": inner for i in range(4)})
    with pytest.raises(FileTooLarge, match=r"over the limit of \d+|past \d+ uncompressed bytes"):
        _read(path, max_uncompressed_bytes=3 * size)


def test_stops_at_max_archive_members(tmp_path: Path) -> None:
    path = _zip(tmp_path / "many.zip", {f"p{i}.json": _people_json(1) for i in range(6)})
    with pytest.raises(FileTooLarge, match=r"many\.zip: archive has 6 members, .* limit of 5"):
        _read(path, max_archive_members=5)


def test_counts_members_of_nested_archives_too(tmp_path: Path) -> None:
    inner = _zip_bytes({f"p{i}.json": _people_json(1) for i in range(4)})
    path = _zip(tmp_path / "outer.zip", {"a.zip": inner, "b.zip": inner})
    with pytest.raises(FileTooLarge, match=r"limit of 8"):
        _read(path, max_archive_members=8)


def test_rejects_encrypted_member_after_reading_the_rest(tmp_path: Path) -> None:
    path = _zip(
        tmp_path / "locked.zip",
        {"secret.json": _people_json(), "open.json": _people_json()},
        encrypted=("secret.json",),
    )
    reader = ZipReader().read(path, ReadLimits())
    assert next(reader).name == "open.json::data"
    with pytest.raises(
        EncryptedFile, match=r"locked\.zip: member 'secret\.json': .*password-protected"
    ):
        next(reader)


def test_path_traversal_member_stays_in_temp_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    names = ["../../escaped.json", "/abs/escaped2.json", "..\\..\\escaped3.json", ".."]
    path = _zip(tmp_path / "evil.zip", dict.fromkeys(names, _people_json()))
    reader = ZipReader().read(path, ReadLimits())
    seen = []
    for table in reader:
        written = [p for p in tmp_path.rglob("*") if p.is_file() and p != path]
        assert all(scratch in p.parents for p in written), written
        seen.append(table.name)
    assert seen == [f"{n}::data" for n in names]
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [path]  # nothing left behind


def test_member_failure_does_not_stop_other_members(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = _xlsx()[:500]
    path = _zip(tmp_path / "mixed.zip", {"broken.xlsx": broken, "people.json": _people_json()})
    with caplog.at_level(logging.WARNING, logger="monitor.readers.archive"):
        tables = _read(path)
    assert [t.name for t in tables] == ["people.json::data"]
    assert "mixed.zip: member 'broken.xlsx'" in caplog.text


@pytest.mark.parametrize(
    ("members", "error"),
    [
        ({"a.xlsx": b"PK\x03\x04broken", "b.json": b"{nope"}, CorruptFile),
        ({"logo.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00"}, UnsupportedFormat),
    ],
)
def test_raises_first_error_when_every_member_fails(
    tmp_path: Path, members: Members, error: type[Exception]
) -> None:
    path = _zip(tmp_path / "bad.zip", members)
    first = next(iter(members))
    with pytest.raises(error, match=rf"^bad\.zip: member '{first}': "):
        _read(path)


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_rejects_damaged_archive(tmp_path: Path, cut: float) -> None:
    data = _zip_bytes({"people.json": _people_json(200)})
    path = tmp_path / "cut.zip"
    path.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(CorruptFile, match=r"cut\.zip"):
        list(read_tables(path, ReadLimits()))


def test_skips_operating_system_litter(tmp_path: Path) -> None:
    members = {
        "__MACOSX/._people.json": b"\x00\x05\x16\x07",
        ".DS_Store": b"\x00\x00\x00\x01Bud1",
        "people.json": _people_json(),
    }
    assert [t.name for t in _read(_zip(tmp_path / "mac.zip", members))] == ["people.json::data"]


def test_empty_archive_yields_nothing(tmp_path: Path) -> None:
    assert _read(_zip(tmp_path / "empty.zip", {"folder/": b""})) == []


def test_distrusts_sizes_in_headers(tmp_path: Path) -> None:
    # A member that claims 100 bytes but inflates to 4 MB is cut off and reported, not extracted.
    data = bytearray(_zip_bytes({"liar.json": b" " * (4 * 1024 * 1024)}))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        local = archive.getinfo("liar.json").header_offset
    data[local + 22 : local + 26] = (100).to_bytes(4, "little")
    central = data.find(b"PK\x01\x02")
    data[central + 24 : central + 28] = (100).to_bytes(4, "little")
    path = tmp_path / "liar.zip"
    path.write_bytes(bytes(data))
    with pytest.raises(
        CorruptFile, match=r"liar\.zip: member 'liar\.json': liar\.json: cannot be extracted"
    ):
        _read(path)


# -- zip bombs and other hostile archives -----------------------------------------------

MiB = 1024 * 1024


@functools.cache
def _kernel(size: int = MiB) -> bytes:
    """Return CSV text that deflates only about twice over: no ratio limit can catch it."""
    noise = random.Random(13).randbytes(size // 2).hex().encode()
    rows = (noise[i : i + 60] for i in range(0, len(noise), 60))
    return (b"id,token\n" + b"\n".join(b"%d,%s" % (n, row) for n, row in enumerate(rows)))[:size]


def _no_extraction(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every member the reader starts to inflate."""
    inflated: list[str] = []
    original = archive_module._extract

    def spy(archive: zipfile.ZipFile, info: zipfile.ZipInfo, *args: object) -> None:
        inflated.append(info.filename)
        original(archive, info, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(archive_module, "_extract", spy)
    return inflated


@pytest.mark.parametrize(
    ("build", "limits"),
    [
        # Default limits: 5,000 entries of one 1 MiB kernel declare 5 GiB from a 600 KB file.
        (lambda kernel: zipcraft.overlapping_bomb(kernel, 5_000), {}),
        # Fifield's quoted overlap: every entry has its own name and offset.
        (
            lambda kernel: zipcraft.quoted_overlap_bomb(kernel, 60),
            {"max_uncompressed_bytes": 40 * MiB},
        ),
    ],
    ids=["same-offset", "quoted"],
)
def test_overlapping_entry_bomb_is_stopped_by_the_shared_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, build: object, limits: dict[str, int]
) -> None:
    kernel = _kernel()
    assert callable(build)
    path = tmp_path / "bomb.zip"
    path.write_bytes(build(kernel))
    # The bomb is made to pass every per-member limit: a low ratio, few members.
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
    assert max(i.file_size / i.compress_size for i in infos) < 200
    assert len(infos) <= ReadLimits().max_archive_members
    inflated = _no_extraction(monkeypatch)
    with pytest.raises(
        FileTooLarge, match=r"^bomb\.zip: archive declares \d+ uncompressed bytes, over the limit"
    ):
        _read(path, **limits)
    assert inflated == []  # refused from the headers, before a byte was inflated


@pytest.mark.parametrize(
    "build",
    [
        lambda kernel: zipcraft.overlapping_bomb(kernel, 20),
        lambda kernel: zipcraft.quoted_overlap_bomb(kernel, 20),
    ],
    ids=["same-offset", "quoted"],
)
def test_overlapping_entries_within_the_budget_are_refused_as_a_bomb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, build: object
) -> None:
    # 20 MiB fits the budget, but would scan the same kernel 20 times; no archiver
    # writes overlapping entries, so they are refused outright.
    assert callable(build)
    path = tmp_path / "bomb.zip"
    path.write_bytes(build(_kernel()))
    inflated = _no_extraction(monkeypatch)
    with pytest.raises(FileTooLarge, match=r"^bomb\.zip: member '.*' overlaps .*zip bomb"):
        _read(path)
    assert inflated == []


def test_overlapping_bomb_nested_in_an_archive_is_refused(tmp_path: Path) -> None:
    inner = zipcraft.overlapping_bomb(_kernel(64 * 1024), 200)
    path = _zip(tmp_path / "outer.zip", {"people.json": _people_json(), "bomb.zip": inner})
    reader = ZipReader().read(path, ReadLimits())
    assert next(reader).name == "people.json::data"
    with pytest.raises(FileTooLarge, match=r"member 'bomb\.zip': .*overlaps"):
        next(reader)


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({}, r"archive declares 10737418240 uncompressed bytes, over the limit of 4294967296"),
        ({"max_uncompressed_bytes": 64 * 1024**3}, r"declares a compression ratio over 200"),
    ],
    ids=["budget", "ratio"],
)
def test_member_declaring_10_gb_is_refused_before_extraction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limits: dict[str, int], message: str
) -> None:
    path = tmp_path / "huge.zip"
    path.write_bytes(zipcraft.declared_size_member(b"huge.csv", 10 * 1024**3))
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("huge.csv").file_size == 10 * 1024**3
    inflated = _no_extraction(monkeypatch)
    with pytest.raises(FileTooLarge, match=message):
        _read(path, **limits)
    assert inflated in ([], ["huge.csv"])  # at most the header's ratio is checked


def _nested(levels: int, fanout: int, leaf: bytes) -> bytes:
    """Return a 42.zip-shaped tree: ``fanout`` copies of the level below, ``levels`` deep."""
    data = _zip_bytes({"leaf.csv": leaf})
    for level in range(levels):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
            for copy in range(fanout):
                archive.writestr(f"l{level}-{copy}.zip", data)
        data = out.getvalue()
    return data


def test_deeply_nested_bomb_is_stopped_by_depth(tmp_path: Path) -> None:
    path = tmp_path / "42.zip"
    path.write_bytes(_nested(6, 4, b"0," * (MiB // 2)))
    with pytest.raises(FileTooLarge, match=r"archive nested 3 levels deep, over the limit of 3"):
        _read(path)


def test_deeply_nested_bomb_is_stopped_by_the_budget_when_depth_allows_it(
    tmp_path: Path,
) -> None:
    # 4**5 = 1,024 leaves of 1 MiB each: within a depth limit of 10, the shared
    # budget stops the tree after about 30 of them.
    path = tmp_path / "42.zip"
    path.write_bytes(_nested(5, 4, b"0," * (MiB // 2)))
    with pytest.raises(FileTooLarge, match=r"over the limit of 31457280|past 31457280"):
        _read(path, max_archive_depth=10, max_uncompressed_bytes=30 * MiB)


def test_symlink_member_is_read_as_text_never_followed(tmp_path: Path) -> None:
    canary = tmp_path / "secret.txt"
    canary.write_text("CANARY-0x5eed,someone@example.com\n")
    path = tmp_path / "link.zip"
    path.write_bytes(zipcraft.symlink_member(b"link.csv", str(canary).encode()))
    tables = _read(path)
    cells = [str(v) for t in tables for row in t.frame.rows() for v in row]
    cells += [c for t in tables for c in t.columns]
    assert not any("CANARY" in c for c in cells)


def test_zipcrypto_encrypted_archive_is_reported_as_encrypted(tmp_path: Path) -> None:
    data = zipcraft.encrypted_archive({"people.json": _people_json()}, b"synthetic-password")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:  # a real encrypted archive
        assert json.loads(archive.read("people.json", pwd=b"synthetic-password"))["data"]
    path = tmp_path / "locked.zip"
    path.write_bytes(data)
    with pytest.raises(
        EncryptedFile, match=r"^locked\.zip: member 'people\.json': .*password-protected"
    ):
        list(read_tables(path, ReadLimits()))
