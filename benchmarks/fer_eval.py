"""Shared FER-2013 / FER+ loading and evaluation for fau's benchmarks.

Every training and benchmark script in ``benchmarks/`` uses this module so that
all numbers in ``docs/benchmarks.md`` come from the same data split, the same
label rule and the same metrics.

Protocols
---------
``"fer2013"``
    The original FER-2013 labels, 7 classes (fau indices 0..6). Train on
    Training, select on PublicTest, report PrivateTest (3,589 images).
``"ferplus"``
    FER+ crowd labels, 8 classes (fau order, contempt included), reduced to one
    label per image with the FER+ reference "majority" rule
    (:func:`ferplus_majority`); images whose label is unknown or not-a-face are
    excluded. PrivateTest keeps 3,153 images.

Class order
-----------
fau's order is :data:`EXPRESSIONS`; FER-2013 label ``i`` is fau index ``i`` for
``i < 7``. FER+ vote columns are reordered to fau order by :func:`load_fer`.

Unscored rows
-------------
A model that cannot score an image (for example when its face detector finds no
face) returns a row of NaN in ``proba``. :func:`evaluate` counts such rows as
errors in accuracy, recall and F1 and reports their number as ``n_unscored``.

Examples
--------
>>> from benchmarks.fer_eval import load_fer, evaluate, EXPRESSIONS  # doctest: +SKIP
>>> d = load_fer()                                                  # doctest: +SKIP
>>> test = d["split"] == 2                                           # doctest: +SKIP
>>> m = evaluate(d["labels"][test], proba, EXPRESSIONS[:7])          # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

__all__ = [
    "EXPRESSIONS",
    "FERPLUS_FILE_COLUMNS",
    "FERPLUS_TO_FAU",
    "SPLITS",
    "REPO_ROOT",
    "load_fer",
    "ferplus_majority",
    "ferplus_soft_targets",
    "protocol_data",
    "evaluate",
    "expected_calibration_error",
    "pad_proba",
    "reliability_diagram",
    "write_result",
]

#: fau's expression class order (index == class id everywhere in fau).
EXPRESSIONS: tuple[str, ...] = (
    "anger",
    "disgust",
    "fear",
    "happiness",
    "sadness",
    "surprise",
    "neutral",
    "contempt",
)

#: Column order of the FER+ vote table (``fer2013new.csv``).
FERPLUS_FILE_COLUMNS: tuple[str, ...] = (
    "neutral",
    "happiness",
    "surprise",
    "sadness",
    "anger",
    "disgust",
    "fear",
    "contempt",
    "unknown",
    "NF",
)

#: ``votes_fau = votes_file[:, FERPLUS_TO_FAU]`` reorders the 8 emotion columns to fau order.
FERPLUS_TO_FAU: np.ndarray = np.array(
    [FERPLUS_FILE_COLUMNS.index(name) for name in EXPRESSIONS], dtype=np.intp
)

#: FER-2013 ``Usage`` codes as stored in the ``split`` array.
SPLITS: dict[str, int] = {"Training": 0, "PublicTest": 1, "PrivateTest": 2}

#: Repository root (the parent of ``benchmarks/``).
REPO_ROOT: Path = Path(__file__).resolve().parent.parent

_DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "fer2013.npz"
_EXPECTED_PRIVATE_FERPLUS = 3153


# --------------------------------------------------------------------------- data
def load_fer(path: str | os.PathLike[str] | None = None) -> dict[str, np.ndarray]:
    """Load FER-2013 images with FER-2013 and FER+ labels.

    Parameters
    ----------
    path : str or path-like, optional
        The ``fer2013.npz`` file. Default: the environment variable
        ``FAU_FER2013`` if set, else ``../shared/data/fer2013.npz`` relative to
        the repository root.

    Returns
    -------
    dict
        ``images`` : uint8 (N, 48, 48) grayscale faces.
        ``labels`` : int64 (N,) FER-2013 labels as fau indices (0..6).
        ``split`` : int64 (N,) 0 Training, 1 PublicTest, 2 PrivateTest.
        ``votes`` : float32 (N, 8) FER+ emotion votes in fau order (:data:`EXPRESSIONS`).
        ``unknown`` : float32 (N,) FER+ "unknown" votes.
        ``nf`` : float32 (N,) FER+ "not a face" votes.
        ``votes_raw`` : uint8 (N, 10) FER+ votes in file order (:data:`FERPLUS_FILE_COLUMNS`).
        ``ferplus_labels`` : int64 (N,) :func:`ferplus_majority` labels, -1 where excluded.

    Raises
    ------
    FileNotFoundError
        If the file does not exist (the message says where it was looked for).
    """
    if path is None:
        path = os.environ.get("FAU_FER2013") or _DEFAULT_DATA
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"FER-2013 data not found at {path}. Set FAU_FER2013=/path/to/fer2013.npz "
            f"or place it at {_DEFAULT_DATA} (see ../shared/data/README.md)."
        )
    with np.load(path) as z:
        images = np.asarray(z["images"], dtype=np.uint8)
        labels = np.asarray(z["label"], dtype=np.int64)
        split = np.asarray(z["split"], dtype=np.int64)
        raw = np.asarray(z["ferplus_votes"], dtype=np.uint8)
    return {
        "images": images,
        "labels": labels,
        "split": split,
        "votes": raw[:, FERPLUS_TO_FAU].astype(np.float32),
        "unknown": raw[:, 8].astype(np.float32),
        "nf": raw[:, 9].astype(np.float32),
        "votes_raw": raw,
        "ferplus_labels": ferplus_majority(raw),
    }


def ferplus_majority(votes10: np.ndarray) -> np.ndarray:
    """FER+ reference "majority" labels (Barsoum et al. 2016, ``FERPlus`` repo).

    For each image: votes equal to 1 are outliers and set to 0; the label is the
    category holding strictly more than half of the remaining votes (over all 10
    columns, unknown and NF included), else "unknown". Images whose label is
    unknown or NF are excluded.

    Parameters
    ----------
    votes10 : array_like, shape (N, 10)
        FER+ votes in file order (:data:`FERPLUS_FILE_COLUMNS`).

    Returns
    -------
    numpy.ndarray
        int64 (N,) fau class indices (0..7), -1 for excluded images.
    """
    v = np.asarray(votes10, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != 10:
        raise ValueError(f"votes10 must have shape (N, 10), got {v.shape}")
    v = np.where(v <= 1.0, 0.0, v)  # single votes are outliers
    total = v.sum(axis=1)
    peak = v.max(axis=1)
    arg = v.argmax(axis=1)
    has_majority = (peak > 0.5 * total) & (total > 0)
    out = np.full(len(v), -1, dtype=np.int64)
    emotion = has_majority & (arg < 8)  # columns 8, 9 are unknown, NF
    file_to_fau = np.empty(8, dtype=np.int64)
    file_to_fau[FERPLUS_TO_FAU] = np.arange(8)
    out[emotion] = file_to_fau[arg[emotion]]
    return out


def ferplus_soft_targets(
    votes: np.ndarray, *, drop_single_votes: bool = True, file_order: bool = False
) -> np.ndarray:
    """FER+ vote distribution over the 8 emotions, for training with soft labels.

    Parameters
    ----------
    votes : array_like, shape (N, 8) or (N, 10)
        Votes in fau order (``load_fer()["votes"]``) or, with ``file_order=True``,
        the 10 FER+ file columns (unknown and NF are ignored).
    drop_single_votes : bool, default True
        Set votes equal to 1 to 0 first, as FER+'s "probability" mode does.
    file_order : bool, default False
        ``votes`` are in FER+ file order and are reordered to fau order.

    Returns
    -------
    numpy.ndarray
        float32 (N, 8) rows summing to 1, in fau order. Rows with no emotion vote
        left are all zero (exclude them: ``out.sum(1) > 0``).
    """
    v = np.asarray(votes, dtype=np.float64)
    if file_order:
        if v.ndim != 2 or v.shape[1] != 10:
            raise ValueError(f"file-order votes must have shape (N, 10), got {v.shape}")
        v = v[:, FERPLUS_TO_FAU]
    if v.ndim != 2 or v.shape[1] != 8:
        raise ValueError(f"votes must have shape (N, 8), got {v.shape}")
    if drop_single_votes:
        v = np.where(v <= 1.0, 0.0, v)
    s = v.sum(axis=1, keepdims=True)
    out = np.divide(v, s, out=np.zeros_like(v), where=s > 0)
    return out.astype(np.float32)


def protocol_data(
    data: Mapping[str, np.ndarray], protocol: str, split: int | str
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Rows, labels and class names of one split under one protocol.

    Parameters
    ----------
    data : mapping
        Output of :func:`load_fer`.
    protocol : {"fer2013", "ferplus"}
        ``"fer2013"``: all rows of the split, FER-2013 labels, 7 classes.
        ``"ferplus"``: rows with a FER+ majority label, 8 classes.
    split : int or str
        0/1/2 or "Training"/"PublicTest"/"PrivateTest".

    Returns
    -------
    idx : numpy.ndarray
        Row indices into ``data`` arrays.
    y : numpy.ndarray
        Labels of those rows (fau indices).
    class_names : tuple of str
        ``EXPRESSIONS[:7]`` or ``EXPRESSIONS``.
    """
    s = SPLITS[split] if isinstance(split, str) else int(split)
    in_split = data["split"] == s
    if protocol == "fer2013":
        idx = np.flatnonzero(in_split)
        return idx, data["labels"][idx], EXPRESSIONS[:7]
    if protocol == "ferplus":
        idx = np.flatnonzero(in_split & (data["ferplus_labels"] >= 0))
        if s == 2 and len(idx) != _EXPECTED_PRIVATE_FERPLUS:
            raise AssertionError(
                f"FER+ majority PrivateTest has {len(idx)} rows, expected {_EXPECTED_PRIVATE_FERPLUS}"
            )
        return idx, data["ferplus_labels"][idx], EXPRESSIONS
    raise ValueError(f"unknown protocol {protocol!r} (use 'fer2013' or 'ferplus')")


