"""What may be uploaded: the content-type allow-list and recognising files by their first bytes."""
from __future__ import annotations

import struct

import pytest

from chalicelib.domain import media

# --- realistic file headers ---------------------------------------------------------------

def riff(form: bytes) -> bytes:
    return b"RIFF" + struct.pack("<I", 123_456) + form + b"LIST" + b"\x00" * 20


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    """An ISO base media 'ftyp' box: size, 'ftyp', major brand, minor version, compatible brands."""
    body = major + b"\x00\x00\x02\x00" + b"".join(compatible)
    return struct.pack(">I", 8 + len(body)) + b"ftyp" + body + b"\x00\x00\x00\x08free"


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
JPEG_EXIF = b"\xff\xd8\xff\xe1\x2f\xfeExif\x00\x00MM\x00\x2a"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00\x01\x00\x08\x06"
GIF87 = b"GIF87a\x01\x00\x01\x00\x80\x00\x00"
GIF89 = b"GIF89a\x01\x00\x01\x00\x80\x00\x00"
WEBP = riff(b"WEBPVP8 ")
AVI = riff(b"AVI ")
WAV = riff(b"WAVEfmt ")
EBML = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04"
WEBM = EBML + b"\x42\x82\x84webm"
MKV = EBML + b"\x42\x82\x88matroska"
OGG = b"OggS\x00\x02" + b"\x00" * 20 + b"\x01\x13OpusHead"
AMR = b"#!AMR\n\x3c\x91\x17\x16"
MP3_ID3 = b"ID3\x04\x00\x00\x00\x00\x00\x23TSSE\x00\x00\x00\x0f"
MP3_MPEG1 = b"\xff\xfb\x90\x64" + b"\x00" * 20
MP3_MPEG1_CRC = b"\xff\xfa\x90\x64" + b"\x00" * 20
MP3_MPEG2 = b"\xff\xf3\x84\x64" + b"\x00" * 20
MP3_MPEG2_CRC = b"\xff\xf2\x84\x64" + b"\x00" * 20
AAC_MPEG4 = b"\xff\xf1\x50\x80\x02\x1f\xfc" + b"\x00" * 10
AAC_MPEG2 = b"\xff\xf9\x50\x80\x02\x1f\xfc" + b"\x00" * 10
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"
MP4_ISOM = ftyp(b"isom", b"isom", b"iso2", b"avc1", b"mp41")
MP4_MP42 = ftyp(b"mp42", b"mp42", b"isom")
MOV = ftyp(b"qt  ", b"qt  ")
GP3 = ftyp(b"3gp4", b"isom", b"3gp4")
GP3_5 = ftyp(b"3gp5", b"3gp5", b"isom")
HEIC = ftyp(b"heic", b"mif1", b"heic")
HEIF = ftyp(b"mif1", b"mif1", b"heic")
M4A = ftyp(b"M4A ", b"M4A ", b"mp42", b"isom")

HTML = b"<!DOCTYPE html><html><head><script>alert(1)</script>"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>'
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"


# --- the allow-list -----------------------------------------------------------------------

@pytest.mark.parametrize(("content_type", "family"), [
    ("image/jpeg", "image"),
    ("image/png", "image"),
    ("image/gif", "image"),
    ("image/webp", "image"),
    ("image/heic", "image"),
    ("image/heif", "image"),
    ("video/mp4", "video"),
    ("video/quicktime", "video"),
    ("video/3gpp", "video"),
    ("video/webm", "video"),
    ("video/x-matroska", "video"),
    ("video/x-msvideo", "video"),
    ("audio/mpeg", "audio"),
    ("audio/mp4", "audio"),
    ("audio/x-m4a", "audio"),
    ("audio/aac", "audio"),
    ("audio/wav", "audio"),
    ("audio/x-wav", "audio"),
    ("audio/ogg", "audio"),
    ("audio/webm", "audio"),
    ("audio/amr", "audio"),
    ("application/pdf", "pdf"),
])
def test_every_allowed_content_type_maps_to_its_family(content_type, family):
    assert media.family_of(content_type) == family


def test_the_table_above_covers_the_whole_allow_list():
    assert len(media.ALLOWED_TYPES) == 22
    assert set(media.ALLOWED_TYPES.values()) == {"image", "video", "audio", "pdf"}


@pytest.mark.parametrize("content_type", [
    "text/html",
    "application/xhtml+xml",
    "image/svg+xml",  # SVG can carry script
    "application/x-msdownload",
    "application/octet-stream",
    "application/zip",
    "application/javascript",
    "text/plain",
    "image/*",
    "image",
    "jpeg",
    "",
    ";",
    "image/jpeg2",
    "xaudio/mpeg",
])
def test_types_outside_the_allow_list_are_refused(content_type):
    assert media.family_of(content_type) is None


