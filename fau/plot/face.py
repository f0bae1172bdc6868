"""One face's AU intensities drawn on its landmark mesh.

The 478-point mesh of a `fau.Detector.detect_image(..., landmarks=True)` row (columns
``x_i``, ``y_i``; pixels) is drawn with MediaPipe's tessellation (``FaceLandmarksConnections``
of the ``mediapipe`` package), over the image when it is given. Each AU gets a label —
upper-face AUs in a column on the left, lower-face AUs on the right — coloured on a
diverging scale by its value, with a leader line to the landmarks it is measured on
(``fau.au.AU_LANDMARKS``; for a bilateral measure, to the side nearer its label). Labels are
spaced evenly in their column, so they never overlap.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from ..au import EYE_OPENING_UNIT, IOD_UNIT
from .style import DIVERGING, au_names, check_width, new_figure
from .units import au_unit, au_unit_short

__all__ = ["face_aus", "UPPER_FACE", "COLOR_RANGE"]

#: AUs labelled in the left column (and any other whose landmarks lie above the nose tip;
#: the rest go right).
UPPER_FACE = ("AU01", "AU02", "AU04", "AU05", "AU06", "AU07", "AU09", "AU45")
#: Value at which the colour scale saturates, per unit (IOD: about a strong posed smile's
#: AU12 change, +0.12 IOD happy vs neutral on FER-2013, docs/action_units.md; AU45: closed).
COLOR_RANGE = {IOD_UNIT: 0.15, EYE_OPENING_UNIT: 1.0}
#: MediaPipe's nose-tip landmark: AUs without a fixed column go left when above it.
_NOSE_TIP = 1
#: Label column width and figure margins (px).
_COLUMN_PX, _MARGIN_PX = 150, 8
#: Narrowest figure (px): both label columns and their margins plus 100 px of face.
MIN_WIDTH_PX = 2 * (_COLUMN_PX + _MARGIN_PX) + 100


def _row(face: pd.Series | pd.DataFrame) -> pd.Series:
    from ..errors import FauError

    if not isinstance(face, (pd.Series, pd.DataFrame)):
        raise FauError(f"face_aus draws one face: a row of detect_image(..., landmarks=True) "
                       f"(a Series or a one-row DataFrame), got {type(face).__name__}")
    if isinstance(face, pd.DataFrame):
        if len(face) != 1:
            raise FauError(f"face_aus draws one face: got a table of {len(face)} rows "
                           "(pick one, e.g. faces.iloc[0])")
        face = face.iloc[0]
    if "x_0" not in face.index:
        raise FauError("face_aus needs the landmark columns: use "
                       "detect_image(..., landmarks=True)")
    return face


def _points(face: pd.Series) -> np.ndarray:
    n = sum(1 for c in face.index if str(c).startswith("x_"))
    return np.stack([face[[f"x_{i}" for i in range(n)]].to_numpy(dtype=float),
                     face[[f"y_{i}" for i in range(n)]].to_numpy(dtype=float)], axis=1)


def _mesh(ax, pts: np.ndarray) -> None:
    from matplotlib.collections import LineCollection
    from mediapipe.tasks.python.vision.face_landmarker import FaceLandmarksConnections

    edges = np.array([(c.start, c.end) for c in FaceLandmarksConnections.FACE_LANDMARKS_TESSELATION
                      if c.start < len(pts) and c.end < len(pts)])
    ax.add_collection(LineCollection(pts[edges], colors="#9aa7b8", linewidths=0.35, alpha=0.8))


def _labels(ax, names: list[str], upper: set, values: dict, anchors: dict, box) -> None:
    """Two columns of coloured labels with leader lines to their anchors (data coords):
    the AUs in ``upper`` on the left, the others on the right."""
    from matplotlib import colormaps

    cmap = colormaps[DIVERGING]
    x0, x1, y0, y1 = box
    for side, col in (("left", [a for a in names if a in upper]),
                      ("right", [a for a in names if a not in upper])):
        col = sorted(col, key=lambda a: anchors[a][side][1])
        ys = np.linspace(y0 + 0.06 * (y1 - y0), y1 - 0.06 * (y1 - y0), max(len(col), 1))
        xl = x0 - 0.04 * (x1 - x0) if side == "left" else x1 + 0.04 * (x1 - x0)
        for a, y in zip(col, ys):
            v, unit = values[a], au_unit(a)
            vmax = COLOR_RANGE.get(unit, 0.15)
            color = cmap(Normalize(-vmax, vmax, clip=True)(v)) if np.isfinite(v) else "#dddddd"
            ax_, ay = anchors[a][side]
            ax.plot([xl, ax_], [y, ay], color="#555555", linewidth=0.6, alpha=0.8, zorder=3)
            ax.plot([ax_], [ay], "o", markersize=3.5, color=color, markeredgecolor="#333333",
                    markeredgewidth=0.5, zorder=4)
            txt = f"{a} {v:+.3f} {au_unit_short(a)}" if np.isfinite(v) else f"{a} n/a"
            dark = np.isfinite(v) and abs(v) > 0.6 * vmax
            ax.text(xl, y, txt, ha="right" if side == "left" else "left", va="center",
                    fontsize=8.5, zorder=5, color="white" if dark else "#111111",
                    bbox=dict(boxstyle="round,pad=0.25", facecolor=color, edgecolor="#777777",
                              linewidth=0.5))


def face_aus(
    face: pd.Series | pd.DataFrame,
    image: np.ndarray | str | os.PathLike | bytes | None = None,
    *,
    aus: Sequence[str] | None = None,
    relative: bool | None = None,
    width_px: int = 640,
) -> Figure:
    """A face's landmark mesh with its AU values as coloured, leader-lined labels.

    Parameters
    ----------
    face : Series or one-row DataFrame
        A row of ``detect_image(..., landmarks=True)`` (or of ``detect_video`` with
        ``landmarks=True``).
    image : ndarray, path, bytes or None
        The image the row came from (RGB array, or a file or its bytes read with
        `fau.load_image`),
        drawn under the mesh; None draws the mesh alone.
    aus : str, sequence of str or None
        AUs to label (default: the 22 AUs of `fau.video.temporal.BILATERAL_AUS`).
    relative : bool or None
        Label ``AUxx_rel`` (change from the person's baseline, video rows) instead of the
        raw AU (0 = MediaPipe's canonical neutral face). Default: when the row has them.
    width_px : int
        Figure width (px); the height follows the face's aspect.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    FauError
        Not one row with landmarks, ``relative=True`` without ``AUxx_rel`` columns, or
        ``width_px`` below `MIN_WIDTH_PX`.
    """
    from ..au import AU_LANDMARKS
    from ..video.temporal import BILATERAL_AUS

    from ..errors import FauError

    width_px = check_width(width_px, MIN_WIDTH_PX, "face_aus")
    row = _row(face)
    pts = _points(row)
    aus = au_names(aus)
    names = [a for a in (aus or BILATERAL_AUS) if a in row.index and a in AU_LANDMARKS]
    if relative is None:
        relative = all(f"{a}_rel" in row.index for a in names)
    missing = [a for a in names if f"{a}_rel" not in row.index] if relative else []
    if missing:
        raise FauError(f"face_aus(relative=True) needs the baseline-relative columns "
                       f"({', '.join(f'{a}_rel' for a in missing[:3])}…): a detect_video row "
                       "after add_temporal; an image row has none (relative=False)")
    values = {a: float(row[f"{a}_rel" if relative else a]) for a in names}
    lo, hi = pts[:468].min(axis=0), pts[:468].max(axis=0)
    pad = 0.08 * (hi - lo)
    x0, y0 = lo - pad
    x1, y1 = hi + pad
    face_w = width_px - 2 * (_COLUMN_PX + _MARGIN_PX)
    height = face_w * (y1 - y0) / max(x1 - x0, 1e-9) + 40
    fig = new_figure(width_px, height)
    ax = fig.add_axes((0, 0, 1, 1 - 30 / height))
    if image is not None:
        from ..io import load_image

        # a path (str or PathLike) or encoded bytes: fau's image reader; an array as it is
        img = np.asarray(image) if isinstance(image, np.ndarray) else load_image(image)
        ax.imshow(img, cmap="gray" if img.ndim == 2 else None, interpolation="bilinear")
    _mesh(ax, pts)
    anchors = {}
    for a in names:
        right, left = (pts[list(s)].mean(axis=0) for s in AU_LANDMARKS[a])
        near_left = right if right[0] <= left[0] else left  # image-left point
        near_right = left if right[0] <= left[0] else right
        anchors[a] = {"left": near_left, "right": near_right}
    nose_y = pts[_NOSE_TIP, 1]
    upper = {a for a in names if a in UPPER_FACE or anchors[a]["left"][1] < nose_y}
    _labels(ax, names, upper, values, anchors, (x0, x1, y0, y1))
    col = (x1 - x0) * (_COLUMN_PX + _MARGIN_PX) / face_w
    ax.set_xlim(x0 - col, x1 + col)
    ax.set_ylim(y1, y0)  # image rows grow downwards (the figure's height keeps pixels square)
    ax.axis("off")
    what = "change from the person's neutral baseline" if relative else \
        "AU intensity (0 = MediaPipe's canonical neutral face)"
    fig.text(0.5, 1 - 6 / height, f"Action units: {what}", ha="center", va="top", fontsize=9.5,
             color="#222222")
    eyes = [a for a in names if au_unit(a) != au_unit("AU01")]
    fig.text(0.5, 1 - 19 / height, "IOD = fraction of the inter-ocular distance"
             + (f"; {', '.join(eyes)} in {au_unit(eyes[0])} (1 = closed)" if eyes else ""),
             ha="center", va="top", fontsize=7.5, color="#666666")
    return fig