# --------------------------------------------------------------------------- metrics
def pad_proba(proba: np.ndarray, n_classes: int) -> np.ndarray:
    """Pad class-probability columns with zeros up to ``n_classes``.

    A 7-class model evaluated under the 8-class FER+ protocol never predicts
    contempt: its probabilities get a zero contempt column.

    Parameters
    ----------
    proba : array_like, shape (N, K)
        K <= ``n_classes``; columns are the first K fau classes.
    n_classes : int
        Target number of columns.

    Returns
    -------
    numpy.ndarray
        float64 (N, n_classes). NaN rows stay NaN in every column.
    """
    p = np.asarray(proba, dtype=np.float64)
    k = p.shape[1]
    if k > n_classes:
        raise ValueError(f"proba has {k} columns, more than {n_classes}")
    if k == n_classes:
        return p
    pad = np.zeros((len(p), n_classes - k))
    pad[np.isnan(p).any(axis=1)] = np.nan
    return np.hstack([p, pad])


def expected_calibration_error(
    correct: np.ndarray, confidence: np.ndarray, n_bins: int = 15
) -> tuple[float, dict[str, list[float]]]:
    """Top-label expected calibration error with equal-width bins.

    ``ECE = sum_b |B_b| / n * |acc(B_b) - conf(B_b)|`` over bins ``(i/n_bins, (i+1)/n_bins]``
    (the first bin includes 0).

    Parameters
    ----------
    correct : array_like of bool, shape (N,)
        Whether the top label is right.
    confidence : array_like of float, shape (N,)
        Probability of the top label.
    n_bins : int, default 15

    Returns
    -------
    ece : float
    bins : dict
        ``lower``, ``upper``, ``count``, ``accuracy``, ``confidence`` per bin
        (accuracy/confidence NaN for empty bins).
    """
    correct = np.asarray(correct, dtype=np.float64)
    conf = np.asarray(confidence, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, n_bins - 1)
    n = len(conf)
    ece = 0.0
    count, acc, mean_conf = [], [], []
    for b in range(n_bins):
        m = which == b
        c = int(m.sum())
        count.append(c)
        if c:
            a, f = float(correct[m].mean()), float(conf[m].mean())
            ece += c / n * abs(a - f)
        else:
            a = f = float("nan")
        acc.append(a)
        mean_conf.append(f)
    bins = {
        "lower": edges[:-1].tolist(),
        "upper": edges[1:].tolist(),
        "count": count,
        "accuracy": acc,
        "confidence": mean_conf,
    }
    return (float(ece) if n else float("nan")), bins


