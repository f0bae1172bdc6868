"""More bad and unusual image input for `fau.io`: 16-bit colour files, array kinds,
corrupt files in an accepted format, paths that are not local files."""

from __future__ import annotations

import io
import logging
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from fau import FauError, load_image


@pytest.fixture(scope="module")
def face_rgb(data_dir) -> np.ndarray:
    return np.asarray(Image.open(data_dir / "cremad_hap.jpg").convert("RGB"))


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png16(a: np.ndarray) -> bytes:
    """A 16-bit PNG of a (H, W, C) ``uint16`` array (C: 2 grey+alpha, 3 RGB, 4 RGBA);
    Pillow cannot write one."""
    h, w, c = a.shape
    ctype = {2: 4, 3: 2, 4: 6}[c]
    rows = b"".join(b"\x00" + a[y].astype(">u2").tobytes() for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, 16, ctype, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(rows))
            + _chunk(b"IEND", b""))


def _tiff16_rgb(a: np.ndarray) -> bytes:
    """An uncompressed little-endian 16-bit RGB TIFF of a (H, W, 3) ``uint16`` array."""
    h, w, _ = a.shape
    pixels = a.astype("<u2").tobytes()
    n = 9
    ifd_at = 8
    bps_at = ifd_at + 2 + 12 * n + 4
    data_at = bps_at + 6
    entries = [  # tag, type (3 SHORT, 4 LONG), count, value
        (256, 4, 1, w), (257, 4, 1, h), (258, 3, 3, bps_at), (259, 3, 1, 1), (262, 3, 1, 2),
        (273, 4, 1, data_at), (277, 3, 1, 3), (278, 4, 1, h), (279, 4, 1, len(pixels)),
    ]
    ifd = struct.pack("<H", n)
    for tag, kind, count, value in entries:
        ifd += struct.pack("<HHI", tag, kind, count)
        short = kind == 3 and count == 1
        ifd += struct.pack("<HH", value, 0) if short else struct.pack("<I", value)
    ifd += struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", ifd_at) + ifd + struct.pack("<3H", 16, 16, 16) + pixels


@pytest.mark.parametrize("container", ["png", "tiff"])
def test_16bit_colour_file_full_range_is_scaled(container, face_rgb):
    wide = face_rgb.astype(np.uint16) * 257
    data = _png16(wide) if container == "png" else _tiff16_rgb(wide)
    np.testing.assert_array_equal(load_image(data), face_rgb)


@pytest.mark.parametrize("container", ["png", "tiff"])
def test_16bit_colour_file_holding_8bit_values_is_refused(container, face_rgb):
    """Before: Pillow keeps the high bytes of 16-bit colour samples, so 8-bit values in a
    16-bit RGB file came out as an all-black image, silently (16-bit grey was refused)."""
    low = face_rgb.astype(np.uint16)
    data = _png16(low) if container == "png" else _tiff16_rgb(low)
    with pytest.raises(FauError, match="16-bit colour values that all lie in 0-255"):
        load_image(data)


def test_16bit_rgba_and_grey_alpha_files_holding_8bit_values_are_refused(face_rgb):
    opaque = np.full(face_rgb.shape[:2] + (1,), 65535, np.uint16)
    rgba = np.concatenate([face_rgb.astype(np.uint16), opaque], axis=2)
    with pytest.raises(FauError, match="all lie in 0-255"):
        load_image(_png16(rgba))  # the alpha's full range does not hide it
    la = np.concatenate([face_rgb[..., :1].astype(np.uint16), opaque], axis=2)
    with pytest.raises(FauError, match="all lie in 0-255"):
        load_image(_png16(la))


