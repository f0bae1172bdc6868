"""Face tracking across video frames: MediaPipe's tracking crop plus box matching.

How it works (per frame)
------------------------
1. **Follow.** Every live track is measured again by the landmark model alone, on
   MediaPipe's tracking crop computed from the track's landmarks in the previous
   analysed frame (`MediaPipeBackend.roi_from_landmarks`: landmark box, eye line level,
   1.5× its longer side) — the face detector does not run. This is what MediaPipe's
   VIDEO mode does. A track whose face-presence score drops below the detector's
   ``min_face_score`` is lost at this frame.
2. **Detect.** The face detector runs when no track is live, when a track was lost
   at this frame, or every `DETECT_EVERY_S` seconds of video (to pick up faces that
   entered), as long as fewer than ``max_faces`` faces are tracked. A detection whose
   box overlaps a live track's landmark box (IoU ≥ `MATCH_IOU`) is that track; the
   others start new tracks, up to ``max_faces`` in all: a face beyond them is not
   analysed, and the first time that happens a warning is logged (the detector does
   not run while ``max_faces`` faces are tracked, so a face that enters then is not
   seen at all).
3. **Merge.** Two tracks that converge on the same face (landmark boxes with IoU ≥
   `DUPLICATE_IOU`) are merged into the older one.

Identities
----------
The tracker's ids are integers counted from 0 in order of appearance, stable while the
face stays in view. A face lost for at most `REACQUIRE_S` seconds and found again by the
detector where it was lost (IoU ≥ `MATCH_IOU` with its last box) gets its old id back;
otherwise a face that returns starts a new track. Every track keeps a few samples of
its face's geometric signature (`fau.video.identity`: the pose-free shape of the face,
one sample every 0.5 s), and `Tracker.identities` links the tracks of a whole video into
persons by that signature (never two faces of one frame): `detect_video` reports the
person as ``track_id``, so a face that leaves for a cut-away and returns keeps its id.
Live analysis keeps the tracker's own ids (linking needs the whole video).

Backends without ``mesh``/``roi_from_landmarks`` (not the default) fall back to
running ``detect`` on every frame, with the same matching.
"""

from __future__ import annotations

import logging
import numbers
from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import FauError, check_number
from ..landmarks.base import FaceMesh, StagedBackend
from ..landmarks.mediapipe import same_face
from ..landmarks.whole_image import whole_image_face
from .identity import TrackSpan, link_tracks

__all__ = ["Tracker", "Track", "DETECT_EVERY_S", "MATCH_IOU", "DUPLICATE_IOU", "REACQUIRE_S"]

log = logging.getLogger(__name__)

#: Seconds of video between face-detector runs while faces are tracked (to find new
#: faces); 1 s at 30 fps costs one detector run (~2-5 ms) per 30 frames.
DETECT_EVERY_S = 1.0
#: Intersection over union of boxes (landmark box vs detector/landmark box) at or above
#: which a detection is the same face as a track. 0.3: a face moves far less than a
#: box width between two frames even at fps=5 (chosen, not fitted).
MATCH_IOU = 0.3
#: IoU at or above which two tracks are one face (the landmark model converged on
#: the same face from two crops); MediaPipe's own landmark-box NMS uses 0.5.
DUPLICATE_IOU = 0.5
#: Seconds a lost track stays re-claimable by a detection at its last position.
REACQUIRE_S = 0.5


def check_detect_every(value) -> float:
    """``detect_every`` (seconds of video between detector runs) as a float > 0.

    Raises
    ------
    FauError
        Not a real number, not finite (NaN would never be due: faces entering while one
        is tracked would never be found) or not above 0.
    """
    return check_number("detect_every", value, unit="seconds", gt=0.0)  # type: ignore


def box_of(landmarks: np.ndarray) -> np.ndarray:
    """Tight box (x0, y0, x1, y1) of landmarks (N, 2+), pixels."""
    lo = landmarks[:, :2].min(axis=0)
    hi = landmarks[:, :2].max(axis=0)
    return np.array([lo[0], lo[1], hi[0], hi[1]], dtype=np.float64)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


