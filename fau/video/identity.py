"""One track per person: a geometric signature of the face, and linking tracks by it.

A face that leaves the picture (a cut-away, someone walking out) and comes back starts a
new track. fau ships no face-recognition model (none with its weights is on PyPI, see
``../shared/NOTES.md``), so it re-identifies faces by the **shape** of the face as the
landmark model sees it:

Signature
---------
The mesh with head pose and size removed (`fau.au.align`: a similarity fit of the rigid
points to MediaPipe's canonical face, in its centimetres) keeps each person's facial
proportions: where the eyes, nose, temples and face outline sit relative to each other.
A face's signature is the (x, y) position of `SIGNATURE_POINTS` — the rigid points used
for the fit (forehead, nose, eye corners, temples) and the 36 points of the face oval —
in that frame, the **median** over sample frames in which the head is within
`MAX_POSE_DEG` of frontal. Points that expressions move (brows, lids, lips, cheeks) are
left out; the lower face oval moves with the jaw, which the median over many frames
averages out. Two signatures differ by their Procrustes distance (`signature_distance`:
what remains after the best similarity fit of one to the other, as the RMS distance of
the points in cm of the canonical face, whose IOD is 6.4 cm).

*Measured* (``benchmarks/identity_signature.py``). London set, 102 people, one neutral
and one smiling photo each (single photos): the same person across expressions median
0.104 cm (90th percentile 0.153), different people median 0.290 cm (10th percentile
0.179); ROC AUC 0.981. At `MAX_SIGNATURE_CM` 4.9% of same-person pairs are split and
7.9% of different-people pairs would be joined if nothing else competed; rank-1
identification among the 102 is 78% (a signature is no face-recognition model). The
CREMA-D actor across his six acted clips (median signature per clip): median 0.154 cm,
at most 0.223 cm (5 of 15 pairs above the threshold: strong acted expressions such as a
2-s grin change the shape the landmark model reports).

Linking
-------
`link_tracks` goes through the tracks in order of their first frame and joins each to
the earlier person (a group of tracks) whose signature is nearest, if that is below
`MAX_SIGNATURE_CM` and the person was **not visible at the same time** (a person is never
two faces in one frame, so two people side by side stay apart). Otherwise the track is a
new person. Persons get ids 0, 1, ... in order of appearance. Faces whose signature
could not be measured (never near frontal) are never joined. A tracker keeps a few
samples per track (every `DENSE_EVERY_S` over its first `DENSE_S`, then every
`SAMPLE_EVERY_S`; at most `MAX_SAMPLES`), so the cost is one small alignment (~0.2 ms)
every 0.1-0.5 s per face.

Limits: the signature is face *shape*, not appearance. Look-alike proportions (relatives,
or the same face filmed twice) can be joined; strong expressions held for a whole short
track, heavy occlusion or extreme poses distort it. Linking needs the whole video, so
live analysis keeps the tracker's ids.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Sequence

import numpy as np

from ..au.geometry import RIGID_POINTS, align, head_pose
from ..landmarks.canonical import canonical_face

__all__ = [
    "FACE_OVAL",
    "SIGNATURE_POINTS",
    "MAX_POSE_DEG",
    "MAX_SIGNATURE_CM",
    "SAMPLE_EVERY_S",
    "DENSE_EVERY_S",
    "DENSE_S",
    "MAX_SAMPLES",
    "TrackSpan",
    "signature_sample",
    "signature",
    "signature_distance",
    "link_tracks",
]

log = logging.getLogger(__name__)

#: MediaPipe's face oval (the ``FACEMESH_FACE_OVAL`` contour), 36 points clockwise from
#: the top of the forehead (10).
FACE_OVAL: tuple[int, ...] = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
    377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)
#: Landmarks of the signature: the alignment's rigid points and the face oval.
SIGNATURE_POINTS: np.ndarray = np.array(sorted(set(RIGID_POINTS.tolist()) | set(FACE_OVAL)))
#: Frames whose head pitch or yaw (degrees) exceeds this give no signature sample (the
#: mesh's shape is least reliable for turned heads).
MAX_POSE_DEG = 25.0
#: Largest signature distance (cm, canonical face) at which a track is the same person:
#: between the London set's same-person 90th percentile (0.153) and different-people
#: 10th percentile (0.179) for single photos (module docs); chosen, not fitted. A false
#: join (two people, one baseline) is worse than a split, so it leans low.
MAX_SIGNATURE_CM = 0.17
#: Seconds of track time between signature samples: densely over a track's first
#: `DENSE_S` seconds (a short track still gets a stable median; single frames of one
#: person differ by up to 0.4 cm while talking or smiling, medians of 20 by ~0.1 cm) ...
DENSE_EVERY_S = 0.1
DENSE_S = 2.0
#: ... then every `SAMPLE_EVERY_S`.
SAMPLE_EVERY_S = 0.5
#: Most signature samples kept per track (the first ones; 60 s at `SAMPLE_EVERY_S`).
MAX_SAMPLES = 120


def signature_sample(landmarks: np.ndarray) -> np.ndarray | None:
    """One frame's signature sample: (k, 2) aligned x, y of `SIGNATURE_POINTS` (cm).

    Parameters
    ----------
    landmarks : ndarray (478, 3)
        Image-pixel landmarks of one face.

    Returns
    -------
    ndarray (k, 2) or None
        None when the head is turned or tilted beyond `MAX_POSE_DEG`, or when a
        landmark is not finite (no pose or shape can be measured from it).
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    if not np.isfinite(lm).all():
        return None
    al = align(lm)
    pitch, yaw, _ = head_pose(al.rotation)
    if abs(pitch) > MAX_POSE_DEG or abs(yaw) > MAX_POSE_DEG:
        return None
    return al.points[SIGNATURE_POINTS, :2].copy()


