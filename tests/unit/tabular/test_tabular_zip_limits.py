"""Zip members that expand too far: refused on their declared sizes before anything is
inflated, and on the bytes actually inflated while they stream; small repetitive tables pass."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from tabular.sources import InputError, check_readable, columns_of, locate, read
from tabular.zip_limits import RATIO_GRACE_BYTES, LimitedReader, ZipLimitError

MB = 2**20


def zeros_zip(path: Path, member: str, header: bytes, size: int) -> Path:
    """A deflated csv of one column of zeros, ``size`` bytes, written in pieces (the test never
    holds it whole)."""
    line = b"0\n"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive, \
            archive.open(member, "w", force_zip64=True) as out:
        out.write(header)
        block = line * (MB // len(line))
        for _ in range(size // len(block)):
            out.write(block)
    return path


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bomb")
    zeros_zip(folder / "data.zip", "train.csv", b"a\n", 40 * MB)
    assert (folder / "data.zip").stat().st_size < 100_000  # about 1,000 times smaller
    return folder


def test_a_member_that_expands_a_thousand_times_is_refused_before_it_is_read(bomb: Path):
    source = locate(bomb, "data.zip:train.csv")
    for attempt in (lambda: columns_of(source), lambda: read(source),
                    lambda: check_readable(source)):
        with pytest.raises(InputError) as error:
            attempt()
        message = str(error.value)
        assert "\n" not in message
        assert "data.zip:train.csv expands 1" in message and "over the 100x limit" in message
        assert "raise Preprocessor.max_zip_ratio" in message


def test_the_ratio_limit_can_be_raised(bomb: Path):
    source = locate(bomb, "data.zip:train.csv", max_ratio=10_000)
    check_readable(source)  # the whole member streams through, CRC included
    assert columns_of(source) == ("a",)


def test_a_small_repetitive_member_is_not_a_bomb(tmp_path: Path):
    zeros_zip(tmp_path / "data.zip", "t.csv", b"a\n", 4 * MB)  # ratio ~1,000, under the grace
    source = locate(tmp_path, "data.zip:t.csv")
    check_readable(source)
    assert len(read(source)) == 2 * MB


def test_the_stream_is_refused_at_the_limit_whatever_the_archive_declared():
    """The archive's sizes may lie: what is actually inflated counts too."""
    inflated = io.BytesIO(b"x" * (RATIO_GRACE_BYTES + 4 * MB))
    stream = io.BufferedReader(LimitedReader(inflated, "t.zip:t.csv", compressed=1000,
                                             max_mb=2048, max_ratio=100))
    read_bytes = 0
    with pytest.raises(ZipLimitError, match="over the 100x limit"):
        while block := stream.read(MB):
            read_bytes += len(block)
    assert RATIO_GRACE_BYTES - MB <= read_bytes <= RATIO_GRACE_BYTES + MB
    capped = io.BufferedReader(LimitedReader(io.BytesIO(b"x" * (3 * MB)), "t.zip:t.csv",
                                             compressed=3 * MB, max_mb=1, max_ratio=100))
    with pytest.raises(ZipLimitError, match="over the 1 MB limit"):
        capped.read()


def test_a_damaged_member_still_fails_its_crc(tmp_path: Path):
    body = b"a\n" + b"".join(f"{i}\n".encode() for i in range(50_000))
    path = tmp_path / "data.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("t.csv", body)
    raw = bytearray(path.read_bytes())
    raw[raw.rfind(b"49990")] = ord("8")
    path.write_bytes(bytes(raw))
    with pytest.raises(InputError, match=r"is damaged .*Bad CRC-32"):
        check_readable(locate(tmp_path, "data.zip:t.csv"))