def test_12bit_values_in_16bit_colour_file_are_warned(face_rgb, caplog):
    with caplog.at_level("WARNING", logger="fau.io"):
        out = load_image(_png16(face_rgb.astype(np.uint16) * 16))  # 0-4080
    assert out.max() <= 15
    assert "10- or 12-bit" in caplog.text and "at most 4095" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="fau.io"):
        load_image(_png16(face_rgb.astype(np.uint16) * 257))
    assert caplog.text == ""


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
def test_ndarray_subclasses_are_read_as_plain_arrays(face_rgb):
    """Before: an np.matrix raised numpy's 'shape too large to be a matrix' (and a
    non-contiguous one crashed the process, numpy freeing memory twice); a masked array's
    mask was dropped silently."""
    grey = face_rgb[..., 0].copy()
    out = load_image(np.asmatrix(grey))
    assert type(out) is np.ndarray and out.shape == face_rgb.shape
    np.testing.assert_array_equal(out[..., 1], grey)
    unmasked = np.ma.masked_array(face_rgb, mask=False)
    np.testing.assert_array_equal(load_image(unmasked), face_rgb)
    assert type(load_image(unmasked)) is np.ndarray
    masked = np.ma.masked_array(face_rgb, mask=face_rgb > 200)
    with pytest.raises(FauError, match="masked pixels"):
        load_image(masked)


def test_big_endian_uint16_array_is_uint16(face_rgb):
    """Before: refused as "dtype >u2; expected uint8 (0-255) or uint16"."""
    big = (face_rgb.astype(np.uint16) * 257).astype(">u2")
    np.testing.assert_array_equal(load_image(big), face_rgb)
    with pytest.raises(FauError, match="all lie in 0-255"):
        load_image(face_rgb.astype(">u2"))


def _png_of(face_rgb: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    Image.fromarray(face_rgb).save(buf, format="PNG")
    return buf.getvalue()


def test_damaged_header_in_accepted_format_is_corrupt_not_unknown(tmp_path, face_rgb):
    """Before: a PNG whose header chunk fails its checksum, or declares 0×0 px, was "not
    an image in a format fau reads (JPEG, PNG, ...)"."""
    png = _png_of(face_rgb)
    bad_crc = png[:29] + bytes([png[29] ^ 0xFF]) + png[30:]  # the IHDR chunk's CRC
    zero = bytearray(png)
    zero[16:24] = bytes(8)  # width 0, height 0 (the CRC then fails too)
    for name, data in (("crc.png", bad_crc), ("zero.png", bytes(zero))):
        p = tmp_path / name
        p.write_bytes(data)
        for source in (p, data):
            with pytest.raises(FauError, match="starts as a PNG file but is corrupt"):
                load_image(source)
    tif = tmp_path / "cut.tif"
    tif.write_bytes(b"II*\x00" + struct.pack("<I", 10**6))  # first directory past the end
    with pytest.raises(FauError, match="TIFF file but is corrupt|truncated"):
        load_image(tif)


def test_jpeg_cut_inside_its_header_is_called_truncated(face_rgb):
    """Before: "could not be decoded (Truncated File Read)" (Pillow's capital T)."""
    import io

    buf = io.BytesIO()
    Image.fromarray(face_rgb).save(buf, format="JPEG")
    with pytest.raises(FauError, match="truncated or corrupt"):
        load_image(buf.getvalue()[:200])


@pytest.mark.parametrize("url", ["https://example.com/face.jpg", "http://host/a.png",
                                 "file:///tmp/face.jpg", "s3://bucket/face.jpg"])
def test_url_says_local_files_only(url):
    """Before: "image file not found: 'https://...' does not exist"."""
    with pytest.raises(FauError, match="is a URL; fau reads local files only"):
        load_image(url)


def test_file_named_like_a_url_is_still_read(tmp_path, face_rgb, monkeypatch):
    (tmp_path / "http:").mkdir()
    Image.fromarray(face_rgb).save(tmp_path / "http:" / "x.png")
    monkeypatch.chdir(tmp_path)
    np.testing.assert_array_equal(load_image("http://x.png"), face_rgb)  # "http:/" + "/x.png"


def test_path_given_as_bytes_says_so(tmp_path, face_rgb):
    """Before: "image bytes is not an image in a format fau reads"."""
    p = tmp_path / "face.png"
    Image.fromarray(face_rgb).save(p)
    with pytest.raises(FauError, match="are the name of a file.*pass the path as a str"):
        load_image(str(p).encode())
    with pytest.raises(FauError, match="not an image in a format"):
        load_image(str(tmp_path / "missing.png").encode())  # no such file: only bytes


@pytest.mark.parametrize("orientation, stored", [
    (3, lambda im: im.rotate(180)),
    (6, lambda im: im.rotate(90, expand=True)),  # stored 90° anticlockwise: shown turned clockwise
    (8, lambda im: im.rotate(-90, expand=True)),  # stored 90° clockwise: shown turned back
    (2, lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)),
])
def test_exif_orientation_gives_the_upright_pixels(tmp_path, face_rgb, orientation, stored):
    """The pixels, not only the shape, come out as the camera saw them (EXIF 2.32)."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    p = tmp_path / f"o{orientation}.jpg"
    stored(Image.fromarray(face_rgb)).save(p, exif=exif.tobytes(), quality=95)
    out = load_image(p)
    assert out.shape == face_rgb.shape
    assert np.abs(out.astype(int) - face_rgb).mean() < 3  # JPEG noise; a wrong turn gives ~40


@pytest.mark.parametrize("data", [
    b"BMW service notes: oil changed at 30,000 km, brake pads replaced.\n" * 4,
    b"BM" + bytes(200),  # no DIB header size
    b"BM\x00\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00\xff\xff\x00\x00" + bytes(64),
], ids=["text", "zeros", "dib-size-65535"])
def test_text_starting_with_bm_is_not_an_image(tmp_path, data):
    """Before: "is truncated or corrupt (Truncated File Read)" or "could not be decoded
    (Unsupported BMP header type (0))", as if it were a damaged BMP."""
    p = tmp_path / "notes.txt"
    p.write_bytes(data)
    for source in (data, p):
        with pytest.raises(FauError, match="is not an image in a format fau reads") as err:
            load_image(source)
        assert "corrupt" not in str(err.value) and "decoded" not in str(err.value)