@dataclass
class Track:
    """A followed face: id, its latest mesh and box, when it was last seen."""

    id: int
    mesh: FaceMesh
    box: np.ndarray
    last_seen: float
    first_seen: float
    frames: int = 1
    lost_at: float | None = field(default=None)
    span: TrackSpan | None = field(default=None, repr=False)

    def seen(self, mesh: FaceMesh, timestamp: float) -> None:
        """Record that the track's face is ``mesh`` at ``timestamp`` (s)."""
        self.mesh, self.box, self.last_seen = mesh, box_of(mesh.landmarks), timestamp
        self.frames += 1
        if self.span is not None:
            self.span.last_seen = timestamp
            self.span.add(mesh.landmarks, timestamp)


class Tracker:
    """Follow faces through frames with stable ids (see module docs).

    Parameters
    ----------
    backend : LandmarkBackend
        Usually `fau.landmarks.MediaPipeBackend` (needs ``detect_faces``, ``mesh`` and
        ``roi_from_landmarks`` for tracking; otherwise ``detect`` runs every frame).
    max_faces : int
        Most faces tracked at once (a whole number >= 1; `FauError` otherwise).
    min_face_score : float
        Face presence (0-1) below which a tracked face is lost and a new one ignored
        (`FauError` outside [0, 1]).
    detect_every : float
        Seconds between detector runs while faces are tracked (`DETECT_EVERY_S`);
        `FauError` unless a finite number > 0.
    blendshapes : bool
        False: where the backend measures them apart (`fau.landmarks.StagedBackend`), the
        meshes `update` returns have no blendshapes yet (None), for a caller that
        measures them later (`fau.landmarks.with_blendshapes`; `fau.video.live.LiveAnalyzer`
        does, after starting the appearance CNN on the landmarks).
    """

    def __init__(
        self,
        backend,
        *,
        max_faces: int = 4,
        min_face_score: float = 0.5,
        detect_every: float = DETECT_EVERY_S,
        blendshapes: bool = True,
    ) -> None:
        self.backend = backend
        #: Keywords of the backend's mesh calls (``blendshapes=False`` when deferred).
        self._later = ({} if blendshapes or not isinstance(backend, StagedBackend)
                       else {"blendshapes": False})
        if (not isinstance(max_faces, numbers.Integral) or isinstance(max_faces, bool)
                or max_faces < 1):
            raise FauError(f"max_faces must be a whole number of at least 1, got {max_faces!r}")
        if (not isinstance(min_face_score, numbers.Real) or isinstance(min_face_score, bool)
                or not 0.0 <= min_face_score <= 1.0):
            raise FauError(f"min_face_score must be a number in [0, 1], got {min_face_score!r}")
        self.max_faces = int(max_faces)
        self.min_face_score = float(min_face_score)
        self.detect_every = check_detect_every(detect_every)
        self.tracks: list[Track] = []
        self.lost: list[Track] = []
        self._next_id = 0
        self._last_detect: float | None = None
        self._last_whole: float | None = None  # last whole-frame landmark pass (seconds)
        self._can_track = all(
            hasattr(backend, a) for a in ("detect_faces", "mesh", "roi_from_landmarks")
        )
        #: Counters: frames, detector runs, landmark-model runs (for profiling).
        self.counts = {"frames": 0, "detector_runs": 0, "mesh_runs": 0}
        #: Every track's times and signature samples, by track id (`identities`).
        self.spans: dict[int, TrackSpan] = {}
        #: Time (s) of the first frame where a face beyond ``max_faces`` was left out.
        self.dropped_at: float | None = None
        self._size: tuple[int, int] | None = None  # (height, width) of the last frame

    # ------------------------------------------------------------------------------
    def update(self, rgb: np.ndarray, timestamp: float) -> list[tuple[int, FaceMesh]]:
        """Analyse one RGB frame; return ``(track_id, mesh)`` for each face in it.

        Frames must come in increasing ``timestamp`` order (seconds).
        """
        self.counts["frames"] += 1
        self.lost = [t for t in self.lost if timestamp - (t.lost_at or 0.0) <= REACQUIRE_S]
        self._follow_size(rgb)
        if not self._can_track:
            return self._update_by_detection(rgb, timestamp)
        lost_now = False
        alive: list[Track] = []
        for track in self.tracks:
            roi = self.backend.roi_from_landmarks(track.mesh.landmarks)
            mesh = self.backend.mesh(rgb, roi, **self._later)
            self.counts["mesh_runs"] += 1
            if mesh.presence >= self.min_face_score:
                track.seen(mesh, timestamp)
                alive.append(track)
            else:
                track.lost_at = timestamp
                self.lost.append(track)
                lost_now = True
        self.tracks = self._merge(alive)
        due = (
            not self.tracks
            or lost_now
            or self._last_detect is None
            or timestamp - self._last_detect >= self.detect_every - 1e-9
        )
        if due and len(self.tracks) < self.max_faces:
            self._detect(rgb, timestamp)
        return [(t.id, t.mesh) for t in sorted(self.tracks, key=lambda t: t.id)]

    def reset(self) -> None:
        """Forget every track (ids keep counting up; their signatures are kept)."""
        self.tracks, self.lost, self._last_detect, self._last_whole = [], [], None, None

    def identities(self) -> dict[int, int]:
        """Person id of every track seen so far (`fau.video.identity.link_tracks`).

        Tracks whose face signatures match and that were never in view at the same time
        get one id; ids count from 0 in order of appearance.
        """
        return link_tracks(list(self.spans.values()))

    # ------------------------------------------------------------------------------
    def _follow_size(self, rgb: np.ndarray) -> None:
        """Scale the followed and recently lost faces to a new frame size.

        A stream that changes resolution (adaptive HLS/DASH, a camera renegotiating)
        shows the same picture in other pixels: the landmarks of the last frame, in the
        old pixels, gave a tracking crop on the wrong part of the new frame, the face
        was lost and came back under a new id (a new baseline, 2 s without ``_rel``).
        """
        size = (int(rgb.shape[0]), int(rgb.shape[1]))
        old, self._size = self._size, size
        if old is None or old == size:
            return
        sy, sx = size[0] / old[0], size[1] / old[1]
        log.debug("frame size %dx%d -> %dx%d: tracks rescaled", old[1], old[0], size[1], size[0])
        for track in self.tracks + self.lost:
            lm = np.array(track.mesh.landmarks, dtype=np.float32)
            lm[:, 0] *= sx
            lm[:, 1] *= sy
            lm[:, 2] *= sx  # z is on the x pixel scale (FaceMesh)
            track.mesh = replace(track.mesh, landmarks=lm, detector_box=None)
            track.box = box_of(lm)

    def _detect(self, rgb: np.ndarray, timestamp: float) -> None:
        self._last_detect = timestamp
        self.counts["detector_runs"] += 1
        # detect_faces already retries with a black border (a face filling the frame)
        # when the pyramid finds nothing: no second detector pass here.
        detections = self.backend.detect_faces(rgb)
        if not detections and not self.tracks:
            whole = self._whole_frame_face(rgb, timestamp)
            if whole is not None:
                self._start(whole, timestamp)
            return
        for det in detections:
            x, y, w, h = det.box
            dbox = np.array([x, y, x + w, y + h])
            if any(iou(dbox, t.box) >= MATCH_IOU for t in self.tracks):
                continue
            if len(self.tracks) >= self.max_faces:
                # (a detection that is a tracked face again, e.g. part of a large one, is not
                # another face)
                if not same_face(dbox, np.array([t.box for t in self.tracks])).any():
                    self._dropped(timestamp)
                    break
                continue
            mesh = self.backend.mesh(rgb, det.roi(), detector_box=det.box, **self._later)
            self.counts["mesh_runs"] += 1
            if mesh.presence < self.min_face_score:
                continue
            mbox = box_of(mesh.landmarks)
            # IoU > DUPLICATE_IOU, or a mesh inside a tracked face's (a part of a large face)
            if self.tracks and same_face(mbox, np.array([t.box for t in self.tracks])).any():
                continue
            self._start(mesh, timestamp)

    def _dropped(self, timestamp: float) -> None:
        """A face beyond ``max_faces`` was left out at ``timestamp``: warn the first time."""
        if self.dropped_at is None:
            self.dropped_at = timestamp
            log.warning("more than max_faces=%d faces in view at %.2f s; the others are not "
                        "analysed (raise max_faces, --max-faces, to analyse more)",
                        self.max_faces, timestamp)

    def _whole_frame_face(self, rgb: np.ndarray, timestamp: float) -> FaceMesh | None:
        """A face filling the frame that the detector missed (`fau.landmarks.whole_image`,
        as for images), tried at most once per ``detect_every`` seconds while no face is
        followed: one whole-frame pass costs about 18 ms, more than a frame with a face
        (a faceless 640×480 clip: 10.6 → 29.4 ms per frame if tried on every frame, 12.2
        ms as it is; docs/benchmarks.md, "Face crops without cropped=True")."""
        if (self._last_whole is not None
                and timestamp - self._last_whole < self.detect_every - 1e-9):
            return None
        self._last_whole = timestamp
        self.counts["mesh_runs"] += 1
        return whole_image_face(self.backend, rgb, self.min_face_score)

    def _start(self, mesh: FaceMesh, timestamp: float) -> None:
        box = box_of(mesh.landmarks)
        best, best_iou = None, MATCH_IOU
        for old in self.lost:
            o = iou(box, old.box)
            if o >= best_iou:
                best, best_iou = old, o
        if best is not None:
            self.lost.remove(best)
            best.lost_at = None
            best.seen(mesh, timestamp)
            self.tracks.append(best)
            log.debug("track %d re-acquired at %.3f s", best.id, timestamp)
            return
        span = TrackSpan(self._next_id, timestamp, timestamp)
        span.add(mesh.landmarks, timestamp)
        track = Track(self._next_id, mesh, box, timestamp, timestamp, span=span)
        self.spans[track.id] = span
        self._next_id += 1
        self.tracks.append(track)
        log.debug("track %d starts at %.3f s", track.id, timestamp)

    def _merge(self, tracks: list[Track]) -> list[Track]:
        kept: list[Track] = []
        for t in sorted(tracks, key=lambda t: t.id):
            if any(iou(t.box, k.box) >= DUPLICATE_IOU for k in kept):
                log.debug("track %d merged into an older track", t.id)
                continue
            kept.append(t)
        return kept

    def _update_by_detection(self, rgb: np.ndarray, timestamp: float) -> list[tuple[int, FaceMesh]]:
        meshes = [m for m in self.backend.detect(rgb, **self._later)
                  if m.presence >= self.min_face_score]
        if not meshes and not self.tracks:
            whole = self._whole_frame_face(rgb, timestamp)
            meshes = [] if whole is None else [whole]
        if len(meshes) > self.max_faces:
            self._dropped(timestamp)
            meshes = meshes[: self.max_faces]
        self.counts["detector_runs"] += 1
        boxes = [box_of(m.landmarks) for m in meshes]
        pairs = sorted(
            ((iou(b, t.box), i, j) for i, b in enumerate(boxes) for j, t in enumerate(self.tracks)),
            reverse=True,
        )
        used_m, used_t, alive = set(), set(), []
        for o, i, j in pairs:
            if o < MATCH_IOU or i in used_m or j in used_t:
                continue
            used_m.add(i)
            used_t.add(j)
            t = self.tracks[j]
            t.seen(meshes[i], timestamp)
            alive.append(t)
        for j, t in enumerate(self.tracks):
            if j not in used_t:
                t.lost_at = timestamp
                self.lost.append(t)
        self.tracks = alive
        for i, m in enumerate(meshes):
            if i not in used_m:
                self._start(m, timestamp)
        return [(t.id, t.mesh) for t in sorted(self.tracks, key=lambda t: t.id)]
