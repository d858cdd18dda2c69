"""Limits on what a zip member may expand to: a size cap and a compression-ratio cap.

A zip bomb is a small archive whose member inflates to far more than the machine can hold.
Both limits are checked twice: on the sizes the archive declares, before a single byte is
inflated, and on the bytes actually inflated, while they stream (an archive may lie about its
sizes). Nothing here holds more than one read's worth of inflated data.
"""

from __future__ import annotations

import io
import zipfile
from typing import IO

DEFAULT_MAX_MEMBER_MB = 2048
# Real tables compress 3-20 times, very repetitive ones up to about 50; zip bombs by 1,000.
DEFAULT_MAX_RATIO = 100
# Below this many inflated bytes the ratio is not checked: a small, very repetitive table
# (a column of zeros) is harmless however well it compresses.
RATIO_GRACE_BYTES = 16 * 2**20


class ZipLimitError(ValueError):
    """A zip member expands beyond a limit; the message names the member and the setting."""


def _refusal(describe: str, expanded: int, compressed: int, max_mb: int, max_ratio: int
             ) -> str:
    """Why ``expanded`` bytes (from ``compressed``) break a limit, or "" when they do not."""
    if expanded > max_mb * 2**20:
        return (f"{describe} expands to {expanded / 2**20:.0f} MB, over the {max_mb} MB limit; "
                "raise Preprocessor.max_member_mb if that is expected")
    ratio = expanded / max(compressed, 1)
    if expanded > RATIO_GRACE_BYTES and ratio > max_ratio:
        return (f"{describe} expands {ratio:.0f} times ({compressed / 2**20:.1f} MB to "
                f"{expanded / 2**20:.0f} MB or more), over the {max_ratio}x limit for zip "
                "members (a zip bomb?); raise Preprocessor.max_zip_ratio if that is expected")
    return ""


def open_member(archive: zipfile.ZipFile, member: str, describe: str, *,
                max_mb: int = DEFAULT_MAX_MEMBER_MB, max_ratio: int = DEFAULT_MAX_RATIO
                ) -> IO[bytes]:
    """``member`` of ``archive`` as a binary stream that raises ``ZipLimitError`` as soon as
    it has inflated more than the limits allow; refused before inflating anything when the
    declared sizes already break them. The zip's CRC check is kept (it runs at the end)."""
    info = archive.getinfo(member)
    why = _refusal(describe, info.file_size, info.compress_size, max_mb, max_ratio)
    if why:
        raise ZipLimitError(why)
    raw = LimitedReader(archive.open(member), describe, info.compress_size, max_mb, max_ratio)
    return io.BufferedReader(raw, buffer_size=1 << 16)


class LimitedReader(io.RawIOBase):
    """A raw stream over an inflating ``inner`` stream that counts the inflated bytes (the
    furthest position reached) and refuses to go past the limits."""

    def __init__(self, inner: IO[bytes], describe: str, compressed: int, max_mb: int,
                 max_ratio: int) -> None:
        super().__init__()
        self.inner = inner
        self.describe = describe
        self.compressed = compressed
        self.max_mb = max_mb
        self.max_ratio = max_ratio
        self.furthest = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self.inner.seekable()

    def tell(self) -> int:
        return self.inner.tell()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self.inner.seek(offset, whence)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.inner.read(len(buffer))
        buffer[: len(data)] = data
        self.furthest = max(self.furthest, self.inner.tell())
        why = _refusal(self.describe, self.furthest, self.compressed, self.max_mb,
                       self.max_ratio)
        if why:
            raise ZipLimitError(why)
        return len(data)

    def close(self) -> None:
        self.inner.close()
        super().close()