def test_bmp_cut_inside_its_pixels_is_still_corrupt(face_rgb):
    import io

    buf = io.BytesIO()
    Image.fromarray(face_rgb).save(buf, format="BMP")
    with pytest.raises(FauError, match="truncated or corrupt") as err:
        load_image(buf.getvalue()[:200])
    assert "not an image" not in str(err.value)


def _ftyp(brand: bytes, compatible: tuple[bytes, ...] = ()) -> bytes:
    body = brand + bytes(4) + b"".join(compatible)
    return struct.pack(">I", 8 + len(body)) + b"ftyp" + body + bytes(400)


@pytest.mark.parametrize("data", [
    _ftyp(b"heic", (b"mif1", b"heic")), _ftyp(b"mif1", (b"heic",)), _ftyp(b"heix"),
    _ftyp(b"msf1", (b"hevc",)), _ftyp(b"avif", (b"mif1", b"miaf")), _ftyp(b"avis"),
], ids=["heic", "mif1", "heix", "msf1", "avif", "avis"])
def test_heic_and_avif_say_not_supported_convert(tmp_path, data):
    """Before: "is not an image in a format fau reads (JPEG, PNG, ...)"."""
    p = tmp_path / "IMG_0001.HEIC"
    p.write_bytes(data)
    for source in (data, p):
        with pytest.raises(FauError, match=r"HEIC/HEIF \(or AVIF\) images are not supported: "
                                           "convert to JPEG or PNG"):
            load_image(source)


def test_mp4_is_not_taken_for_heic():
    with pytest.raises(FauError, match="is not an image in a format fau reads"):
        load_image(_ftyp(b"mp42", (b"isom", b"mp41")))


def test_pil_image_object_says_how_to_pass_it(face_rgb):
    """Before: "cannot read an image from a Image; pass a path, bytes or a numpy array"."""
    img = Image.fromarray(face_rgb)
    with pytest.raises(FauError, match=r'PIL image.*np\.asarray\(img\.convert\("RGB"\)\)'):
        load_image(img)
    np.testing.assert_array_equal(load_image(np.asarray(img.convert("RGB"))), face_rgb)


def _tiff_with_tag_past_the_end(face_rgb: np.ndarray) -> bytes:
    """An 8-bit RGB TIFF whose Software tag (305) points past the end of the file."""
    import io

    buf = io.BytesIO()
    Image.fromarray(face_rgb).save(buf, format="TIFF", tiffinfo={305: "x" * 40})
    data = bytearray(buf.getvalue())
    ifd = struct.unpack("<I", data[4:8])[0]
    for i in range(struct.unpack("<H", data[ifd:ifd + 2])[0]):
        entry = ifd + 2 + 12 * i
        if struct.unpack("<H", data[entry:entry + 2])[0] == 305:
            data[entry + 8:entry + 12] = struct.pack("<I", 10**6)
    return bytes(data)