@pytest.mark.parametrize(("content_type", "family"), [
    ("image/jpeg; charset=x", "image"),
    ("image/jpeg;charset=x", "image"),
    ("video/mp4; codecs=\"avc1.42E01E, mp4a.40.2\"", "video"),
    ("audio/webm;codecs=opus", "audio"),
    ("IMAGE/JPEG", "image"),
    ("Video/QuickTime", "video"),
    ("  application/pdf  ", "pdf"),
    ("APPLICATION/PDF ; q=1", "pdf"),
])
def test_parameters_case_and_surrounding_spaces_do_not_change_the_family(content_type, family):
    assert media.family_of(content_type) == family


def test_svg_is_not_allowed_even_with_parameters_or_upper_case():
    assert media.family_of("IMAGE/SVG+XML; charset=utf-8") is None


# --- sniffing -----------------------------------------------------------------------------

@pytest.mark.parametrize(("head", "expected"), [
    pytest.param(JPEG, ("image", "image/jpeg"), id="jpeg-jfif"),
    pytest.param(JPEG_EXIF, ("image", "image/jpeg"), id="jpeg-exif"),
    pytest.param(PNG, ("image", "image/png"), id="png"),
    pytest.param(GIF87, ("image", "image/gif"), id="gif87a"),
    pytest.param(GIF89, ("image", "image/gif"), id="gif89a"),
    pytest.param(WEBP, ("image", "image/webp"), id="webp"),
    pytest.param(AVI, ("video", "video/x-msvideo"), id="avi"),
    pytest.param(WAV, ("audio", "audio/wav"), id="wav"),
    pytest.param(WEBM, ("video", "video/webm"), id="webm"),
    pytest.param(MKV, ("video", "video/webm"), id="matroska"),
    pytest.param(OGG, ("audio", "audio/ogg"), id="ogg"),
    pytest.param(AMR, ("audio", "audio/amr"), id="amr"),
    pytest.param(MP3_ID3, ("audio", "audio/mpeg"), id="mp3-id3"),
    pytest.param(MP3_MPEG1, ("audio", "audio/mpeg"), id="mp3-frame-sync-mpeg1"),
    pytest.param(MP3_MPEG1_CRC, ("audio", "audio/mpeg"), id="mp3-frame-sync-mpeg1-crc"),
    pytest.param(MP3_MPEG2, ("audio", "audio/mpeg"), id="mp3-frame-sync-mpeg2"),
    pytest.param(MP3_MPEG2_CRC, ("audio", "audio/mpeg"), id="mp3-frame-sync-mpeg2-crc"),
    pytest.param(AAC_MPEG4, ("audio", "audio/aac"), id="aac-adts-mpeg4"),
    pytest.param(AAC_MPEG2, ("audio", "audio/aac"), id="aac-adts-mpeg2"),
    pytest.param(PDF, ("pdf", "application/pdf"), id="pdf"),
    pytest.param(MP4_ISOM, ("video", "video/mp4"), id="mp4-isom"),
    pytest.param(MP4_MP42, ("video", "video/mp4"), id="mp4-mp42"),
    pytest.param(MOV, ("video", "video/quicktime"), id="quicktime"),
    pytest.param(GP3, ("video", "video/3gpp"), id="3gp4"),
    pytest.param(GP3_5, ("video", "video/3gpp"), id="3gp5"),
    pytest.param(HEIC, ("image", "image/heic"), id="heic"),
    pytest.param(HEIF, ("image", "image/heic"), id="heif-mif1"),
    pytest.param(M4A, ("audio", "audio/mp4"), id="m4a"),
])
def test_sniff_recognises_a_file_by_its_first_bytes(head, expected):
    assert media.sniff(head) == expected


@pytest.mark.parametrize("name", ["JPEG", "PNG", "WEBP", "MP4_ISOM", "MOV", "HEIC", "M4A", "PDF"])
def test_sniff_needs_no_more_than_the_bytes_the_ingest_reads(name):
    head = globals()[name] + b"\x00" * 200
    assert media.sniff(head[:media.SNIFF_BYTES]) == media.sniff(head)
    assert media.sniff(head[:media.SNIFF_BYTES]) is not None


