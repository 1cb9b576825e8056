"""The metadata strip for Tier 2 copies (chalicelib/media_strip.py): segments and chunks that carry
location or device data go, the pixels stay byte for byte, anything unread is refused."""
from __future__ import annotations

import struct
import zlib

from chalicelib import media_strip
from tests.program_worlds import JPEG_WITH_GPS


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def test_jpeg_loses_exif_and_comments_and_keeps_tables_and_pixels() -> None:
    out = media_strip.strip(JPEG_WITH_GPS)
    assert out == b"\xff\xd8" + b"\xff\xdb\x00\x04\x01\x02" + b"\xff\xda\x00\x04\x00\x00" + b"PIXELS\xff\xd9"


def test_jpeg_keeps_its_icc_profile() -> None:
    icc = b"\xff\xe2" + struct.pack(">H", 2 + 12 + 3) + b"ICC_PROFILE\x00abc"
    data = b"\xff\xd8" + icc + b"\xff\xda\x00\x02DATA"
    assert media_strip.strip(data) == data


def test_png_loses_exif_and_text_chunks() -> None:
    head, pixels, end = chunk(b"IHDR", b"\x00" * 13), chunk(b"IDAT", b"pix"), chunk(b"IEND", b"")
    data = (media_strip.PNG_SIGNATURE + head + chunk(b"eXIf", b"GPS") + chunk(b"tEXt", b"Author\x00me")
            + pixels + end)
    assert media_strip.strip(data) == media_strip.PNG_SIGNATURE + head + pixels + end


def test_anything_else_or_malformed_is_not_copied() -> None:
    assert media_strip.strip(b"\x00\x00\x00\x18ftypmp42") is None  # video: not stripped, not copied
    assert media_strip.strip(b"\xff\xd8\x00garbage") is None
    assert media_strip.strip(media_strip.PNG_SIGNATURE + b"\x00\x00\x00\x01IHDRx\x00\x00\x00\x00") is None
