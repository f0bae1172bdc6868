"""Bad and unusual image input: clear FauError or correct conversion."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from fau import FauError, load_image
from fau.io import MAX_SIDE, MIN_SIDE


def _png_bytes(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=kw.pop("format", "PNG"), **kw)
    return buf.getvalue()


@pytest.fixture(scope="module")
def face_rgb(data_dir) -> np.ndarray:
    return np.asarray(Image.open(data_dir / "cremad_hap.jpg").convert("RGB"))


def test_missing_file(tmp_path):
    with pytest.raises(FauError, match="does not exist"):
        load_image(tmp_path / "nope.jpg")


def test_empty_file(tmp_path):
    p = tmp_path / "empty.jpg"
    p.write_bytes(b"")
    with pytest.raises(FauError, match="empty"):
        load_image(p)


def test_directory(tmp_path):
    with pytest.raises(FauError, match="directory"):
        load_image(tmp_path)


def test_not_an_image(tmp_path):
    p = tmp_path / "notes.jpg"
    p.write_text("this is not a picture\n" * 20)
    with pytest.raises(FauError, match="not an image"):
        load_image(p)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated(tmp_path, face_rgb, fmt):
    data = _png_bytes(Image.fromarray(face_rgb), format=fmt)
    p = tmp_path / f"cut.{fmt.lower()}"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(FauError, match="truncated|corrupt|decoded"):
        load_image(p)


def test_too_small():
    with pytest.raises(FauError, match=f"at least {MIN_SIDE}"):
        load_image(np.zeros((15, 40), np.uint8))


def test_too_large_refused_from_header(tmp_path):
    # A 30000×30000 PNG header with no pixel data: must be refused before decoding.
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0)
    p = tmp_path / "huge.png"
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
    with pytest.raises(FauError, match=f"at most {MAX_SIDE}"):
        load_image(p)


def test_wrong_array_dtype_and_shape():
    with pytest.raises(FauError, match="dtype"):
        load_image(np.zeros((64, 64), np.float32))
    with pytest.raises(FauError, match="shape"):
        load_image(np.zeros((64, 64, 2), np.uint8))
    with pytest.raises(FauError, match="cannot read"):
        load_image(12345)  # type: ignore[arg-type]


def test_16bit_png(tmp_path, face_rgb):
    grey16 = (face_rgb.mean(axis=2) * 257).astype(np.uint16)
    p = tmp_path / "g16.png"
    Image.fromarray(grey16).save(p)
    out = load_image(p)
    assert out.dtype == np.uint8 and out.shape == face_rgb.shape
    assert abs(int(out[..., 0].astype(int).mean()) - int(face_rgb.mean())) <= 2


def test_10_and_12_bit_data_in_16_bits_is_warned_not_silent(tmp_path, face_rgb, caplog):
    """10/12-bit samples in 16-bit words (0-1023, 0-4095) scale to a near-black image:
    a warning says so; full-range 16-bit data gives none."""
    ten = face_rgb.astype(np.uint16) * 4  # 0-1020
    with caplog.at_level("WARNING", logger="fau.io"):
        assert load_image(ten).max() <= 3
    assert "10- or 12-bit" in caplog.text and "max 1020" in caplog.text
    caplog.clear()
    p = tmp_path / "g12.png"
    Image.fromarray((face_rgb.mean(axis=2) * 16).astype(np.uint16)).save(p)  # 0-4080
    with caplog.at_level("WARNING", logger="fau.io"):
        load_image(p)
    assert "10- or 12-bit" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="fau.io"):
        load_image(face_rgb.astype(np.uint16) * 257)
    assert caplog.text == ""


def test_16bit_rgba_array_is_checked_on_its_colour_not_its_alpha(face_rgb, caplog):
    """An opaque uint16 RGBA array's alpha is 65535 whatever its colour holds: 8-bit
    colour in it is refused and 12-bit colour warned about, as for the same 16-bit PNG
    (alpha left out); before, the array came out black with no word."""
    opaque = np.full(face_rgb.shape[:2], 65535, np.uint16)
    with pytest.raises(FauError, match="all lie in 0-255"):
        load_image(np.dstack([face_rgb.astype(np.uint16), opaque]))
    with caplog.at_level("WARNING", logger="fau.io"):
        load_image(np.dstack([face_rgb.astype(np.uint16) << 4, opaque]))
    assert "10- or 12-bit" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="fau.io"):
        out = load_image(np.dstack([face_rgb.astype(np.uint16) * 257, opaque]))
    assert caplog.text == "" and np.array_equal(out, face_rgb)


def test_rgba_composited_on_white(tmp_path, face_rgb):
    rgba = np.dstack([face_rgb, np.full(face_rgb.shape[:2], 255, np.uint8)])
    rgba[:10, :10, 3] = 0
    p = tmp_path / "a.png"
    Image.fromarray(rgba, "RGBA").save(p)
    out = load_image(p)
    assert out.shape == face_rgb.shape
    assert (out[:10, :10] == 255).all()


def test_palette_gif(tmp_path, face_rgb):
    p = tmp_path / "p.gif"
    Image.fromarray(face_rgb).convert("P", palette=Image.ADAPTIVE).save(p)
    out = load_image(p)
    assert out.shape == face_rgb.shape and out.dtype == np.uint8


def test_exif_rotation_applied(tmp_path, face_rgb):
    img = Image.fromarray(face_rgb).rotate(90, expand=True)  # stored sideways
    exif = Image.Exif()
    exif[0x0112] = 8  # orientation: rotate 90° anticlockwise to display (see test_io_inputs)
    p = tmp_path / "r.jpg"
    img.save(p, exif=exif.tobytes(), quality=95)
    out = load_image(p)
    assert out.shape == face_rgb.shape  # upright again (H, W as the original)


def test_bytes_and_grey_array(face_rgb):
    out = load_image(_png_bytes(Image.fromarray(face_rgb)))
    np.testing.assert_array_equal(out, face_rgb)
    grey = load_image(face_rgb[..., 0].copy())
    assert grey.shape == face_rgb.shape
    with pytest.raises(FauError, match="empty"):
        load_image(b"")
