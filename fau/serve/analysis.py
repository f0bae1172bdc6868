"""Analysis in the web service: the detector pool, the large-image gate, and the JSON shape
of analysed faces (shared by ``POST /v1/images`` and the WebSocket stream).

Faces are measured by the one shared path of fau (`fau.Detector.analyse`: the meshes,
then `fau.pipeline.Pipeline.analyse`'s feature blocks and table); this module only turns the
resulting table into JSON objects (`schemas.Face`).
"""

from __future__ import annotations

import asyncio
import io
import logging
import math
import queue
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Callable, TypeVar

import pandas as pd

from ..au.geometry import AU_NAMES
from ..detector import Detector
from ..expression.features import POSE_NAMES
from ..expression.labels import EXPRESSIONS
from ..io import load_image

__all__ = [
    "DetectorPool", "DecodeGate", "Admission", "LARGE_IMAGE_PIXELS", "image_pixels",
    "analyse_image",
    "faces_json", "explanation_json", "json_number",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Images with more pixels than this (read from the file header before decoding) go
#: through `DecodeGate`: a 16 MP RGB array is 48 MB and the analysis holds a few
#: copies, so a handful of them at once is what a small server can afford.
LARGE_IMAGE_PIXELS = 16_000_000


def json_number(x: Any) -> float | None:
    """A JSON-safe float (None, NaN and ±inf → None)."""
    if x is None:
        return None
    v = float(x)
    return v if math.isfinite(v) else None


def image_pixels(data: bytes) -> int | None:
    """Width × height from an image file's header (nothing is decoded), or None.

    None when Pillow cannot read the header; the decoder then reports the error.
    """
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as img:
            w, h = img.size
    except Exception:  # Pillow raises many classes for unreadable headers
        return None
    return int(w) * int(h)


class DecodeGate:
    """At most ``n`` large images (over `LARGE_IMAGE_PIXELS`) decoded and analysed at once.

    Waiting happens on the event loop, before a detector thread is taken, so large
    images queued behind each other never hold the threads that small images and camera
    frames need; those pass without waiting. Create it inside the running loop.
    """

    def __init__(self, n: int) -> None:
        self._sem = asyncio.Semaphore(int(n))
        self.active = 0
        #: Most large images that were in flight at once (for tests and the load test).
        self.peak = 0

    @asynccontextmanager
    async def slot(self, data: bytes) -> AsyncIterator[None]:
        """Hold a slot while the body runs, when ``data`` is a large image."""
        pixels = image_pixels(data)
        if pixels is None or pixels <= LARGE_IMAGE_PIXELS:
            yield
            return
        async with self._sem:
            self.active += 1
            self.peak = max(self.peak, self.active)
            try:
                yield
            finally:
                self.active -= 1


class Admission:
    """At most ``limit`` requests admitted at once: the ones being analysed and the ones
    waiting for a detector thread (or a `DecodeGate` slot).

    Counted on the event loop (admit and leave are called from it only), so no lock.
    """

    def __init__(self, limit: int) -> None:
        self.limit = int(limit)
        self.active = 0

    def admit(self) -> bool:
        """Count one more request; False (nothing counted) when ``limit`` are in."""
        if self.active >= self.limit:
            return False
        self.active += 1
        return True

    def leave(self) -> None:
        """One admitted request is done."""
        self.active -= 1


def faces_json(table: pd.DataFrame, *, blendshapes: bool = False) -> list[dict[str, Any]]:
    """Turn `fau.pipeline.Pipeline.table` rows into the API's face objects (`schemas.Face`).

    Reads whole columns once (``DataFrame.itertuples`` costs ~25 ms per 100 rows of this
    120-column table; column arrays cost ~0.1 ms).
    """
    n = len(table)
    if n == 0:
        return []
    bs_cols = [c for c in table.columns if c.startswith("bs_")] if blendshapes else []
    names = ["face", "face_x", "face_y", "face_w", "face_h", "face_score", *POSE_NAMES,
             "gaze_yaw", "gaze_pitch", *AU_NAMES, *EXPRESSIONS, *bs_cols]
    col = {c: table[c].to_numpy() for c in names}
    leading = table["expression"].to_numpy(dtype=object, na_value=None)
    out = []
    for i in range(n):
        scores = {e: json_number(col[e][i]) for e in EXPRESSIONS}
        has_scores = all(v is not None for v in scores.values())
        face: dict[str, Any] = {
            "face": int(col["face"][i]),
            "box": {k: json_number(col[f"face_{k}"][i]) for k in ("x", "y", "w", "h")},
            "score": json_number(col["face_score"][i]),
            "pose": {k: json_number(col[k][i]) for k in POSE_NAMES},
            "gaze": {k: json_number(col[f"gaze_{k}"][i]) for k in ("yaw", "pitch")},
            "aus": {k: json_number(col[k][i]) for k in AU_NAMES},
            "expressions": scores if has_scores else None,
            "expression": str(leading[i]) if has_scores and leading[i] is not None else None,
        }
        if blendshapes:
            face["blendshapes"] = {c[3:]: json_number(col[c][i]) for c in bs_cols}
        out.append(face)
    return out


def explanation_json(table: pd.DataFrame) -> dict[int, dict[str, Any]]:
    """`fau.pipeline.Pipeline.explain`'s long table → {face: {expression: {...}}}."""
    out: dict[int, dict[str, Any]] = {}
    for (face, expr), g in table.groupby(["face", "expression"], sort=False):
        first = g.iloc[0]
        out.setdefault(int(face), {})[str(expr)] = {
            "bias": json_number(first["bias"]),
            "logit": json_number(first["logit"]),
            "probability": json_number(first["probability"]),
            "contributions": {str(k): json_number(v) for k, v in zip(g["group"], g["contribution"])},
        }
    return out


def analyse_image(
    det: Detector,
    data: bytes,
    *,
    explain: bool = False,
    blendshapes: bool = False,
) -> dict[str, Any]:
    """Analyse one encoded image with ``det``: ``{"width", "height", "faces", "analysis_ms"}``.

    ``explain=True`` adds each face's ``explanation`` (needs an expression model).
    Raises `fau.FauError` for undecodable or out-of-range images. Blocking: run it on a
    `DetectorPool` thread, inside a `DecodeGate` slot.
    """
    t0 = time.perf_counter()
    rgb = load_image(data)
    table, blocks = det.analyse(rgb)
    pipeline = det.pipeline
    faces = faces_json(table, blendshapes=blendshapes)
    if explain and det.model is not None and faces:
        ex = explanation_json(pipeline.explain(blocks))
        for f in faces:
            f["explanation"] = ex.get(f["face"])
    return {
        "width": int(rgb.shape[1]),
        "height": int(rgb.shape[0]),
        "faces": faces,
        "analysis_ms": round((time.perf_counter() - t0) * 1000.0, 2),
    }


class DetectorPool:
    """``n`` detectors, each used by one thread at a time (a `Detector` is not thread-safe).

    Parameters
    ----------
    n : int
        Number of detectors and threads.
    factory : callable
        Makes one `fau.Detector`.
    """

    def __init__(self, n: int, factory: Callable[[], Detector]) -> None:
        self.factory = factory
        self._free: queue.Queue[Detector] = queue.Queue()
        self._all: list[Detector] = []
        try:
            for _ in range(n):
                d = factory()
                self._all.append(d)
                self._free.put(d)
        except BaseException:
            self.close()
            raise
        self._executor = ThreadPoolExecutor(max_workers=n, thread_name_prefix="fau-detect")
        self.model_name = self._all[0].expression_model_name if self._all else None
        self.has_model = bool(self._all and self._all[0].model is not None)

    def _call(self, fn: Callable[[Detector], T]) -> T:
        det = self._free.get()
        try:
            return fn(det)
        finally:
            self._free.put(det)

    async def run(self, fn: Callable[[Detector], T]) -> T:
        """Run ``fn(detector)`` on a pool thread without blocking the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, fn)

    async def run_plain(self, fn: Callable[[], T]) -> T:
        """Run ``fn()`` on a pool thread (work with its own detector, e.g. a live stream's):
        the pool's threads bound how much analysis runs at once."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn)

    def close(self) -> None:
        """Wait for running work, then release every detector."""
        ex = getattr(self, "_executor", None)
        if ex is not None:
            ex.shutdown(wait=True, cancel_futures=True)
        for d in self._all:
            try:
                d.close()
            except Exception:  # pragma: no cover - native teardown
                log.exception("closing a detector failed")
        self._all.clear()
