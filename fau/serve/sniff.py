"""Recognise uploads by their first bytes (magic numbers), never by name or client type."""

from __future__ import annotations

__all__ = ["sniff", "IMAGE_KINDS", "VIDEO_KINDS", "EXTENSIONS"]

#: Image formats `fau.io.load_image` decodes (Pillow).
IMAGE_KINDS: tuple[str, ...] = ("jpeg", "png", "gif", "bmp", "tiff", "webp")
#: Video containers PyAV/FFmpeg demux and fau accepts for jobs.
VIDEO_KINDS: tuple[str, ...] = ("mp4", "webm", "flv", "avi", "mpegts")
#: File extension the server gives a stored upload of each kind (server-side names only).
EXTENSIONS: dict[str, str] = {
    "jpeg": ".jpg", "png": ".png", "gif": ".gif", "bmp": ".bmp", "tiff": ".tif",
    "webp": ".webp", "mp4": ".mp4", "webm": ".webm", "flv": ".flv", "avi": ".avi",
    "mpegts": ".ts",
}

#: Bytes `sniff` needs to recognise every kind (MPEG-TS: two 188-byte packets).
SNIFF_BYTES = 2 * 188 + 1


def sniff(head: bytes) -> str | None:
    """The kind of file that starts with ``head``, or None.

    Parameters
    ----------
    head : bytes
        The first bytes of the upload (at least `SNIFF_BYTES` where available).

    Returns
    -------
    str or None
        One of `IMAGE_KINDS` or `VIDEO_KINDS`; None for anything else.

    Notes
    -----
    Signatures: JPEG ``FF D8 FF``; PNG ``89 50 4E 47 0D 0A 1A 0A``; GIF ``GIF87a``/``GIF89a``;
    BMP ``BM`` + a plausible header size; TIFF ``II*\\0``/``MM\\0*``; WebP ``RIFF....WEBP``;
    MP4/MOV/3GP ``....ftyp`` (ISO/IEC 14496-12 §4.3); WebM/Matroska EBML ``1A 45 DF A3``;
    FLV ``FLV\\x01``; AVI ``RIFF....AVI ``; MPEG-TS sync byte ``0x47`` at 0, 188 and 376.
    """
    h = bytes(head[:SNIFF_BYTES])
    if h.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if h.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if h[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if h[:2] == b"BM" and len(h) >= 18 and int.from_bytes(h[14:18], "little") in (12, 40, 52, 56, 64, 108, 124):
        return "bmp"
    if h[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if h[:4] == b"RIFF" and h[8:12] == b"WEBP":
        return "webp"
    if h[:4] == b"RIFF" and h[8:12] == b"AVI ":
        return "avi"
    if h[4:8] == b"ftyp":
        return "mp4"
    if h[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if h[:4] == b"FLV\x01":
        return "flv"
    if len(h) >= 377 and h[0] == 0x47 and h[188] == 0x47 and h[376] == 0x47:
        return "mpegts"
    return None
