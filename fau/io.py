"""Reading images into RGB ``uint8`` arrays, with clear errors for bad input.

Accepted sources: a path (``str`` / ``os.PathLike``), raw encoded bytes, or a numpy
array ``(H, W)`` grey or ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA, ``uint8`` or ``uint16``.

Files and bytes are decoded with Pillow, in the formats of `fau.limits.IMAGE_FORMATS`
only: JPEG (and MPO, its multi-view camera variant; EXIF orientation applied), PNG (8/16-bit, grey,
palette, RGBA), GIF (first frame), BMP, TIFF (8/16-bit; first page) and WebP; of an
animated GIF, WebP or PNG (APNG) the first frame is read, with a logged warning. Pillow is
told to try no other format, so EPS is never handed to Ghostscript and a text file named
``.png`` is not parsed as an X bitmap. Transparent pixels are composited on white.

16-bit data (files and ``uint16`` arrays) is scaled to 8 bits by 1/257. A ``uint16``
array (or 16-bit file) whose values all lie in 0-255 is refused: it is 8-bit data in a
16-bit container (scaling it would give a black image; guessing would be silent); one
whose values all lie below `LOW_BITS_MAX` (10- or 12-bit samples) is converted with a
logged warning (it comes out nearly black).
32-bit integer and floating-point pixels (TIFF modes ``I`` and ``F``) are refused: their
range is not knowable from the file (raw sensor counts, 0-1 floats, full-range data).

Memory: the size is checked from the header before decoding (`fau.limits.MAX_SIDE`,
`fau.limits.MAX_PIXELS`); pixels are decoded once and converted to the RGB array in
strips of about `STRIP_BYTES`, so a 100-megapixel PNG costs Pillow's decoded image plus
the 300 MB result, not the several full-size copies a whole-image conversion makes.
"""

from __future__ import annotations

import io
import logging
import os
import re
import warnings
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import FauError
from .limits import IMAGE_FORMATS, MAX_PIXELS, MAX_SIDE, MIN_SIDE
from .paths import check_input_file

__all__ = ["ImageSource", "load_image", "as_rgb", "image_extensions", "MIN_SIDE", "MAX_SIDE",
           "MAX_PIXELS", "IMAGE_FORMATS", "STRIP_BYTES"]

#: Bytes of decoded pixels converted to RGB at a time (16 MB: small beside a large
#: image, large enough that the per-strip overhead, ~50 µs, does not matter).
STRIP_BYTES = 16 * 2**20
#: Below this largest value, 16-bit data is taken for 10- or 12-bit samples (camera and
#: scientific formats store them in 16-bit words; 4096 = 2**12): scaled by 1/257 they
#: come out nearly black (at most 15 of 255), so a warning is logged.
LOW_BITS_MAX = 4096

log = logging.getLogger(__name__)

#: EXIF/TIFF tag number of the orientation (EXIF 2.32, tag 0x0112).
_ORIENTATION_TAG = 0x0112

ImageSource = Union[str, os.PathLike, bytes, np.ndarray]


def image_extensions() -> frozenset[str]:
    """File extensions (lower case, with the dot) of the formats fau reads: those Pillow
    registers for `IMAGE_FORMATS` (.jpg, .jpeg, .png, .tif, .webp, ...). A file is read by
    its content whatever its name; these pick the images out of a folder."""
    return frozenset(e for e, f in Image.registered_extensions().items() if f in IMAGE_FORMATS)


def _check_size(width: int, height: int, what: str) -> None:
    if width < MIN_SIDE or height < MIN_SIDE:
        raise FauError(
            f"{what} is {width}×{height} px; fau needs at least {MIN_SIDE} px on each side"
        )
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise FauError(
            f"{what} is {width}×{height} px; fau accepts at most {MAX_SIDE} px per side and "
            f"{MAX_PIXELS:,} pixels (downscale it first)"
        )


