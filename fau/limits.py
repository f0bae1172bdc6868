"""Every input limit fau enforces, in one place, with its unit and the reason for it.

The readers (`fau.io` for images, `fau.video.reader` for video) check these before
they decode anything they can check from a header, and again on what they decode (a
header can lie). Functions that enforce a limit take it as a keyword argument with
these values as defaults, so a service can be stricter and a test can use a tiny file.
docs/reliability.md lists what each bad input gets.

`peak_rss_mb` is the one measure of the memory these limits bound (a process's peak
resident memory), used by the batch workers' index, the benchmarks and the memory tests.
"""

from __future__ import annotations

from .errors import FauError

__all__ = [
    "MIN_SIDE", "MAX_SIDE", "MAX_PIXELS", "MAX_VIDEO_PIXELS", "MAX_FRAME_RATE",
    "MAX_CONSECUTIVE_DECODE_ERRORS", "GAP_INTERVALS", "TAIL_INTERVALS", "TAIL_FRACTION",
    "MAX_GAPS_LISTED", "IMAGE_FORMATS", "MAX_DETECTOR_PIXELS", "peak_rss_mb", "rss_mb",
]

#: Smallest accepted image or video side (pixels). Below it the face mesh cannot be
#: measured: MediaPipe's landmark model sees a face at 256×256 px and its detector at
#: 128×128; a 16-px face carries under 1 px per mesh triangle.
MIN_SIDE = 16

#: Largest accepted image side (pixels), checked from the header before decoding.
MAX_SIDE = 20_000

#: Largest accepted image area (pixels): 100 megapixels, 300 MB as RGB ``uint8``,
#: beyond any camera photo (a 61 MP full-frame sensor is 9504×6336); checked from the
#: header before decoding.
MAX_PIXELS = 100_000_000

#: Largest image the face detector works on (pixels): its pyramid's finest level
#: (`fau.landmarks.pyramid`), where a face of ``min_face`` pixels is 14 px
#: (``MIN_FACE_INPUT``, the smallest face BlazeFace short range finds reliably). Equal
#: to ``MAX_PIXELS * (14 / 30)**2`` (30 px: the default ``min_face``), so the default
#: holds on every image fau accepts; a smaller ``min_face`` on a larger image is raised
#: to ``14 * sqrt(pixels / MAX_DETECTOR_PIXELS)`` (logged). Bounds detection on 100 MP
#: at about 6 s of CPU on one core and a 65 MB working copy (docs/benchmarks.md,
#: "Large images").
MAX_DETECTOR_PIXELS = 21_777_778

#: Largest accepted video frame (pixels): 4096×2160 = 8.8 MP, DCI 4K, which holds UHD
#: 4K (3840×2160) in either orientation. Lower than `MAX_PIXELS` because a video keeps
#: many frames alive at once (reference frames, one per FFmpeg frame thread, fau's
#: queue of `fau.video.detect.QUEUE_FRAMES` RGB frames): ``fau video`` peaked at
#: 1.30 GB on a 4096×2160 clip and 1.63 GB on 4096×4096 (docs/reliability.md). Checked
#: from the stream header before decoding, and given to FFmpeg (``max_pixels``) so no
#: larger frame is allocated even when a header lies or the size changes mid-stream.
MAX_VIDEO_PIXELS = 4096 * 2160

#: Highest frame rate (frames per second) a duration limit allows for: a video limited
#: to ``max_duration_s`` may decode at most ``max_duration_s * MAX_FRAME_RATE`` frames
#: (so frames that all carry one timestamp cannot run past the limit). 240 frames/s is
#: the slow-motion mode of phone cameras.
MAX_FRAME_RATE = 240.0

#: Packets in a row the video decoder may reject before fau stops decoding (the file
#: is then reported truncated). Damaged packets are skipped, as ffmpeg does; 250 is
#: about 8 s at 30 frames/s of nothing decodable, and bounds the work a file of
#: garbage can cause.
MAX_CONSECUTIVE_DECODE_ERRORS = 250

#: A gap is reported where two decoded frames lie more than this many nominal frame
#: intervals apart (frames lost to damage, or a pause in a variable-frame-rate video).
GAP_INTERVALS = 3.0