@pytest.mark.parametrize("head", [
    pytest.param(HTML, id="html"),
    pytest.param(SVG, id="svg"),
    pytest.param(ZIP, id="zip"),
    pytest.param(EXE, id="windows-executable"),
    pytest.param(b"", id="empty"),
    pytest.param(b"\xff", id="one-byte"),
    pytest.param(b"\xff\xd8", id="jpeg-marker-cut-short"),
    pytest.param(b"\x89PNG", id="png-signature-cut-short"),
    pytest.param(b"GIF8", id="gif-signature-cut-short"),
    pytest.param(b"RIFF\x00\x00", id="riff-cut-short"),
    pytest.param(b"RIFF\x24\x00\x00\x00XXXX", id="riff-of-another-kind"),
    pytest.param(b"\x00\x00\x00\x18ft", id="ftyp-cut-short"),
    pytest.param(b"\x00\x00\x00\x18moov", id="iso-box-that-is-not-ftyp"),
    pytest.param(b"%PDF", id="pdf-without-dash"),
    pytest.param(b"hello world, plain text", id="text"),
])
def test_sniff_returns_none_for_anything_it_does_not_recognise(head):
    assert media.sniff(head) is None


# --- does the content agree with the declared type? ---------------------------------------

@pytest.mark.parametrize(("declared", "head", "detected"), [
    ("image/jpeg", JPEG, "image/jpeg"),
    ("image/png", PNG, "image/png"),
    ("image/jpeg", PNG, "image/png"),  # a PNG saved with a .jpg name is still a photo
    ("image/heic", HEIC, "image/heic"),
    ("image/heif", HEIF, "image/heic"),
    ("video/mp4", MP4_ISOM, "video/mp4"),
    ("video/quicktime", MP4_ISOM, "video/mp4"),
    ("video/mp4", MOV, "video/quicktime"),
    ("video/3gpp", GP3, "video/3gpp"),
    ("video/webm", WEBM, "video/webm"),
    ("video/x-matroska", MKV, "video/webm"),
    ("video/x-msvideo", AVI, "video/x-msvideo"),
    ("audio/mpeg", MP3_ID3, "audio/mpeg"),
    ("audio/aac", AAC_MPEG4, "audio/aac"),
    ("audio/wav", WAV, "audio/wav"),
    ("audio/x-wav", WAV, "audio/wav"),
    ("audio/ogg", OGG, "audio/ogg"),
    ("audio/amr", AMR, "audio/amr"),
    ("audio/mp4", M4A, "audio/mp4"),
    ("audio/x-m4a", M4A, "audio/mp4"),
    ("application/pdf", PDF, "application/pdf"),
    ("Video/QuickTime; codecs=x", MP4_ISOM, "video/mp4"),
])
def test_content_of_the_declared_family_matches(declared, head, detected):
    assert media.matches_declared(declared, head) == (True, detected)


@pytest.mark.parametrize(("declared", "head"), [
    pytest.param("audio/webm", WEBM, id="browser-audio-recording-in-webm"),
    pytest.param("audio/webm;codecs=opus", WEBM, id="browser-audio-recording-with-codec"),
    pytest.param("audio/mp4", MP4_ISOM, id="m4a-with-isom-brand"),
    pytest.param("audio/x-m4a", MP4_MP42, id="m4a-with-mp42-brand"),
])
def test_audio_in_a_container_shared_with_video_matches_its_audio_declaration(declared, head):
    matched, _ = media.matches_declared(declared, head)
    assert matched is True


@pytest.mark.parametrize(("declared", "head", "detected"), [
    ("video/mp4", JPEG, "image/jpeg"),
    ("video/quicktime", JPEG, "image/jpeg"),
    ("image/jpeg", MP4_ISOM, "video/mp4"),
    ("image/png", PDF, "application/pdf"),
    ("application/pdf", JPEG, "image/jpeg"),
    ("audio/mpeg", PNG, "image/png"),
    ("image/heic", MOV, "video/quicktime"),
    ("video/mp4", M4A, "audio/mp4"),
    ("image/jpeg", WEBM, "video/webm"),
    ("application/pdf", WEBM, "video/webm"),
    ("text/html", JPEG, "image/jpeg"),  # a type outside the allow-list never matches
    ("image/svg+xml", PNG, "image/png"),
])
def test_content_of_another_family_does_not_match(declared, head, detected):
    assert media.matches_declared(declared, head) == (False, detected)


@pytest.mark.parametrize("head", [HTML, SVG, ZIP, EXE, b"", b"\xff"])
def test_unrecognised_content_never_matches(head):
    assert media.matches_declared("image/jpeg", head) == (False, None)
    assert media.matches_declared("video/mp4", head) == (False, None)