def _from_16bit(a: np.ndarray, what: str) -> np.ndarray:
    """A ``uint16`` array (H, W) or (H, W, 3|4) scaled to ``uint8`` by 1/257, refused or
    warned about from its colour values' largest: the alpha channel of an RGBA array is
    left out, as for 16-bit files (`_check_wide_colour`), since an opaque one is 65535
    whatever the colour data holds."""
    colour = a[:, :, :3] if a.ndim == 3 and a.shape[2] == 4 else a
    top = int(colour.max()) if colour.size else 0
    if top <= 255:
        raise FauError(
            f"{what} holds 16-bit values that all lie in 0-255 (max {top}): that is 8-bit "
            "data in a 16-bit container, which scaled by 1/257 would be black; convert it "
            "with array.astype('uint8') (or save the file as 8-bit)"
        )
    _warn_low_bits(top, what)
    return (a // 257).astype(np.uint8)


def _warn_low_bits(top: int, what: str, bound: str = "max") -> None:
    if top < LOW_BITS_MAX:
        log.warning("%s holds 16-bit values that all lie below %d (%s %d): 10- or 12-bit "
                    "data in a 16-bit container comes out nearly black (1/257 scaling); "
                    "scale it to the full 16-bit range first (12-bit: array << 4)",
                    what, LOW_BITS_MAX, bound, top)


def _is_wide_colour(img: Image.Image) -> bool:
    """Whether a not yet loaded Pillow image is a 16-bit colour file (RGB, RGBA, LA or
    CMYK with 16 bits per sample). Pillow decodes those to 8 bits per sample (the high
    byte), so only the raw mode of its tiles still tells them from 8-bit files."""
    if img.mode.startswith("I;16"):
        return False  # 16-bit grey: Pillow keeps the 16 bits (see `_pil_to_rgb`)
    for tile in img.tile:
        args = tile[3]
        raw = args[0] if isinstance(args, tuple) and args else args
        if isinstance(raw, str) and ";16" in raw:
            return True
    return False


def _check_wide_colour(img: Image.Image, what: str) -> None:
    """Refuse or warn about a 16-bit colour file as `_from_16bit` does an array, from the
    high bytes Pillow kept: all 0 is 16-bit values in 0-255; all below 16 is values below
    `LOW_BITS_MAX` (10- or 12-bit samples)."""
    extrema = img.getextrema()
    colour = [i for i, band in enumerate(img.getbands()) if band != "A"]
    high = max(int(extrema[i][1]) for i in colour)
    if high == 0:
        raise FauError(
            f"{what} holds 16-bit colour values that all lie in 0-255: that is 8-bit data "
            "in a 16-bit file, which scaled by 1/257 would be black; save it as an 8-bit "
            "image"
        )
    _warn_low_bits(high * 256 + 255, what, "at most")


def _conversion(a: np.ndarray) -> str:
    """How to make ``a`` (an array of a dtype `as_rgb` refuses) a ``uint8`` image, from
    its values' range: floats in 0-1 and in 0-255 need different conversions, and the
    wrong one wraps around silently (``(img * 255).astype('uint8')`` of 0-255 floats)."""
    kind = a.dtype.kind
    if kind == "b":
        return "a boolean mask is not an image; if it is one, pass mask.astype('uint8') * 255"
    if kind not in "fiu":
        return "convert it to uint8 RGB values 0-255"
    if kind == "f" and not np.isfinite(a).all():
        return "it holds NaN or infinite values, which are no pixel values"
    lo, hi = a.min().item(), a.max().item()
    if kind == "f" and lo >= 0 and hi <= 1:
        return f"values {lo:g} to {hi:g}, floats in 0-1: pass (img * 255).round().astype('uint8')"
    if lo >= 0 and hi <= 255:
        fix = "img.round().astype('uint8')" if kind == "f" else "img.astype('uint8')"
        return f"values {lo:g} to {hi:g}, in 0-255: pass {fix}"
    if kind in "iu" and lo >= 0 and hi <= 65535:
        return f"values {lo} to {hi}, in 0-65535: pass img.astype('uint16') if it is 16-bit"
    return (f"values {lo:g} to {hi:g}, neither 0-1 nor 0-255: scale them to 0-255 and pass "
            "a uint8 array")


def as_rgb(array: np.ndarray, what: str = "image array") -> np.ndarray:
    """Validate a numpy image and return it as a C-contiguous RGB ``uint8`` array.

    The caller's array is never written to. One already C-contiguous ``(H, W, 3)``
    ``uint8`` is returned as it is, not copied (a read-only one stays read-only): copy
    the result before writing into it.

    Parameters
    ----------
    array : ndarray
        ``(H, W)`` grey, ``(H, W, 1)``, ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA;
        ``uint8``, or ``uint16`` scaled by 1/257 (full 16-bit range).
    what : str
        How error messages name the array.

    Raises
    ------
    FauError
        Wrong type, shape or dtype; a ``uint16`` array whose values all lie in 0-255
        (8-bit data: pass ``array.astype('uint8')``); a size outside `MIN_SIDE` /
        `MAX_SIDE` / `MAX_PIXELS`.
    """
    if not isinstance(array, np.ndarray):
        raise FauError(f"{what} must be a numpy array, got {type(array).__name__}")
    if isinstance(array, np.ma.MaskedArray) and np.ma.is_masked(array):
        raise FauError(
            f"{what} is a masked array with masked pixels, whose values fau cannot know; "
            "fill them first (array.filled(0))"
        )
    # A plain ndarray (a view, nothing copied): np.matrix cannot hold the (H, W, 1) steps
    # below (numpy even crashed on a non-contiguous one), a mask would be dropped silently.
    a = np.asarray(array)
    if a.dtype.kind == "u" and a.dtype.itemsize == 2 and not a.dtype.isnative:
        a = a.astype(np.uint16)  # big-endian uint16 (FITS, some TIFF readers)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise FauError(
            f"{what} has shape {array.shape}; expected (H, W) grey, (H, W, 3) RGB "
            "or (H, W, 4) RGBA"
        )
    _check_size(a.shape[1], a.shape[0], what)
    if a.dtype == np.uint16:
        a = _from_16bit(a, what)
    elif a.dtype != np.uint8:
        raise FauError(f"{what} has dtype {a.dtype}; expected uint8 (0-255) or uint16 "
                       f"({_conversion(a)})")
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    elif a.shape[2] == 4:
        alpha = a[:, :, 3:4].astype(np.float32) / 255.0
        a = (a[:, :, :3] * alpha + 255.0 * (1.0 - alpha)).round().astype(np.uint8)
    return np.ascontiguousarray(a)