def test_damaged_tiff_tag_gives_no_pillow_warnings(face_rgb):
    """Before: Pillow warned "Truncated File Read" (UserWarning, on stderr) several times
    while the pixels were read fine."""
    import warnings

    data = _tiff_with_tag_past_the_end(face_rgb)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = load_image(data)
    np.testing.assert_array_equal(out, face_rgb)
    assert [str(w.message) for w in caught] == []


@pytest.mark.parametrize("dtype, scale, advice", [
    ("float32", 1 / 255, r"floats in 0-1: pass \(img \* 255\)\.round\(\)\.astype\('uint8'\)"),
    ("float64", 1.0, r"in 0-255: pass img\.round\(\)\.astype\('uint8'\)"),
    ("int64", 1, r"in 0-255: pass img\.astype\('uint8'\)"),
    ("int32", 200, r"in 0-65535: pass img\.astype\('uint16'\)"),
    ("float32", -1.0, r"neither 0-1 nor 0-255"),
])
def test_wrong_dtype_error_gives_the_conversion_its_values_need(face_rgb, dtype, scale, advice):
    # The one advice for every dtype, (img * 255).astype('uint8'), wraps 0-255 floats around.
    with pytest.raises(FauError, match=advice):
        load_image((face_rgb.astype(np.float64) * scale).astype(dtype))


def test_bool_and_nan_arrays_are_named_as_what_they_are(face_rgb):
    with pytest.raises(FauError, match="boolean mask is not an image"):
        load_image(face_rgb > 128)
    bad = face_rgb.astype(np.float32)
    bad[0, 0, 0] = np.nan
    with pytest.raises(FauError, match="NaN or infinite"):
        load_image(bad)


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_animated_image_gives_its_first_frame_with_a_warning(face_rgb, fmt, caplog):
    first = Image.fromarray(face_rgb)
    buf = io.BytesIO()
    first.save(buf, fmt, save_all=True, append_images=[Image.new("RGB", first.size, "red")],
               **({"lossless": True} if fmt == "WEBP" else {}))
    with caplog.at_level(logging.WARNING, logger="fau.io"):
        out = load_image(buf.getvalue())
    assert f"animated {fmt}: only its first frame" in caplog.text
    # the face, not the red second frame (GIF's palette costs a few levels)
    assert np.abs(out.astype(int) - face_rgb).mean() < 3


def test_single_frame_gif_gives_no_animation_warning(face_rgb, caplog):
    buf = io.BytesIO()
    Image.fromarray(face_rgb).save(buf, "GIF")
    with caplog.at_level(logging.WARNING, logger="fau.io"):
        load_image(buf.getvalue())
    assert "animated" not in caplog.text


@pytest.mark.parametrize("lossless", [False, True])
def test_cut_webp_is_called_truncated(face_rgb, tmp_path, lossless):
    buf = io.BytesIO()
    Image.fromarray(face_rgb).save(buf, "WEBP", lossless=lossless)
    data = buf.getvalue()
    for cut in (data[: len(data) // 2], data[:-1]):
        with pytest.raises(FauError, match=f"truncated: its RIFF header declares {len(data):,}"):
            load_image(cut)
    path = tmp_path / "cut.webp"
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(FauError, match=f"holds {len(data) // 3:,}"):
        load_image(path)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_huge_header_names_its_size_and_fau_limits_only(face_rgb, fmt):
    # 20000×20000: within MAX_SIDE, over MAX_PIXELS and over Pillow's own bomb limit,
    # whose figure (178956970 pixels) is not one of fau's.
    buf = io.BytesIO()
    Image.fromarray(face_rgb).save(buf, fmt)
    data = bytearray(buf.getvalue())
    if fmt == "PNG":
        data[16:24] = struct.pack(">II", 20000, 20000)
        data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    else:
        sof = data.find(b"\xff\xc0")
        data[sof + 5:sof + 9] = struct.pack(">HH", 20000, 20000)
    with pytest.raises(FauError) as err:
        load_image(bytes(data))
    assert "is 400,000,000 pixels by its header; fau accepts at most 20000 px per side and " \
           "100,000,000 pixels" in str(err.value)
    assert "178956970" not in str(err.value)