def evaluate(
    y_true: np.ndarray,
    proba: np.ndarray,
    class_names: Sequence[str],
    *,
    n_bins: int = 15,
) -> dict[str, Any]:
    """Classification metrics for one model on one protocol.

    Parameters
    ----------
    y_true : array_like of int, shape (N,)
        True labels, 0..len(class_names)-1.
    proba : array_like of float, shape (N, K)
        Class probabilities (K <= len(class_names); missing trailing columns are
        zero, see :func:`pad_proba`). A row containing NaN means "not scored"
        (e.g. no face found) and counts as an error.
    class_names : sequence of str
        Names of the classes in column order.
    n_bins : int, default 15
        Equal-width bins for the top-label ECE.

    Returns
    -------
    dict
        ``n``, ``n_unscored``, ``accuracy``, ``macro_f1``, ``ece`` (top-label,
        over scored rows only; unscored rows have no confidence), ``ece_bins``,
        ``per_class`` (name -> precision/recall/f1/support), ``confusion``
        (rows true, columns predicted, scored rows only), ``unscored_per_class``,
        ``class_names``, ``mean_confidence``.

    Notes
    -----
    Unscored rows lower accuracy and the recall (hence F1) of their true class;
    they add no false positive to any class.
    """
    y = np.asarray(y_true, dtype=np.int64)
    k = len(class_names)
    p = pad_proba(proba, k)
    if p.shape[0] != y.shape[0]:
        raise ValueError(f"y_true has {len(y)} rows but proba has {len(p)}")
    if len(y) and (y.min() < 0 or y.max() >= k):
        raise ValueError("y_true holds labels outside 0..len(class_names)-1")
    scored = ~np.isnan(p).any(axis=1)
    pred = np.full(len(y), -1, dtype=np.int64)
    conf = np.full(len(y), np.nan)
    if scored.any():
        pred[scored] = p[scored].argmax(axis=1)
        conf[scored] = p[scored].max(axis=1)
    correct = pred == y

    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (y[scored], pred[scored]), 1)
    support = np.bincount(y, minlength=k)
    tp = np.diag(confusion).astype(np.float64)
    pred_count = confusion.sum(axis=0).astype(np.float64)
    precision = np.divide(tp, pred_count, out=np.zeros(k), where=pred_count > 0)
    recall = np.divide(tp, support, out=np.zeros(k), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(k), where=denom > 0)
    present = support > 0  # macro-F1 over classes present in y_true

    ece, bins = expected_calibration_error(correct[scored], conf[scored], n_bins)
    per_class = {
        name: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(class_names)
    }
    return {
        "n": int(len(y)),
        "n_unscored": int((~scored).sum()),
        "accuracy": float(correct.mean()) if len(y) else float("nan"),
        "macro_f1": float(f1[present].mean()) if present.any() else float("nan"),
        "ece": ece,
        "ece_n_bins": n_bins,
        "mean_confidence": float(np.nanmean(conf)) if scored.any() else float("nan"),
        "per_class": per_class,
        "confusion": confusion.tolist(),
        "unscored_per_class": np.bincount(y[~scored], minlength=k).tolist(),
        "class_names": list(class_names),
        "ece_bins": bins,
    }