#: A stream whose last frame ends more than ``TAIL_INTERVALS`` nominal frame intervals
#: plus ``TAIL_FRACTION`` of the declared duration before the duration its header
#: declares is reported truncated. Two intervals cover the last frame's own duration
#: and rounding; 1% covers container durations rounded to 0.1 s or stretched by an
#: audio track that outlasts the video by a little (CREMA-D: 6 ms).
TAIL_INTERVALS = 2.0
#: See `TAIL_INTERVALS` (a fraction, 0.01 = 1%).
TAIL_FRACTION = 0.01

#: Gaps listed one by one in a video's decode statistics; more are only counted (so a
#: hostile file cannot grow the statistics without bound).
MAX_GAPS_LISTED = 100

#: Image formats fau reads (Pillow format names), and only these: what cameras, phones,
#: scanners and browsers write, decoded by widely fuzzed libraries (libjpeg-turbo,
#: libpng/zlib, libtiff, libwebp, Pillow's GIF and BMP readers). ``JPEG`` includes MPO,
#: the JPEG variant many cameras write (extra views after the first; the first is read).
#: Refused:
#: everything else Pillow can open, notably EPS/PS (Pillow runs Ghostscript for them),
#: ICO, TGA, PCX, PPM/PGM, XBM (a text file ending in ``.png`` would parse as one),
#: JPEG 2000, AVIF/HEIF, PSD, DDS, SGI and the rest: rare for photos and less tested.
IMAGE_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP")


#: KiB per MiB: ``/proc/<pid>/status`` gives ``VmHWM`` and ``VmRSS`` in KiB (written "kB";
#: proc(5)).
_KIB_PER_MIB = 1024


def peak_rss_mb(pid: int | None = None) -> float | None:
    """Peak resident memory of a process so far (MiB), or None where it cannot be read.

    Reads ``VmHWM`` (the high-water mark of the resident set) of ``/proc/<pid>/status``
    on Linux. Not ``resource.getrusage(...).ru_maxrss``: Linux carries that over from
    the parent across fork and exec, so a child started by a large process (a pytest
    run, a batch runner) would report the parent's peak. There is no fallback to it
    either: elsewhere its behaviour across exec is unchecked (and its unit differs:
    KiB on Linux, bytes on macOS), so a wrong number is not given in place of None.
    Linux counts resident pages per CPU, so two readings can differ by a fraction of a
    MiB (0.15 MiB lower just after freeing 200 MiB, Linux 6.18, tests/test_peak_memory.py).

    Parameters
    ----------
    pid : int or None
        The process (e.g. a server started with `subprocess.Popen`, by its ``pid``);
        None: this process.

    Returns
    -------
    float or None
        MiB (``VmHWM`` KiB / 1024, unrounded); None without ``/proc`` (macOS, Windows),
        for a process that does not exist (or is not readable) and for one without a
        memory map (a zombie, a kernel thread).

    Raises
    ------
    FauError
        ``pid`` is not a positive int.

    Examples
    --------
    >>> from fau.limits import peak_rss_mb
    >>> peak = peak_rss_mb()  # e.g. 61.3 on Linux, None on macOS
    """
    return _status_mib("VmHWM", pid)


def rss_mb(pid: int | None = None) -> float | None:
    """Resident memory of a process now (MiB), or None where it cannot be read.

    ``VmRSS`` of ``/proc/<pid>/status`` (Linux); ``pid``, the None cases and the errors
    as `peak_rss_mb`, whose peak it never exceeds.

    Examples
    --------
    >>> from fau.limits import rss_mb
    >>> now = rss_mb()  # e.g. 58.9 on Linux, None on macOS
    """
    return _status_mib("VmRSS", pid)


def _status_mib(field: str, pid: int | None) -> float | None:
    """One KiB field of ``/proc/<pid>/status`` in MiB (see `peak_rss_mb`)."""
    if pid is not None and (isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0):
        raise FauError(f"pid must be a positive int (a process id) or None, got {pid!r}")
    path = "/proc/self/status" if pid is None else f"/proc/{pid}/status"
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / _KIB_PER_MIB
    except (OSError, ValueError, IndexError):
        return None
    return None
