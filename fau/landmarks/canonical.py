"""MediaPipe's canonical face mesh, read from the bundled ``face_landmarker.task``.

The bundle holds ``geometry_pipeline_metadata_landmarks.binarypb``, a serialised
``GeometryPipelineMetadata`` protocol buffer (MediaPipe ``face_geometry`` module) with

* ``canonical_mesh`` (field 1): a ``Mesh3d`` whose ``vertex_buffer`` (field 3) holds
  468 vertices × (x, y, z, u, v) of the canonical neutral face, in centimetres,
  x towards the subject's left, y up, z towards the camera (nose tip z ≈ 7.5 cm);
* ``procrustes_landmark_basis`` (field 2): 33 weighted landmark references
  (landmark id, weight) of the rigid points MediaPipe itself uses to fit head pose.

The file is decoded with a 30-line reader of the protobuf wire format, so fau needs
no generated protobuf classes.
"""

from __future__ import annotations

import io
import struct
import zipfile
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..resources import face_landmarker_bytes

__all__ = ["CanonicalFace", "canonical_face"]

_METADATA_NAME = "geometry_pipeline_metadata_landmarks.binarypb"


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[i]
        i += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, i


def _fields(buf: bytes) -> list[tuple[int, object]]:
    """Decode one protobuf message into (field number, value) pairs (no nesting)."""
    out: list[tuple[int, object]] = []
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        field, wire = key >> 3, key & 7
        value: object
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 5:
            value = struct.unpack_from("<f", buf, i)[0]
            i += 4
        elif wire == 1:
            value = struct.unpack_from("<d", buf, i)[0]
            i += 8
        elif wire == 2:
            n, i = _varint(buf, i)
            value = buf[i : i + n]
            i += n
        else:  # groups (3, 4) are not used by this message
            raise ValueError(f"unsupported protobuf wire type {wire}")
        out.append((field, value))
    return out


@dataclass(frozen=True)
class CanonicalFace:
    """The canonical face and the rigid landmark basis.

    Attributes
    ----------
    vertices : ndarray, shape (468, 3)
        Canonical neutral face, centimetres; x = subject's left, y = up, z = towards camera.
    basis_ids : ndarray, shape (33,)
        Landmark indices of MediaPipe's Procrustes basis (rigid points: forehead,
        nose bridge, eye corners, cheek bones).
    basis_weights : ndarray, shape (33,)
        Their weights (MediaPipe's own).
    """

    vertices: np.ndarray
    basis_ids: np.ndarray
    basis_weights: np.ndarray


@lru_cache(maxsize=1)
def canonical_face() -> CanonicalFace:
    """Load the canonical face from the bundled task file (cached, read-only arrays)."""
    with zipfile.ZipFile(io.BytesIO(face_landmarker_bytes())) as bundle:
        meta = bundle.read(_METADATA_NAME)
    top = _fields(meta)
    mesh = next(v for f, v in top if f == 1)
    assert isinstance(mesh, bytes)
    floats = [v for f, v in _fields(mesh) if f == 3]
    vertices = np.asarray(floats, dtype=np.float64).reshape(-1, 5)[:, :3]
    ids, weights = [], []
    for f, v in top:
        if f == 2:
            assert isinstance(v, bytes)
            ref = dict(_fields(v))
            ids.append(int(ref.get(1, 0)))  # type: ignore[arg-type]
            weights.append(float(ref.get(2, 0.0)))  # type: ignore[arg-type]
    face = CanonicalFace(
        vertices=vertices,
        basis_ids=np.asarray(ids, dtype=np.int64),
        basis_weights=np.asarray(weights, dtype=np.float64),
    )
    for arr in (face.vertices, face.basis_ids, face.basis_weights):
        arr.setflags(write=False)
    return face