def reliability_diagram(
    y_true: np.ndarray,
    proba: np.ndarray,
    path: str | os.PathLike[str],
    title: str = "",
    *,
    n_bins: int = 15,
) -> Path:
    """Save a top-label reliability diagram (accuracy vs confidence) as PNG.

    Parameters
    ----------
    y_true : array_like of int, shape (N,)
    proba : array_like of float, shape (N, K)
        NaN rows (unscored) are left out of the plot.
    path : str or path-like
        Output PNG path (parent folders are created).
    title : str, optional
    n_bins : int, default 15

    Returns
    -------
    pathlib.Path
        The written file.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    y = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(proba, dtype=np.float64)
    scored = ~np.isnan(p).any(axis=1)
    conf = p[scored].max(axis=1)
    correct = p[scored].argmax(axis=1) == y[scored]
    ece, bins = expected_calibration_error(correct, conf, n_bins)
    lower = np.asarray(bins["lower"])
    width = 1.0 / n_bins
    acc = np.nan_to_num(np.asarray(bins["accuracy"]))
    mconf = np.asarray(bins["confidence"])
    count = np.asarray(bins["count"])

    fig, (ax, axh) = plt.subplots(
        2, 1, figsize=(4.5, 5.5), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    ax.bar(lower, acc, width=width, align="edge", edgecolor="k", color="#4C72B0", label="accuracy")
    gap_bottom = np.where(count > 0, np.minimum(acc, np.nan_to_num(mconf)), 0)
    gap_h = np.where(count > 0, np.abs(np.nan_to_num(mconf) - acc), 0)
    ax.bar(lower, gap_h, bottom=gap_bottom, width=width, align="edge", color="#DD8452",
           alpha=0.5, edgecolor="#DD8452", label="gap to confidence")
    ax.plot([0, 1], [0, 1], "k--", lw=1)
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy")
    ax.set_title(f"{title}\nECE={ece:.3f}  n={int(scored.sum())}".strip())
    ax.legend(loc="upper left", fontsize=8)
    axh.bar(lower, count, width=width, align="edge", edgecolor="k", color="grey")
    axh.set_xlabel("confidence (top label)")
    axh.set_ylabel("count")
    axh.set_xlim(0, 1)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


# --------------------------------------------------------------------------- results
def _machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "python": sys.version.split()[0],
        "cpu_count": os.cpu_count(),
        "affinity_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        # 1/5/15-minute load averages when the result was written (others may share the machine)
        "loadavg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def write_result(
    name: str,
    protocol: str,
    metrics: Mapping[str, Any],
    *,
    command: str,
    notes: str = "",
    path: str | os.PathLike[str] = "benchmarks/results",
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write one model's metrics to ``{path}/{name}__{protocol}.json``.

    Parameters
    ----------
    name : str
        Model name, e.g. ``"logreg_pixels"``, ``"peer_fer"``.
    protocol : {"fer2013", "ferplus"}
    metrics : mapping
        Output of :func:`evaluate`.
    command : str
        The exact command that produced the result.
    notes : str, optional
        Free text (training set, selected hyper-parameters, caveats).
    path : str or path-like, default "benchmarks/results"
        Output folder; a relative path is relative to the repository root.
    extra : mapping, optional
        More JSON-serialisable fields (timings, hyper-parameters).

    Returns
    -------
    pathlib.Path
        The written JSON file.
    """
    if protocol not in ("fer2013", "ferplus"):
        raise ValueError(f"protocol must be 'fer2013' or 'ferplus', got {protocol!r}")
    if "__" in name or "/" in name:
        raise ValueError(f"name must not contain '__' or '/': {name!r}")
    folder = Path(path)
    if not folder.is_absolute():
        folder = REPO_ROOT / folder
    folder.mkdir(parents=True, exist_ok=True)
    record = {
        "name": name,
        "protocol": protocol,
        "split": "PrivateTest",
        "metrics": dict(metrics),
        "command": command,
        "notes": notes,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": _machine(),
    }
    if extra:
        record["extra"] = dict(extra)
    out = folder / f"{name}__{protocol}.json"
    out.write_text(json.dumps(record, indent=1, default=_json_default) + "\n")
    return out


def _json_default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o)}")


if __name__ == "__main__":  # quick self-check on the real data
    d = load_fer()
    for proto in ("fer2013", "ferplus"):
        for s in ("Training", "PublicTest", "PrivateTest"):
            idx, y, names = protocol_data(d, proto, s)
            print(f"{proto:8s} {s:11s} n={len(idx):6d} per class={np.bincount(y, minlength=len(names)).tolist()}")