def _strip_to_rgb(part: Image.Image, sixteen: bool) -> np.ndarray:
    """One horizontal strip of a decoded image as RGB ``uint8`` (H, W, 3)."""
    mode = part.mode
    if sixteen:  # I;16 grey: Pillow has no 16-bit colour modes
        g = (np.asarray(part).astype(np.uint16) // 257).astype(np.uint8)
        return np.repeat(g[:, :, None], 3, axis=2)
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in part.info):
        rgba = np.asarray(part.convert("RGBA"))
        alpha = rgba[:, :, 3:4].astype(np.float32) / 255.0
        return (rgba[:, :, :3] * alpha + 255.0 * (1.0 - alpha)).round().astype(np.uint8)
    if mode == "L":
        return np.repeat(np.asarray(part)[:, :, None], 3, axis=2)
    return np.asarray(part if mode == "RGB" else part.convert("RGB"))


def _pil_to_rgb(img: Image.Image, what: str, wide: bool = False) -> np.ndarray:
    """A loaded Pillow image as RGB ``uint8``, converted in strips (no full-size copies).

    ``wide``: the file held 16-bit colour samples (`_is_wide_colour`, known only before
    loading), which Pillow decoded to their high bytes."""
    if img.getexif().get(_ORIENTATION_TAG, 1) not in (1, None):
        img = ImageOps.exif_transpose(img)  # a rotated copy; the original is dropped
    mode = img.mode
    if mode in ("I", "F"):
        kind = "32-bit integer" if mode == "I" else "floating-point"
        raise FauError(
            f"{what} holds {kind} pixels (Pillow mode {mode}), whose range fau cannot "
            "know; save it as an 8- or 16-bit image"
        )
    sixteen = mode.startswith("I;16")
    if sixteen:
        lo, hi = img.getextrema()
        if hi <= 255:
            raise FauError(
                f"{what} holds 16-bit values that all lie in 0-255 (max {hi}): that is "
                "8-bit data in a 16-bit file, which scaled by 1/257 would be black; save "
                "it as an 8-bit image"
            )
        _warn_low_bits(int(hi), what)
    elif wide:
        _check_wide_colour(img, what)
    w, h = img.size
    _check_size(w, h, what)
    out = np.empty((h, w, 3), np.uint8)
    rows = max(1, STRIP_BYTES // (4 * w))  # Pillow stores up to 4 bytes per pixel
    for y in range(0, h, rows):
        y1 = min(h, y + rows)
        out[y:y1] = _strip_to_rgb(img.crop((0, y, w, y1)), sixteen)
    return out


_ACCEPTED = ", ".join(IMAGE_FORMATS)
#: The image size in Pillow's `Image.DecompressionBombError` message ("Image size (N pixels)
#: exceeds limit of ...", PIL/Image.py ``_decompression_bomb_check``).
_BOMB_SIZE = re.compile(r"Image size \((\d+) pixels\)")
#: Formats of `IMAGE_FORMATS` that hold animations (APNG is PNG); their first frame is
#: read. Multi-page TIFF and MPO (camera views) are not animations: their first page or
#: view is the image.
_ANIMATED_FORMATS = ("GIF", "WEBP", "PNG")
#: A URL's start: a scheme of two or more characters and "://" (not a drive letter, C:/).
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+://")


def _signature(head: bytes) -> str | None:
    """The format of `IMAGE_FORMATS` whose file signature (magic number) ``head`` starts
    with, if any: tells a damaged file in one of them (a header Pillow cannot parse) from
    a file in another format."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if _is_bmp_header(head):
        return "BMP"
    return None


#: Sizes of the BMP versions' DIB headers (BITMAPCOREHEADER 12, BITMAPINFOHEADER 40,
#: its V2/V3 variants 52 and 56, OS/2 2.x 64, BITMAPV4HEADER 108, BITMAPV5HEADER 124).
_DIB_SIZES = (12, 40, 52, 56, 64, 108, 124)
#: ISO-BMFF brands (the ``ftyp`` box) of HEIF (HEIC is HEVC in HEIF) and AVIF images and
#: image sequences (ISO/IEC 23008-12, AV1 Image File Format).
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm",
                          b"hevs", b"mif1", b"mif2", b"msf1", b"avif", b"avis"})


def _is_bmp_header(head: bytes) -> bool:
    """Whether ``head`` (a file's first 18 bytes or more) is a plausible BMP header: "BM",
    a DIB header size of a known BMP version and a file size field that is 0 (some
    writers leave it unset) or at least the two headers' size. "BM" alone is too weak: a
    text file may start with it ("BMW ...")."""
    if head[:2] != b"BM" or len(head) < 18:
        return False
    dib = int.from_bytes(head[14:18], "little")
    size = int.from_bytes(head[2:6], "little")
    return dib in _DIB_SIZES and (size == 0 or size >= 14 + dib)


def _heif_brand(head: bytes) -> str | None:
    """The HEIF/AVIF brand of an ISO-BMFF file's ``ftyp`` box (its major brand, else the
    first such compatible brand), if ``head`` starts with one; ``None`` for other files
    (MP4 and QuickTime video start with an ``ftyp`` box too, with other brands)."""
    if head[4:8] != b"ftyp":
        return None
    end = min(len(head), int.from_bytes(head[:4], "big"))
    brands = [head[8:12]] + [head[i:i + 4] for i in range(16, end - 3, 4)]
    for brand in brands:
        if brand in _HEIF_BRANDS:
            return brand.decode("ascii")
    return None


def _not_an_image(what: str, detail: str = "") -> FauError:
    return FauError(
        f"{what} is not an image in a format fau reads ({_ACCEPTED}; see "
        f"fau.limits.IMAGE_FORMATS){detail}"
    )


def _head(data: Union[bytes, Path], size: int = 64) -> bytes:
    if isinstance(data, bytes):
        return data[:size]
    try:
        with open(data, "rb") as f:
            return f.read(size)
    except OSError:
        return b""


def _riff_sizes(data: Union[bytes, Path], head: bytes) -> tuple[int, int]:
    """The size a RIFF file (WebP) declares in its header (the chunk size after "RIFF"
    plus its 8 header bytes) and the bytes it holds; (0, 0) for other files. libwebp
    names a cut file only "could not create decoder object", whatever is missing."""
    if head[:4] != b"RIFF" or len(head) < 8:
        return 0, 0
    actual = len(data) if isinstance(data, bytes) else os.path.getsize(data)
    return int.from_bytes(head[4:8], "little") + 8, actual


def _open(data: Union[bytes, Path], what: str) -> np.ndarray:
    head = _head(data)
    if head[:2] == b"BM" and not _is_bmp_header(head):
        # Pillow's BMP reader takes any "BM" file for a BMP and calls it a damaged one.
        raise _not_an_image(what, ": it starts with the letters BM but has no BMP header")
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            # Pillow's own warnings about damaged metadata it skips ("Corrupt EXIF data",
            # "Truncated File Read" for a TIFF tag past the end) would reach stderr; the
            # pixels are decoded or refused all the same.
            warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")
            # Only the accepted formats' plugins look at the bytes (no Ghostscript, no XBM).
            with Image.open(stream, formats=IMAGE_FORMATS) as img:
                _check_size(img.width, img.height, what)  # header only: nothing decoded yet
                if img.format in _ANIMATED_FORMATS and getattr(img, "is_animated", False):
                    log.warning("%s is an animated %s: only its first frame is analysed "
                                "(fau video and Detector.detect_video read every frame)",
                                what, img.format)
                wide = _is_wide_colour(img)
                img.load()
                return _pil_to_rgb(img, what, wide)
    except FauError:
        raise
    except UnidentifiedImageError:
        brand = _heif_brand(head)
        if brand is not None:
            raise FauError(
                f"{what} is a HEIF/AVIF file (brand {brand!r}), not an image in a format fau "
                f"reads ({_ACCEPTED}). HEIC/HEIF (or AVIF) images are not supported: convert "
                "to JPEG or PNG"
            ) from None
        kind = _signature(head)
        if kind is not None:
            raise FauError(
                f"{what} starts as a {kind} file but is corrupt or truncated (its header "
                "cannot be read)"
            ) from None
        raise _not_an_image(what) from None
    except Image.DecompressionBombError as exc:
        # Pillow's words name its own limit (2 × its MAX_IMAGE_PIXELS), not fau's.
        found = _BOMB_SIZE.search(str(exc))
        size = f"{int(found.group(1)):,} pixels" if found else "larger than Pillow allows"
        raise FauError(
            f"{what} is {size} by its header; fau accepts at most {MAX_SIDE} px per side and "
            f"{MAX_PIXELS:,} pixels (downscale it first)"
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        msg = str(exc)
        low = msg.lower()
        declared, actual = _riff_sizes(data, head)
        if declared > actual:
            raise FauError(f"{what} is truncated: its RIFF header declares {declared:,} bytes, "
                           f"it holds {actual:,} ({msg})") from None
        if "truncated" in low or "broken data stream" in low or "eof" in low:
            raise FauError(f"{what} is truncated or corrupt ({msg})") from None
        raise FauError(f"{what} could not be decoded ({msg})") from None


def load_image(source: ImageSource) -> np.ndarray:
    """Read an image into a C-contiguous RGB ``uint8`` array of shape (H, W, 3).

    Parameters
    ----------
    source : str, os.PathLike, bytes or ndarray
        A file path, encoded image bytes (a format of `IMAGE_FORMATS`), or a numpy
        array (see `as_rgb`).

    Returns
    -------
    ndarray
        (H, W, 3) ``uint8`` RGB, upright (EXIF orientation applied), pixels as stored.

    Raises
    ------
    FauError
        Empty path, missing file, symbolic link loop, folder, device or pipe, empty or
        unreadable file; a format outside `IMAGE_FORMATS` (HEIC/HEIF and AVIF: convert
        them to JPEG or PNG); a text file that starts with "BM" is not an image, not a
        corrupt BMP; a PIL image (pass ``np.asarray(img.convert("RGB"))``); truncated or
        corrupt data; 32-bit or floating-point pixels; 16-bit data holding only 0-255; too
        small (< `MIN_SIDE`) or too large (> `MAX_SIDE` per side or > `MAX_PIXELS`).
    """
    if isinstance(source, np.ndarray):
        return as_rgb(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if not data:
            raise FauError("image bytes are empty")
        if len(data) <= 4096 and b"\0" not in data and os.path.isfile(os.fsdecode(data)):
            raise FauError(
                f"image bytes {data[:200]!r} are the name of a file, but bytes are read as "
                "the encoded image itself; pass the path as a str or pathlib.Path"
            )
        return _open(data, "image bytes")
    if isinstance(source, (str, os.PathLike)):
        raw = os.fspath(source)
        if isinstance(raw, str) and _URL.match(raw) and not os.path.exists(raw):
            raise FauError(
                f"image file {raw!r} is a URL; fau reads local files only (download it "
                "first, or pass the downloaded bytes)"
            )
        path = check_input_file(source, "image file")
        return _open(path, f"image file {str(path)!r}")
    if isinstance(source, Image.Image):
        raise FauError(
            f"cannot read an image from a PIL image ({type(source).__name__}, mode "
            f"{source.mode}); pass np.asarray(img.convert(\"RGB\")), or the file's path"
        )
    raise FauError(
        f"cannot read an image from a {type(source).__name__}; pass a path, bytes or a "
        "numpy array"
    )
