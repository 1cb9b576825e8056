"""Metadata strip for the program's Tier 2 copies: location and device metadata removed from an
image by dropping the segments or chunks that carry it, never by decoding and re-encoding the
pixels. JPEG: APP1 (EXIF incl. GPS, XMP), APP13 (IPTC), APP2..APP15 other than ICC colour
profiles, and comments. PNG: eXIf and text chunks. Anything else (video containers included) is
not copied: `strip` returns None and the extraction skips it (docs/PROGRAM.md, Part 2)."""
from __future__ import annotations

import struct
import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_DROPPED = {b"eXIf", b"tEXt", b"iTXt", b"zTXt", b"tIME"}
JPEG_STANDALONE = {0xD8, 0x01, *range(0xD0, 0xD8)}  # SOI, TEM, RSTn: no length field
# What `strip` handles, by the type ingest detected from the bytes, and the largest it reads whole
# (a phone photo is a few MiB): anything else is skipped before a byte of it is downloaded.
STRIPPABLE = frozenset({"image/jpeg", "image/png"})
MAX_BYTES = 64 * 1024**2


def strippable(detected_type: str | None, size: int) -> bool:
    return detected_type in STRIPPABLE and 0 < size <= MAX_BYTES


def strip(data: bytes) -> bytes | None:
    """The image without location/device metadata, or None if the format is not one we strip."""
    if data.startswith(b"\xff\xd8"):
        return strip_jpeg(data)
    if data.startswith(PNG_SIGNATURE):
        return strip_png(data)
    return None


def strip_jpeg(data: bytes) -> bytes | None:
    out, pos = bytearray(b"\xff\xd8"), 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None  # not a well-formed marker: refuse rather than copy something unread
        marker = data[pos + 1]
        if marker in JPEG_STANDALONE:
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        segment = data[pos:pos + 2 + length]
        if marker == 0xDA:  # start of scan: the pixels follow to the end, copied as they are
            out += data[pos:]
            return bytes(out)
        if not _jpeg_dropped(marker, segment):
            out += segment
        pos += 2 + length
    return None


def _jpeg_dropped(marker: int, segment: bytes) -> bool:
    if marker == 0xFE:  # comment
        return True
    if 0xE1 <= marker <= 0xEF:  # APP1..APP15: keep only the ICC colour profile
        return not (marker == 0xE2 and segment[4:16] == b"ICC_PROFILE\x00")
    return False


def strip_png(data: bytes) -> bytes | None:
    out, pos = bytearray(PNG_SIGNATURE), len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        chunk = data[pos:pos + 12 + length]
        if len(chunk) < 12 + length or struct.unpack(">I", chunk[-4:])[0] != zlib.crc32(chunk[4:-4]):
            return None
        if kind not in PNG_DROPPED:
            out += chunk
        pos += 12 + length
        if kind == b"IEND":
            return bytes(out)
    return None
