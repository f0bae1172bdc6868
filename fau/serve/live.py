"""The WebSocket live stream: one `fau.video.LiveAnalyzer` per connection (tracking,
One-Euro smoothing and each person's running neutral baseline, exactly as ``fau live``),
newest-frame-wins scheduling, and the JSON of each analysed frame.

Each connection gets a detector of its own from `StreamDetectors` (the analyzer's tracks
follow that detector's landmark model), while the frames are analysed on the threads
of the service's `DetectorPool`, which bound how much analysis runs at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from typing import Any, Callable

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from ..au.geometry import AU_NAMES
from ..detector import Detector
from ..errors import FauError, ModelFileError
from ..expression.features import POSE_NAMES
from ..expression.labels import EXPRESSIONS
from ..video.live import LiveAnalyzer
from ..io import load_image
from .analysis import DecodeGate, DetectorPool, json_number
from .schemas import StreamError
from .sniff import SNIFF_BYTES, sniff

__all__ = ["StreamDetectors", "live_faces_json", "analyse_frame", "serve_stream", "CLOSE_POLICY",
           "CLOSE_TOO_BIG", "CLOSE_TRY_LATER", "CLOSE_IDLE", "STREAM_IMAGE_KINDS"]

log = logging.getLogger(__name__)

#: WebSocket close codes (RFC 6455 §7.4.1): policy violation (wrong token, foreign
#: origin), message too big, try again later (all streams busy).
CLOSE_POLICY, CLOSE_TOO_BIG, CLOSE_TRY_LATER = 1008, 1009, 1013
#: Close code of a stream that sent no frame for `Settings.stream_idle_s`: RFC 6455
#: §7.4.2 leaves 4000-4999 to applications; 4408 mirrors HTTP 408 Request Timeout, as
#: the graphql-ws protocol's 4408 does. Clients may reconnect when they have frames.
CLOSE_IDLE = 4408
#: Frame formats the stream takes (docs/api.md): what browsers encode a canvas to. GIF,
#: BMP and TIFF, which `POST /v1/images` takes, were analysed too while the error for
#: anything else said "not a JPEG/PNG/WebP image".
STREAM_IMAGE_KINDS: tuple[str, ...] = ("jpeg", "png", "webp")


class StreamDetectors:
    """Detectors for live streams: at most ``n`` in use, idle ones kept for the next stream.

    Parameters
    ----------
    n : int
        Most streams at once (`Settings.max_streams`).
    factory : callable
        Makes one `fau.Detector` (run on a worker thread: loading takes ~0.3-0.7 s).
    """

    def __init__(self, n: int, factory: Callable[[], Detector]) -> None:
        self.n, self.factory = int(n), factory
        self._lock = threading.Lock()
        self._idle: list[Detector] = []
        self.in_use = 0

    def reserve(self) -> bool:
        """Claim a stream slot; False when ``n`` streams are open."""
        with self._lock:
            if self.in_use >= self.n:
                return False
            self.in_use += 1
            return True

    def take(self) -> Detector:
        """An idle detector or a new one, for a reserved slot (blocking: call off the loop)."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self.factory()

    def release(self, det: Detector | None) -> None:
        """Free the slot; keep ``det`` for the next stream."""
        with self._lock:
            self.in_use -= 1
            if det is not None:
                self._idle.append(det)

    def close(self) -> None:
        """Close the idle detectors."""
        with self._lock:
            idle, self._idle = self._idle, []
        for d in idle:
            d.close()


