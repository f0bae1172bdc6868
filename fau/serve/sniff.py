"""Recognise uploads by their first bytes (magic numbers), never by name or client type."""

from __future__ import annotations

__all__ = ["sniff", "unsupported_detail", "IMAGE_KINDS", "VIDEO_KINDS", "REFUSED_KINDS", "EXTENSIONS",
           "SNIFF_BYTES"]

#: Image formats `fau.io.load_image` decodes (Pillow).
IMAGE_KINDS: tuple[str, ...] = ("jpeg", "png", "gif", "bmp", "tiff", "webp")
#: Video containers PyAV/FFmpeg demux and fau accepts for jobs.
VIDEO_KINDS: tuple[str, ...] = ("mp4", "webm", "flv", "avi", "mpegts")
#: Formats recognised only to be refused with a clear message: AVIF and HEIF images
#: are ISO-BMFF files like MP4 (``ftyp`` box) and must not be taken for videos.
REFUSED_KINDS: dict[str, str] = {
    "avif": "an AVIF image: fau does not analyse AVIF; convert it to JPEG or PNG",
    "heif": "a HEIF/HEIC image: fau does not analyse HEIF; convert it to JPEG or PNG",
}
#: ``ftyp`` brands of still images (ISO/IEC 23008-12 HEIF; AV1 Image File Format).
_IMAGE_BRANDS = {b"avif": "avif", b"avis": "avif", b"heic": "heif", b"heix": "heif",
                 b"heim": "heif", b"heis": "heif", b"hevc": "heif", b"hevx": "heif",
                 b"mif1": "heif", b"msf1": "heif"}
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
        One of `IMAGE_KINDS`, `VIDEO_KINDS` or `REFUSED_KINDS`; None for anything else.

    Notes
    -----
    Signatures: JPEG ``FF D8 FF``; PNG ``89 50 4E 47 0D 0A 1A 0A``; GIF ``GIF87a``/``GIF89a``;
    BMP ``BM`` + a plausible header size; TIFF ``II*\\0``/``MM\\0*``; WebP ``RIFF....WEBP``;
    MP4/MOV/3GP ``....ftyp`` (ISO/IEC 14496-12 §4.3), unless a brand of the box is an
    AVIF/HEIF image brand; WebM/Matroska EBML ``1A 45 DF A3``;
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
        # major brand at 8, minor version at 12, compatible brands from 16 to the box end
        size = int.from_bytes(h[0:4], "big")
        brands = [h[8:12]] + [h[i:i + 4] for i in range(16, min(size, len(h)) - 3, 4)]
        for b in brands:
            if b in _IMAGE_BRANDS:
                return _IMAGE_BRANDS[b]
        return "mp4"
    if h[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if h[:4] == b"FLV\x01":
        return "flv"
    if len(h) >= 377 and h[0] == 0x47 and h[188] == 0x47 and h[376] == 0x47:
        return "mpegts"
    return None


def unsupported_detail(kind: str | None, *, wanted: str) -> str:
    """Why an upload of ``kind`` is refused where a ``wanted`` ("image"/"video") was expected."""
    if kind in REFUSED_KINDS:
        return f"file is {REFUSED_KINDS[kind]}"
    if wanted == "image":
        hint = " (this is a video: POST it to /v1/videos)" if kind in VIDEO_KINDS else ""
        return f"file is not a supported image (JPEG, PNG, GIF, BMP, TIFF, WebP){hint}"
    hint = " (this is an image: POST it to /v1/images)" if kind in IMAGE_KINDS else ""
    return f"file is not a supported video (MP4/MOV, WebM/MKV, FLV, AVI, MPEG-TS){hint}"
