"""Reading images into RGB ``uint8`` arrays, with clear errors for bad input.

Accepted sources: a path (``str`` / ``os.PathLike``), raw encoded bytes, or a numpy
array ``(H, W)`` grey or ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA, ``uint8`` or ``uint16``.
Files are decoded with Pillow: JPEG (EXIF orientation applied), PNG (8/16-bit, grey,
palette, RGBA), GIF (first frame), BMP, TIFF, WebP. Transparent pixels are composited on
white. Anything else raises `fau.FauError` with the reason.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import FauError

__all__ = ["ImageSource", "load_image", "as_rgb", "MIN_SIDE", "MAX_SIDE", "MAX_PIXELS"]

#: Smallest accepted image side (pixels). Below this no face mesh can be measured.
MIN_SIDE = 16
#: Largest accepted image side (pixels), checked from the header before decoding.
MAX_SIDE = 20_000
#: Largest accepted image area (pixels; 100 megapixels ≈ 300 MB as RGB), checked from
#: the header before decoding.
MAX_PIXELS = 100_000_000

ImageSource = Union[str, os.PathLike, bytes, np.ndarray]


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


def as_rgb(array: np.ndarray, what: str = "image array") -> np.ndarray:
    """Validate a numpy image and return it as a C-contiguous RGB ``uint8`` array.

    Parameters
    ----------
    array : ndarray
        ``(H, W)`` grey, ``(H, W, 1)``, ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA;
        ``uint8`` or ``uint16`` (scaled by 1/257).
    """
    if not isinstance(array, np.ndarray):
        raise FauError(f"{what} must be a numpy array, got {type(array).__name__}")
    a = array
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise FauError(
            f"{what} has shape {array.shape}; expected (H, W) grey, (H, W, 3) RGB "
            "or (H, W, 4) RGBA"
        )
    if a.dtype == np.uint16:
        a = (a // 257).astype(np.uint8)
    elif a.dtype != np.uint8:
        raise FauError(
            f"{what} has dtype {a.dtype}; expected uint8 (0-255) or uint16 "
            "(convert floats with (img * 255).round().astype('uint8'))"
        )
    _check_size(a.shape[1], a.shape[0], what)
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    elif a.shape[2] == 4:
        alpha = a[:, :, 3:4].astype(np.float32) / 255.0
        a = (a[:, :, :3] * alpha + 255.0 * (1.0 - alpha)).round().astype(np.uint8)
    return np.ascontiguousarray(a)


def _pil_to_rgb(img: Image.Image, what: str) -> np.ndarray:
    img = ImageOps.exif_transpose(img)
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.uint32)
        top = 65535 if arr.max() > 255 or mode.startswith("I;16") else 255
        arr = (arr.astype(np.float64) * (255.0 / top)).round().clip(0, 255).astype(np.uint8)
        return as_rgb(arr, what)
    if mode == "F":
        raise FauError(f"{what} holds floating-point pixels (mode F); save it as 8/16-bit")
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        return as_rgb(np.asarray(img.convert("RGBA")), what)
    return as_rgb(np.asarray(img.convert("RGB")), what)


def _open(data: Union[bytes, Path], what: str) -> np.ndarray:
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(stream)
            _check_size(img.width, img.height, what)  # header only: nothing decoded yet
            img.load()
    except FauError:
        raise
    except UnidentifiedImageError:
        raise FauError(f"{what} is not an image fau can read (JPEG, PNG, GIF, BMP, TIFF, WebP)")
    except Image.DecompressionBombError as exc:
        raise FauError(
            f"{what} is larger than fau accepts (at most {MAX_SIDE} px per side and "
            f"{MAX_PIXELS:,} pixels): {exc}"
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        msg = str(exc)
        if "truncated" in msg or "broken data stream" in msg or "EOF" in msg:
            raise FauError(f"{what} is truncated or corrupt ({msg})") from None
        raise FauError(f"{what} could not be decoded ({msg})") from None
    return _pil_to_rgb(img, what)


def load_image(source: ImageSource) -> np.ndarray:
    """Read an image into a C-contiguous RGB ``uint8`` array of shape (H, W, 3).

    Parameters
    ----------
    source : str, os.PathLike, bytes or ndarray
        A file path, encoded image bytes, or a numpy array (see `as_rgb`).

    Raises
    ------
    FauError
        Missing, empty, unreadable, truncated, too small (< `MIN_SIDE`) or too large
        (> `MAX_SIDE` per side or > `MAX_PIXELS`) input.
    """
    if isinstance(source, np.ndarray):
        return as_rgb(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if not data:
            raise FauError("image bytes are empty")
        return _open(data, "image bytes")
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        what = f"image file {str(path)!r}"
        if not path.exists():
            raise FauError(f"{what} does not exist")
        if path.is_dir():
            raise FauError(f"{what} is a directory, not an image")
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise FauError(f"{what} cannot be read ({exc.strerror})") from None
        if size == 0:
            raise FauError(f"{what} is empty (0 bytes)")
        try:
            with open(path, "rb"):
                pass
        except OSError as exc:
            raise FauError(f"{what} cannot be read ({exc.strerror})") from None
        return _open(path, what)
    raise FauError(
        f"cannot read an image from a {type(source).__name__}; pass a path, bytes or a "
        "numpy array"
    )