def signature(samples: Sequence[np.ndarray]) -> np.ndarray | None:
    """A face's signature: the per-coordinate median of its samples (None if none)."""
    if not len(samples):
        return None
    return np.median(np.stack(samples), axis=0)


@lru_cache(maxsize=1)
def _canonical_size() -> float:
    """RMS distance (cm) of the canonical face's signature points from their centroid."""
    c = canonical_face().vertices[SIGNATURE_POINTS, :2].astype(np.float64)
    return float(np.sqrt(((c - c.mean(axis=0)) ** 2).sum(axis=1).mean()))


def signature_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Procrustes distance between two signatures, in cm of the canonical face.

    ``scipy.spatial.procrustes`` removes what is left of position, scale and rotation
    between the two point sets (both centred and scaled to unit size) and gives the
    disparity (sum of squared point distances); its square root per point, times the
    canonical signature's size, is the RMS point distance in cm.

    Parameters
    ----------
    a, b : ndarray
        Two signatures (`signature`), the same points each.

    Returns
    -------
    float
        The RMS point distance, cm of the canonical face.
    """
    from scipy.spatial import procrustes

    _, _, disparity = procrustes(np.asarray(a, np.float64), np.asarray(b, np.float64))
    return float(np.sqrt(disparity) * _canonical_size())


@dataclass
class TrackSpan:
    """What linking needs of one track: its id, when it was seen, its samples."""

    id: int
    first_seen: float
    last_seen: float
    samples: list[np.ndarray] = field(default_factory=list)
    last_sample: float | None = None

    def add(self, landmarks: np.ndarray, t: float) -> None:
        """Take a signature sample from ``landmarks`` at ``t`` (s) if one is due."""
        if len(self.samples) >= MAX_SAMPLES:
            return
        every = DENSE_EVERY_S if t - self.first_seen < DENSE_S else SAMPLE_EVERY_S
        if self.last_sample is not None and t - self.last_sample < every - 1e-9:
            return
        s = signature_sample(landmarks)
        if s is not None:
            self.samples.append(s)
            self.last_sample = t


@dataclass
class _Person:
    tracks: list[TrackSpan]

    def overlaps(self, span: TrackSpan) -> bool:
        return any(t.first_seen <= span.last_seen and span.first_seen <= t.last_seen
                   for t in self.tracks)

    def signature(self) -> np.ndarray | None:
        return signature([s for t in self.tracks for s in t.samples])


def link_tracks(spans: Sequence[TrackSpan]) -> dict[int, int]:
    """Person id of every track (see module docs for the rule).

    Parameters
    ----------
    spans : sequence of TrackSpan
        Every track of a video.

    Returns
    -------
    dict
        Track id → person id (0, 1, ... in order of first appearance).
    """
    persons: list[_Person] = []
    for span in sorted(spans, key=lambda s: (s.first_seen, s.id)):
        sig = signature(span.samples)
        best, best_d = None, MAX_SIGNATURE_CM
        if sig is not None:
            for p in persons:
                ps = p.signature()
                if ps is None or p.overlaps(span):
                    continue
                d = signature_distance(sig, ps)
                if d <= best_d:
                    best, best_d = p, d
        if best is None:
            persons.append(_Person([span]))
        else:
            log.info("track %d (from %.2f s) is the person of track %d (signature distance "
                     "%.3f cm)", span.id, span.first_seen, best.tracks[0].id, best_d)
            best.tracks.append(span)
    return {t.id: k for k, p in enumerate(persons) for t in p.tracks}
