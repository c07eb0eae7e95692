"""A ZIP archive's entries as its central directory declares them, checked against bounds before anything is
unpacked: the one guard against zip bombs for every layer that opens ZIP-based files (evidence uploads, the Word
and Excel documents a plan is imported from).

Nothing here is extracted: the central directory states each member's packed and unpacked size, and a bomb must
declare its size there or be refused when read (zipfile stops at the declared size and checks the CRC). The caller
words the refusal for its own door; this module only says which bound was crossed.
"""

from __future__ import annotations

import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

RATIO_GRACE_BYTES = 1024 * 1024  # the ratio is counted for members that unpack past 1 MB (small parts compress freely)


@dataclass(frozen=True)
class ZipBounds:
    entries: int  # members in the archive
    unpacked: int  # bytes of all members together, as declared
    ratio: int = 100  # unpacked : packed, per member past RATIO_GRACE_BYTES (Apache POI's zip-bomb ratio)


class ZipRefused(Exception):
    """Why an archive is refused: ``reason`` is corrupt | empty | entries | encrypted | unpacked | ratio."""

    def __init__(self, reason: str, *, count: int = 0, size: int = 0, member: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.count = count  # entries: how many members
        self.size = size  # unpacked: the total; ratio: the member's unpacked size
        self.member = member  # ratio: the member's name


def checked_entries(source: str | Path | BinaryIO, bounds: ZipBounds) -> list[zipfile.ZipInfo]:
    """The archive's entries within ``bounds``; raises ZipRefused naming the first bound crossed."""
    try:
        with zipfile.ZipFile(source) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, struct.error,
            NotImplementedError):
        raise ZipRefused("corrupt") from None
    if not entries:
        raise ZipRefused("empty")
    if len(entries) > bounds.entries:
        raise ZipRefused("entries", count=len(entries))
    if any(entry.flag_bits & 0x41 for entry in entries):  # bit 0: encrypted; bit 6: strong encryption
        raise ZipRefused("encrypted")
    unpacked = sum(entry.file_size for entry in entries)
    if unpacked > bounds.unpacked:
        raise ZipRefused("unpacked", size=unpacked)
    for entry in entries:
        if entry.file_size > RATIO_GRACE_BYTES and entry.file_size > bounds.ratio * max(entry.compress_size, 1):
            raise ZipRefused("ratio", size=entry.file_size, member=entry.filename)
    return entries