def live_faces_json(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`fau.video.LiveAnalyzer.process` records → the stream's face objects (`schemas.StreamFace`).

    ``aus`` are the smoothed AUs, ``aus_rel`` their change from the person's running
    neutral baseline (null until the baseline has `LIVE_BASELINE_MIN_S` of history).
    """
    out = []
    for i, r in enumerate(records):
        rel_ready = all(r.get(f"{a}_rel") is not None for a in AU_NAMES)
        expressions = {e: json_number(r.get(e)) for e in EXPRESSIONS}
        has_scores = all(v is not None for v in expressions.values())
        out.append({
            "face": i,
            "track_id": int(r["track_id"]),
            "box": {k: json_number(r[f"face_{k}"]) for k in ("x", "y", "w", "h")},
            "score": json_number(r["face_score"]),
            "pose": {k: json_number(r[k]) for k in POSE_NAMES},
            "gaze": {k: json_number(r.get(f"gaze_{k}")) for k in ("yaw", "pitch")},
            "aus": {a: json_number(r[a]) for a in AU_NAMES},
            "aus_rel": {a: json_number(r[f"{a}_rel"]) for a in AU_NAMES} if rel_ready else None,
            "expressions": expressions if has_scores else None,
            "expression": r.get("expression") if has_scores else None,
        })
    return out


def analyse_frame(analyzer: LiveAnalyzer, data: bytes, timestamp: float) -> dict[str, Any]:
    """Decode one JPEG/PNG/WebP frame and run it through ``analyzer`` (blocking).

    Returns ``{"width", "height", "faces", "analysis_ms"}``; raises `fau.FauError` for
    a frame that is not an image fau decodes.
    """
    t0 = time.perf_counter()
    kind = sniff(data[:SNIFF_BYTES])
    if kind not in STREAM_IMAGE_KINDS:
        got = f" (it is {kind.upper()})" if kind else ""
        raise FauError(f"frame is not a JPEG/PNG/WebP image{got}")
    rgb = load_image(data)
    faces = live_faces_json(analyzer.process(rgb, timestamp))
    return {"width": int(rgb.shape[1]), "height": int(rgb.shape[0]), "faces": faces,
            "analysis_ms": round((time.perf_counter() - t0) * 1000.0, 2)}


class _Session:
    """One open stream: the newest waiting frame, counters, and a send lock."""

    def __init__(self, ws: WebSocket, max_frame_bytes: int, idle_s: float) -> None:
        self.ws, self.max_frame_bytes, self.idle_s = ws, max_frame_bytes, float(idle_s)
        self.slot: tuple[int, bytes, float] | None = None
        self.received = self.dropped = self.dropped_total = 0
        self.closed = False
        self.fresh = asyncio.Event()
        self.lock = asyncio.Lock()

    async def send(self, obj: dict[str, Any]) -> None:
        async with self.lock:
            if self.ws.application_state == WebSocketState.CONNECTED:
                await self.ws.send_text(json.dumps(obj, allow_nan=False))

    async def close(self, code: int, reason: str) -> None:
        async with self.lock:
            if self.ws.application_state == WebSocketState.CONNECTED:
                await self.ws.close(code=code, reason=reason)

    async def receive_frames(self) -> None:
        """Keep only the newest frame; count the ones it replaces. Close the socket
        (`CLOSE_IDLE`) when no frame arrived for ``idle_s`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.idle_s
        try:
            while True:
                try:  # cancelling a receive loses no message (a queue in both ASGI servers)
                    left = max(0.0, deadline - loop.time())
                    msg = await asyncio.wait_for(self.ws.receive(), left)
                except asyncio.TimeoutError:
                    log.info("closing a live stream: no frame for %g s", self.idle_s)
                    await self.close(CLOSE_IDLE, f"no frame for {self.idle_s:g} s (the server's "
                                     "stream idle limit, FAU_STREAM_IDLE_S); reconnect to go on")
                    return
                if msg["type"] == "websocket.disconnect":
                    return
                data = msg.get("bytes")
                if data is None:
                    await self.send(StreamError(seq=None, code="binary_expected",
                                                detail="send each frame as one binary message (JPEG bytes)"
                                                ).model_dump())
                    continue
                self.received += 1
                deadline = loop.time() + self.idle_s
                if len(data) > self.max_frame_bytes:
                    await self.ws.close(code=CLOSE_TOO_BIG, reason=f"frame over {self.max_frame_bytes} bytes")
                    return
                if self.slot is not None:  # a newer frame replaces the waiting one
                    self.dropped += 1
                    self.dropped_total += 1
                self.slot = (self.received, data, time.perf_counter())
                self.fresh.set()
        except (WebSocketDisconnect, RuntimeError):
            return
        finally:
            self.closed = True
            self.fresh.set()

    async def next_frame(self) -> tuple[int, bytes, float, int] | None:
        """The newest frame (seq, bytes, arrival, dropped since the last one), None at the end."""
        while True:
            await self.fresh.wait()
            self.fresh.clear()
            if self.closed:
                return None
            if self.slot is not None:
                (seq, data, t), self.slot = self.slot, None
                dropped, self.dropped = self.dropped, 0
                return seq, data, t, dropped


async def serve_stream(ws: WebSocket, *, pool: DetectorPool, streams: StreamDetectors,
                       gate: DecodeGate, max_frame_bytes: int, idle_s: float) -> None:
    """Accept a WebSocket whose slot in ``streams`` is reserved and run it until it closes
    (the protocol is in docs/api.md), or until it sends no frame for ``idle_s`` seconds;
    the slot is released at the end."""
    det: Detector | None = None
    session = _Session(ws, max_frame_bytes, idle_s)
    recv_task: asyncio.Task[None] | None = None
    try:
        await ws.accept()
        recv_task = asyncio.create_task(session.receive_frames())
        det = await pool.run_plain(streams.take)
        analyzer = LiveAnalyzer(det)
        t_open = time.perf_counter()
        while (item := await session.next_frame()) is not None:
            seq, data, t_recv, dropped = item
            try:
                async with gate.slot(data):
                    res = await pool.run_plain(lambda: analyse_frame(analyzer, data, t_recv - t_open))
            except FauError as exc:
                code = "internal_error" if isinstance(exc, ModelFileError) else "invalid_image"
                await session.send(StreamError(seq=seq, code=code, detail=str(exc)).model_dump())
                continue
            await session.send({
                "type": "result", "seq": seq, "received": session.received, "dropped": dropped,
                "dropped_total": session.dropped_total,
                "latency_ms": round((time.perf_counter() - t_recv) * 1000.0, 2),
                "analysis_ms": res["analysis_ms"], "width": res["width"], "height": res["height"],
                "faces": res["faces"],
            })
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        if recv_task is not None:
            recv_task.cancel()
        streams.release(det)
