"""A generated corpus of hostile and damaged inputs (issue 13), written at test time.

Every function writes one bad (or odd) file into a folder and returns its path; nothing
big is committed. The real faces come from the committed CREMA-D frames and clips in
``tests/data`` (ODbL/DbCL). ``python tests/badcorpus.py OUT_DIR`` writes the whole corpus
into ``OUT_DIR`` (the commands of docs/reliability.md use it), including the 16000×16000
video of the issue when ``--huge`` is given (it takes ~35 s and ~2.7 GB to encode).
"""

from __future__ import annotations

import argparse
import struct
import zlib
from pathlib import Path

import av
import numpy as np
from helpers import clip_frames, write_video  # tests/ is on sys.path (pytest, or as a script)
from PIL import Image

DATA = Path(__file__).parent / "data"


# --- helpers -------------------------------------------------------------------------------
def face_rgb(name: str = "hap") -> np.ndarray:
    """A committed CREMA-D frame (480×360 px RGB) with one frontal face."""
    return np.asarray(Image.open(DATA / f"cremad_{name}.jpg").convert("RGB"))


def _even(img: np.ndarray) -> np.ndarray:
    return img[: img.shape[0] // 2 * 2, : img.shape[1] // 2 * 2]


def _boxes(data: bytes, start: int = 0, end: int | None = None):
    """Top-level ISO-BMFF boxes ``(type, offset, size)`` of an MP4 file (ISO/IEC 14496-12)."""
    end = len(data) if end is None else end
    i = start
    while i + 8 <= end:
        size, kind = struct.unpack(">I4s", data[i:i + 8])
        if size == 1:
            size = struct.unpack(">Q", data[i + 8:i + 16])[0]
        elif size == 0:
            size = end - i
        yield kind.decode("latin-1"), i, size
        i += size


# --- videos ----------------------------------------------------------------------------------
def huge_video(folder: Path, side: int = 16000, frames: int = 12) -> Path:
    """A ``side``×``side`` H.264 MP4 of grey frames (16000²×12 frames: 752 KB, the issue's)."""
    path = folder / f"huge{side}.mp4"
    with av.open(str(path), "w") as out:
        st = out.add_stream("libx264", rate=30, options={
            "preset": "ultrafast", "tune": "zerolatency", "threads": "1"})
        st.width = st.height = side
        st.pix_fmt = "yuv420p"
        fr = av.VideoFrame(side, side, "yuv420p")
        for plane in fr.planes:
            np.frombuffer(plane, np.uint8)[:] = 128
        for i in range(frames):
            fr.pts = i
            for pkt in st.encode(fr):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)
    return path


def sized_video(folder: Path, width: int, height: int, frames: int = 6,
                codec: str = "libx264", suffix: str = ".mp4") -> Path:
    """A small video of ``width``×``height`` noise frames (e.g. 2×2, 8×8 or 640×640)."""
    rng = np.random.default_rng(width * 7 + height)
    imgs = [rng.integers(0, 255, (height, width, 3), dtype=np.uint8) for _ in range(frames)]
    return write_video(folder / f"size{width}x{height}{suffix}", imgs, codec=codec)


def face_mp4(folder: Path, name: str = "face.mp4", *, faststart: bool = False,
             keyint: int | None = None) -> Path:
    """The CREMA-D HAP clip (56 frames of 480×360) as H.264 MP4."""
    opts = {"g": str(keyint)} if keyint else {}
    return write_video(folder / name, clip_frames("HAP"), options=opts,
                       container_options={"movflags": "+faststart"} if faststart else None)


