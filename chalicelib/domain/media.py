"""What may be uploaded: the allow-list of content types, size limits and type sniffing."""
from __future__ import annotations

from typing import Literal

Family = Literal["image", "video", "audio", "pdf"]

# Declared content type -> family. Anything else is refused when upload URLs are requested.
ALLOWED_TYPES: dict[str, Family] = {
    "image/jpeg": "image",
    "image/png": "image",
    "image/gif": "image",
    "image/webp": "image",
    "image/heic": "image",
    "image/heif": "image",
    "video/mp4": "video",
    "video/quicktime": "video",
    "video/3gpp": "video",
    "video/webm": "video",
    "video/x-matroska": "video",
    "video/x-msvideo": "video",
    "audio/mpeg": "audio",
    "audio/mp4": "audio",
    "audio/x-m4a": "audio",
    "audio/aac": "audio",
    "audio/wav": "audio",
    "audio/x-wav": "audio",
    "audio/ogg": "audio",
    "audio/webm": "audio",
    "audio/amr": "audio",
    "application/pdf": "pdf",
}

SNIFF_BYTES = 64

_FTYP_IMAGE_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"avif"}
_FTYP_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P "}
# Sniffed types whose container holds audio-only files as often as video.
_AUDIO_OR_VIDEO = {"video/webm", "video/mp4"}
_MP3_SYNC = (b"\xff\xfb", b"\xff\xfa", b"\xff\xf3", b"\xff\xf2")  # MPEG-1/2 layer III, with or without CRC


def family_of(content_type: str) -> Family | None:
    return ALLOWED_TYPES.get(content_type.split(";")[0].strip().lower())


def sniff(head: bytes) -> tuple[Family, str] | None:
    """Recognise a file by its first bytes. Returns (family, canonical type) or None."""
    checks: list[tuple[bool, Family, str]] = [
        (head.startswith(b"\xff\xd8\xff"), "image", "image/jpeg"),
        (head.startswith(b"\x89PNG\r\n\x1a\n"), "image", "image/png"),
        (head[:6] in (b"GIF87a", b"GIF89a"), "image", "image/gif"),
        (head[:4] == b"RIFF" and head[8:12] == b"WEBP", "image", "image/webp"),
        (head[:4] == b"RIFF" and head[8:12] == b"AVI ", "video", "video/x-msvideo"),
        (head[:4] == b"RIFF" and head[8:12] == b"WAVE", "audio", "audio/wav"),
        (head.startswith(b"\x1a\x45\xdf\xa3"), "video", "video/webm"),
        (head.startswith(b"OggS"), "audio", "audio/ogg"),
        (head.startswith(b"#!AMR"), "audio", "audio/amr"),
        (head.startswith(b"ID3") or head[:2] in _MP3_SYNC, "audio", "audio/mpeg"),
        (head[:2] in (b"\xff\xf1", b"\xff\xf9"), "audio", "audio/aac"),
        (head.startswith(b"%PDF-"), "pdf", "application/pdf"),
    ]
    for matched, family, mime in checks:
        if matched:
            return family, mime
    return _sniff_iso_media(head)


def _sniff_iso_media(head: bytes) -> tuple[Family, str] | None:
    """MP4, MOV, 3GP, HEIC and M4A share the ISO base media layout: a 'ftyp' box at offset 4."""
    if head[4:8] != b"ftyp":
        return None
    brand = head[8:12]
    if brand in _FTYP_IMAGE_BRANDS:
        return "image", "image/heic"
    if brand in _FTYP_AUDIO_BRANDS:
        return "audio", "audio/mp4"
    if brand == b"qt  ":
        return "video", "video/quicktime"
    if brand.startswith(b"3g"):
        return "video", "video/3gpp"
    return "video", "video/mp4"


def matches_declared(declared_type: str, head: bytes) -> tuple[bool, str | None]:
    """Does the content agree with the declared type? Compared by family: phones label
    the same container differently (video/quicktime vs video/mp4), which is harmless."""
    found = sniff(head)
    if found is None:
        return False, None
    family, detected = found
    declared = family_of(declared_type)
    if detected in _AUDIO_OR_VIDEO:
        # The first bytes of these containers do not tell an audio-only file from a video
        # (a browser's audio/webm recording, an Android .m4a with an "isom"/"mp42" brand).
        return declared in ("audio", "video"), detected
    return family == declared, detected