def rotated_clip(folder: Path, rotation: int = 90) -> Path:
    """A face clip coded sideways whose display matrix says: rotate by ``rotation``° CCW.

    Players show it upright; decoded without the matrix, the face lies on its side.
    """
    frames = [_even(np.ascontiguousarray(np.rot90(f, -rotation // 90)))
              for f in clip_frames("HAP")[:15]]
    return write_video(folder / f"rot{rotation}.mp4", frames, rotation=rotation)


def corrupt_middle_mp4(folder: Path, fraction: float = 0.10, seed: int = 13) -> Path:
    """The face MP4 with ``fraction`` of its ``mdat`` payload overwritten in the middle.

    Written with a key frame every 12 frames, as cameras and phones do (x264's default
    is 250: one damaged frame would then spoil every later one).
    """
    src = face_mp4(folder, "corrupt_src.mp4", keyint=12)
    data = bytearray(src.read_bytes())
    src.unlink()
    kind, off, size = next(b for b in _boxes(bytes(data)) if b[0] == "mdat")
    n = int((size - 8) * fraction)
    at = off + 8 + (size - 8 - n) // 2
    data[at:at + n] = np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()
    path = folder / "corrupt_middle.mp4"
    path.write_bytes(bytes(data))
    return path


def cut_faststart_mp4(folder: Path, keep: float = 0.9) -> Path:
    """A faststart MP4 (index first) cut to ``keep`` of its bytes: its tail frames are lost."""
    src = face_mp4(folder, "faststart.mp4", faststart=True)
    data = src.read_bytes()
    path = folder / f"faststart_cut{int(keep * 100)}.mp4"
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def ts_timestamp_reset(folder: Path) -> Path:
    """An MPEG-TS file of two face recordings concatenated: the PTS restarts at the join.

    Each half is 56 frames at 30 fps (1.87 s); a splice like this is what a recorder or
    a stream restart leaves behind.
    """
    frames = clip_frames("HAP")
    a = write_video(folder / "part_a.ts", frames, fmt="mpegts")
    b = write_video(folder / "part_b.ts", frames[::-1], fmt="mpegts")
    path = folder / "ts_reset.ts"
    path.write_bytes(a.read_bytes() + b.read_bytes())
    a.unlink()
    b.unlink()
    return path


def ts_size_change(folder: Path, first: int = 64, second: int = 640) -> Path:
    """MPEG-TS of 10 frames at ``first``² then 10 at ``second``² (PTS restarting too):
    a stream whose frame size grows after the header was read."""
    a = write_video(folder / "size_a.ts", [np.full((first, first, 3), 100, np.uint8)] * 10,
                    fmt="mpegts")
    b = write_video(folder / "size_b.ts", [np.full((second, second, 3), 50, np.uint8)] * 10,
                    fmt="mpegts")
    path = folder / f"size_change_{first}_{second}.ts"
    path.write_bytes(a.read_bytes() + b.read_bytes())
    a.unlink()
    b.unlink()
    return path


def lying_flv(folder: Path, seconds: float = 20.0, claimed: float = 1.0,
              rate: int = 30) -> Path:
    """An FLV of ``seconds`` of 32×32 video whose onMetaData says it lasts ``claimed`` s.

    The issue's case is 700 s claiming 1 s; tests use a shorter one with a lower limit.
    """
    n = int(round(seconds * rate))
    imgs = [np.full((32, 32, 3), i % 256, np.uint8) for i in range(n)]
    path = write_video(folder / f"lying{int(seconds)}s.flv", imgs, codec="flv", rate=rate)
    data = bytearray(path.read_bytes())
    key = b"duration\x00"  # AMF0: name, then type 0 (number) and a big-endian double
    at = data.find(key)
    if at < 0:
        raise RuntimeError("the FLV muxer wrote no duration")
    data[at + len(key):at + len(key) + 8] = struct.pack(">d", claimed)
    path.write_bytes(bytes(data))
    return path


# --- images ----------------------------------------------------------------------------------
def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def big_png(folder: Path, side: int = 10000, colour: bool = False) -> Path:
    """A ``side``×``side`` PNG of one grey level, streamed row by row (10000²: ~97 KB)."""
    channels = 3 if colour else 1
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2 if colour else 0, 0, 0, 0)
    comp = zlib.compressobj(9)
    row = b"\x00" + bytes([128]) * (side * channels)
    body = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    path = folder / f"big{side}{'rgb' if colour else ''}.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", body)
                     + png_chunk(b"IEND", b""))
    return path


def int32_tiff(folder: Path) -> Path:
    """The face as a 32-bit signed-integer grey TIFF, values scaled to the full range."""
    grey = face_rgb().mean(axis=2)
    arr = (grey / 255.0 * (2**31 - 1)).astype(np.int32)
    path = folder / "int32.tif"
    Image.fromarray(arr, mode="I").save(path)
    return path


def image_as(folder: Path, fmt: str, suffix: str) -> Path:
    """The face saved by Pillow in format ``fmt`` (ICO, TGA, PCX, PPM, JPEG2000, ...)."""
    img = Image.fromarray(face_rgb())
    path = folder / f"face{suffix}"
    if fmt == "ICO":
        img.save(path, format=fmt, sizes=[(256, 256)])
    else:
        img.save(path, format=fmt)
    return path


def xbm_named_png(folder: Path) -> Path:
    """A text file named ``.png`` that Pillow would parse as an X bitmap (XBM)."""
    path = folder / "text.png"
    path.write_text("#define x_width 16\n#define x_height 16\nstatic char x_bits[] = {\n"
                    + ", ".join(["0x00"] * 32) + "};\n")
    return path


def eps_file(folder: Path, name: str = "page.eps") -> Path:
    """A minimal Encapsulated PostScript file (Pillow would hand it to Ghostscript)."""
    path = folder / name
    path.write_text("%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 64 64\n"
                    "newpath 0 0 moveto 64 64 lineto stroke\nshowpage\n%%EOF\n")
    return path


def symlink_loop(folder: Path) -> Path:
    """``a`` → ``b`` → ``a``: a symbolic link loop."""
    a, b = folder / "loop_a.jpg", folder / "loop_b.jpg"
    a.symlink_to(b)
    b.symlink_to(a)
    return a


def write_all(folder: Path, huge: bool = False) -> list[Path]:
    """Write every case of the corpus into ``folder``; returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    out = [
        sized_video(folder, 2, 2, codec="mpeg4", suffix=".avi"),
        sized_video(folder, 8, 8),
        rotated_clip(folder, 90),
        rotated_clip(folder, 270),
        corrupt_middle_mp4(folder),
        cut_faststart_mp4(folder),
        ts_timestamp_reset(folder),
        ts_size_change(folder),
        lying_flv(folder, 700.0, 1.0),
        big_png(folder),
        int32_tiff(folder),
        xbm_named_png(folder),
        eps_file(folder),
        symlink_loop(folder),
    ]
    for fmt, suffix in (("ICO", ".ico"), ("TGA", ".tga"), ("PCX", ".pcx"), ("PPM", ".ppm"),
                        ("JPEG2000", ".jp2")):
        out.append(image_as(folder, fmt, suffix))
    if huge:
        out.append(huge_video(folder))
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--huge", action="store_true", help="also the 16000×16000 video")
    for p in write_all(ap.parse_args().folder, ap.parse_args().huge):
        print(p)
