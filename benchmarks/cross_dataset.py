"""One cross-dataset table for fau's expression models (issue 14).

Every model (shipped files and ablations) is scored on the same faces, with the same
metrics:

``fer``      FER-2013 PrivateTest, FER-2013 labels (7 classes, n = 3,589) and FER+
             majority labels (8 classes, n = 3,153); meshes from ``cache/fer_mesh.npz``
             (``benchmarks/extract_fer.py``: the ``detect_image(img, cropped=True)`` path).
``ckplus``   ``../shared/data/ckplus_dev/ck48``: 441 frames of 147 posed sequences of 55
             subjects, through ``Detector.detect_image(img, cropped=True)``; one answer per
             sequence (majority over its 3 frames, ties to the larger mean probability),
             8 classes, a neutral answer counts wrong. Measuring only, never training rows.
``london``   ``../shared/data/london``: 102 people, neutral + smiling photos (800×800 colour)
             through ``Detector.detect_image(path)`` (face detector); error rates per gender
             and per ethnicity (the responsible-use subgroup report).
``cremad``   the six CREMA-D clips of ``tests/data/cremad`` through ``Detector.detect_video``
             (every frame); one answer per clip = the majority over its frames.

Metrics per set: accuracy, macro-F1 (over the classes present in the labels), the
neutral-prediction rate on faces whose label is not neutral, top-label ECE (15 bins;
`fer_eval.expected_calibration_error`). A face the pipeline does not find counts wrong.

How a model is scored: ``extract`` runs the public API once per set and caches what is
slow (landmarks, blendshapes, face presence, and the API's own probabilities); ``table``
rebuilds the feature blocks with `fau.expression.features.mesh_blocks` and the 48×48
patches with `fau.expression.appearance.face_patch` (the functions the `Detector` calls),
runs the candidate's CNN and head, and checks that the shipped default model reproduces
the API's probabilities on every face (so a cached figure is the API's figure). AU values
are recomputed from the cached meshes, so a change of AU definitions needs no re-extraction.

Usage::

    python benchmarks/cross_dataset.py extract                  # all sets -> cache/xd_*.npz
    python benchmarks/cross_dataset.py table                    # shipped models
    python benchmarks/cross_dataset.py table --model NAME=path/to/expression.npz[@path/to/cnn.onnx] \\
        --cnn-only NAME=path/to/cnn.onnx --out benchmarks/results/cross_dataset.json
    python benchmarks/cross_dataset.py merge A.json B.json --out ablations.json  # one table

The markdown table is printed and written next to the JSON (``.md``).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import fer_eval  # noqa: E402
from fau.expression.appearance import AppearanceModel, face_patch  # noqa: E402
from fau.expression.features import mesh_blocks  # noqa: E402
from fau.expression.labels import EXPRESSIONS  # noqa: E402
from fau.expression.model import ExpressionModel  # noqa: E402

log = logging.getLogger("cross_dataset")

DATA = ROOT.parent / "shared" / "data"
CACHE = ROOT / "cache"
SETS = ("fer", "ckplus", "london", "cremad")
NEUTRAL = EXPRESSIONS.index("neutral")
#: CK+48 folder labels -> fau classes.
CK_LABELS = {"angry": "anger", "contempt": "contempt", "disgust": "disgust", "fear": "fear",
             "happy": "happiness", "sad": "sadness", "surprise": "surprise"}
#: CREMA-D file-name emotion codes -> fau classes (Cao et al. 2014).
CREMAD_LABELS = {"ANG": "anger", "DIS": "disgust", "FEA": "fear", "HAP": "happiness",
                 "NEU": "neutral", "SAD": "sadness"}
#: Faces per set over which the appearance share is averaged (a seeded sample; TreeSHAP
#: of a fused model costs tens of ms per face on one thread).
SHARE_FACES = 500
#: Reconstructed probabilities must match the API's to this (absolute, probability units).
API_TOLERANCE = 1e-4


# ============================================================================ extraction
def _mesh_row(df) -> tuple[np.ndarray, np.ndarray, float, np.ndarray] | None:
    """Landmarks, blendshapes, presence and probabilities of the first face of a table."""
    if len(df) == 0:
        return None
    r = df.iloc[0]
    lm = np.stack([r[[f"{a}_{i}" for i in range(478)]].to_numpy(float) for a in "xyz"], axis=1)
    bs = r[[c for c in df.columns if c.startswith("bs_")]].to_numpy(float)
    proba = r[list(EXPRESSIONS)].to_numpy(float)
    return lm, bs, float(r["face_score"]), proba


def _pack(rows: list, n: int) -> dict[str, np.ndarray]:
    lm = np.full((n, 478, 3), np.nan, np.float32)
    bs = np.full((n, 52), np.nan, np.float32)
    pr = np.zeros(n, np.float32)
    api = np.full((n, len(EXPRESSIONS)), np.nan)
    for i, row in enumerate(rows):
        if row is not None:
            lm[i], bs[i], pr[i], api[i] = row
    return {"landmarks": lm, "blendshapes": bs, "presence": pr, "api_proba": api,
            "found": np.array([r is not None for r in rows])}


def extract_ckplus(det) -> dict[str, np.ndarray]:
    base = DATA / "ckplus_dev" / "ck48"
    with open(base / "manifest.csv") as f:
        man = list(csv.DictReader(f))
    rows = [_mesh_row(det.detect_image(str(base / m["path"]), cropped=True, landmarks=True))
            for m in man]
    out = _pack(rows, len(man))
    out.update(path=np.array([m["path"] for m in man]),
               label=np.array([EXPRESSIONS.index(CK_LABELS[m["label"]]) for m in man]),
               group=np.array([m["sequence_id"] for m in man]),
               subject=np.array([m["subject_id"] for m in man]))
    return out


def extract_london(det) -> dict[str, np.ndarray]:
    base = DATA / "london"
    with open(base / "manifest.csv") as f:
        man = list(csv.DictReader(f))
    rows = []
    for m in man:
        df = det.detect_image(str(base / m["path"]), landmarks=True)
        if len(df) > 1:  # the largest face is the subject
            df = df.iloc[[int((df["face_w"] * df["face_h"]).to_numpy().argmax())]]
        rows.append(_mesh_row(df))
    out = _pack(rows, len(man))
    out.update(path=np.array([m["path"] for m in man]),
               label=np.array([EXPRESSIONS.index("happiness" if m["label"] == "happy"
                                                 else "neutral") for m in man]),
               group=np.array([f"{m['subject_id']}_{m['label']}" for m in man]),
               subject=np.array([m["subject_id"] for m in man]),
               gender=np.array([m["gender"] for m in man]),
               ethnicity=np.array([m["ethnicity"] for m in man]),
               age_band=np.array([age_band(m["age"]) for m in man]))
    return out


#: Age bands (self-reported years, inclusive) of the London set's per-subgroup errors:
#: about a third of its 102 people each below 25 and 25-34 (median 26), a sixth 35+.
AGE_BANDS = ((18, 24), (25, 34), (35, 120))


def age_band(age: str) -> str:
    """``"age 18-24"`` … ``"age 35+"`` of a manifest's age, ``"age unknown"`` for NA."""
    if not age.strip().isdigit():
        return "age unknown"
    a = int(age)
    for lo, hi in AGE_BANDS:
        if lo <= a <= hi:
            return f"age {lo}+" if hi == AGE_BANDS[-1][1] else f"age {lo}-{hi}"
    return "age unknown"


def cremad_clips() -> list[Path]:
    return sorted((ROOT / "tests" / "data" / "cremad").glob("*.flv"))


def extract_cremad(det) -> dict[str, np.ndarray]:
    rows, frame, clip, label = [], [], [], []
    for path in cremad_clips():
        df = det.detect_video(str(path), landmarks=True, temporal=False)
        df = df.sort_values(["frame", "face"]).drop_duplicates("frame")
        for _, r in df.iterrows():
            rows.append(_mesh_row(r.to_frame().T))
            frame.append(int(r["frame"]))
            clip.append(path.name)
            label.append(EXPRESSIONS.index(CREMAD_LABELS[path.stem.split("_")[2]]))
    out = _pack(rows, len(rows))
    out.update(frame=np.array(frame), path=np.array(clip), group=np.array(clip),
               label=np.array(label), subject=np.array([c.split("_")[0] for c in clip]))
    return out


def extract_fer(det) -> dict[str, np.ndarray]:
    """PrivateTest rows of ``cache/fer_mesh.npz`` (made by the same cropped-face path)."""
    del det  # meshes come from the cache made by benchmarks/extract_fer.py
    m = np.load(CACHE / "fer_mesh.npz")
    d = fer_eval.load_fer()
    idx = np.flatnonzero(d["split"] == 2)
    return {"landmarks": m["landmarks"][idx], "blendshapes": m["blendshapes"][idx],
            "presence": m["presence"][idx], "found": np.ones(len(idx), bool),
            "row": idx, "label": d["labels"][idx], "ferplus_label": d["ferplus_labels"][idx]}


EXTRACT = {"fer": extract_fer, "ckplus": extract_ckplus, "london": extract_london,
           "cremad": extract_cremad}


def cmd_extract(a: argparse.Namespace) -> None:
    import fau

    CACHE.mkdir(exist_ok=True)
    with fau.Detector(expression_model="ferplus") as det:
        for s in a.sets:
            t = time.time()
            out = EXTRACT[s](det)
            np.savez_compressed(CACHE / f"xd_{s}.npz", **out)
            log.info("%s: %d faces (%d found) in %.0f s -> cache/xd_%s.npz", s,
                     len(out["found"]), int(out["found"].sum()), time.time() - t, s)


# ============================================================================ patches
def load_set(name: str) -> dict[str, np.ndarray]:
    path = CACHE / f"xd_{name}.npz"
    if not path.is_file():
        sys.exit(f"{path} not found: run `python benchmarks/cross_dataset.py extract` first")
    return dict(np.load(path, allow_pickle=False))


def set_patches(name: str, s: dict[str, np.ndarray]) -> np.ndarray:
    """48×48 grey patches of every face, cut by `face_patch` as the `Detector` cuts them."""
    from fau.io import load_image

    n = len(s["found"])
    out = np.zeros((n, 48, 48), np.uint8)
    if name == "fer":
        imgs = fer_eval.load_fer()["images"][s["row"]]
        for i in range(n):
            out[i] = face_patch(np.stack([imgs[i]] * 3, -1), s["landmarks"][i], cropped=True)
        return out
    if name == "cremad":
        from fau.video.reader import iter_frames

        want = {}
        for i, (clip, fr) in enumerate(zip(s["path"], s["frame"])):
            want.setdefault(str(clip), {})[int(fr)] = i
        for clip, frames in want.items():
            for vf in iter_frames(ROOT / "tests" / "data" / "cremad" / clip):
                if vf.index in frames:
                    i = frames[vf.index]
                    out[i] = face_patch(vf.rgb, s["landmarks"][i], cropped=False)
        return out
    base = DATA / ("ckplus_dev/ck48" if name == "ckplus" else "london")
    for i, p in enumerate(s["path"]):
        if s["found"][i]:
            out[i] = face_patch(load_image(str(base / p)), s["landmarks"][i],
                                cropped=(name == "ckplus"))
    return out


# ============================================================================ candidates
@dataclass
class Candidate:
    """A model to score: an XGBoost head (with the CNN it stacks) or a CNN head alone."""

    name: str
    head: str | None  # expression_*.npz, or None for a CNN head alone
    cnn: str | None  # ONNX file (None: the bundled one)
    cnn_head: str = "ferplus"  # for CNN-only candidates: which head's softmax
    shipped: bool = False
    model: ExpressionModel | None = field(default=None, repr=False)

    def load(self) -> "Candidate":
        if self.head is not None:
            self.model = ExpressionModel.load(self.head)
        return self

    @property
    def classes(self) -> tuple[str, ...]:
        if self.model is not None:
            return self.model.classes
        return EXPRESSIONS if self.cnn_head == "ferplus" else EXPRESSIONS[:7]

    @property
    def needs_cnn(self) -> bool:
        return self.model is None or self.model.uses_appearance


def shipped_candidates() -> list[Candidate]:
    models = ROOT / "fau" / "models"
    return [Candidate(p.stem.removeprefix("expression_"), str(p), None, shipped=True)
            for p in sorted(models.glob("expression_*.npz"))]


def parse_candidates(a: argparse.Namespace) -> list[Candidate]:
    out = [] if a.no_shipped else shipped_candidates()
    for spec in a.model or []:
        name, _, rest = spec.partition("=")
        head, _, cnn = rest.partition("@")
        out.append(Candidate(name, head, cnn or None))
    for spec in a.cnn_only or []:
        name, _, rest = spec.partition("=")
        path, _, head = rest.partition(":")
        out.append(Candidate(name, None, path or None, cnn_head=head or "ferplus"))
    return [c.load() for c in out]


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def score(c: Candidate, blocks: dict[str, np.ndarray], logits: dict[str, np.ndarray],
          found: np.ndarray) -> np.ndarray:
    """(n, 8) probabilities in `EXPRESSIONS` order; NaN rows where no face was found.

    ``blocks`` are the mesh blocks of the found faces only; ``logits`` cover all rows.
    """
    key = c.cnn or "bundled"
    n = len(found)
    out = np.full((n, len(EXPRESSIONS)), np.nan)
    if c.model is None:
        z = logits[key][:, 7:] if c.cnn_head == "ferplus" else logits[key][:, :7]
        p = softmax(z.astype(np.float64))
        out[:, : p.shape[1]] = p
        out[:, p.shape[1]:] = 0.0
    else:
        ok = np.flatnonzero(found)
        b = dict(blocks)  # computed on the found faces only
        if c.model.uses_appearance:
            b["appearance"] = logits[key][ok]
        if len(ok):
            out[ok] = c.model.predict_proba(c.model.assemble(b))
    out[~found] = np.nan
    return out


def appearance_share(c: Candidate, blocks: dict[str, np.ndarray], logits: dict[str, np.ndarray],
                     found: np.ndarray) -> float:
    """Mean share of the predicted class's logit that came from appearance (0 without it).

    `fau.expression.explain.logit_sources`: ``|appearance| / (|movement| + |appearance|)``
    of the winning class, averaged over the found faces (at most `SHARE_FACES` of them, a
    seeded random sample: TreeSHAP is slow). CNN-only candidates: 1.
    """
    from fau.expression.explain import logit_sources

    if c.model is None:
        return 1.0
    if not c.model.uses_appearance or not found.any():
        return 0.0
    b = dict(blocks, appearance=logits[c.cnn or "bundled"][np.flatnonzero(found)])
    n = len(b["landmarks"])
    if n > SHARE_FACES:
        pick = np.sort(np.random.default_rng(0).choice(n, SHARE_FACES, replace=False))
        b = {k: np.asarray(v)[pick] for k, v in b.items()}
    src = logit_sources(c.model, b)
    win = src.loc[src.groupby("face")["logit"].idxmax()]
    return float(win["appearance_share"].mean())


# ============================================================================ metrics
def metrics(y: np.ndarray, proba: np.ndarray, classes: tuple[str, ...] = EXPRESSIONS
            ) -> dict[str, float]:
    """Accuracy, macro-F1, neutral rate on non-neutral faces, ECE; NaN rows count wrong.

    ``classes`` restricts the answer to those columns (the FER-2013 protocol: 7 classes).
    """
    from sklearn.metrics import f1_score

    cols = [EXPRESSIONS.index(c) for c in classes]
    p = proba[:, cols]
    scored = ~np.isnan(p).any(axis=1)
    pred = np.full(len(y), -1)
    pred[scored] = np.asarray(cols)[p[scored].argmax(axis=1)]
    present = sorted(set(int(v) for v in y))
    non_neutral = y != NEUTRAL
    conf = np.zeros(len(y))
    if scored.any():
        ps = p[scored] / p[scored].sum(axis=1, keepdims=True)
        conf[scored] = ps.max(axis=1)
    ece, _ = fer_eval.expected_calibration_error((pred == y)[scored], conf[scored])
    return {
        "n": int(len(y)), "n_unscored": int((~scored).sum()),
        "accuracy": float((pred == y).mean()),
        "macro_f1": float(f1_score(y, pred, labels=present, average="macro", zero_division=0)),
        "neutral_rate_non_neutral": float((pred[non_neutral] == NEUTRAL).mean())
        if non_neutral.any() else float("nan"),
        "ece": float(ece),
        "predicted": {EXPRESSIONS[k]: int((pred == k).sum()) for k in range(len(EXPRESSIONS))},
    }


def per_group(y: np.ndarray, proba: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One answer per group (sequence, clip): majority of frame answers, ties to the
    larger mean probability. Returns labels and the group's mean probabilities with the
    winning class's mean moved to the front of the tie-break (for ECE)."""
    keys = list(dict.fromkeys(group.tolist()))
    ys, ps = [], []
    for k in keys:
        m = group == k
        p = proba[m]
        ok = ~np.isnan(p).any(axis=1)
        ys.append(int(y[m][0]))
        if not ok.any():
            ps.append(np.full(proba.shape[1], np.nan))
            continue
        votes = np.bincount(p[ok].argmax(axis=1), minlength=proba.shape[1]).astype(float)
        mean = p[ok].mean(axis=0)
        win = int(np.lexsort((mean, votes))[-1])
        # Probabilities whose argmax is the majority answer: the mean, with the winner
        # raised just above the runner-up if the mean disagrees with the vote.
        q = mean.copy()
        if q.argmax() != win:
            q[win] = q.max() + 1e-9
            q /= q.sum()
        ps.append(q)
    return np.array(ys), np.array(ps)


def evaluate_set(name: str, s: dict, proba: np.ndarray, c: Candidate) -> dict:
    if name == "fer":
        r7 = metrics(s["label"], proba, EXPRESSIONS[:7])
        fp = s["ferplus_label"] >= 0
        r8 = metrics(s["ferplus_label"][fp], proba[fp], EXPRESSIONS)
        return {"fer2013": r7, "ferplus": r8}
    if name in ("ckplus", "cremad"):
        y, p = per_group(s["label"], proba, s["group"])
        r = metrics(y, p)
        r["frames"] = metrics(s["label"], proba)
        if name == "cremad":
            r["per_clip"] = {str(k): EXPRESSIONS[int(np.nanargmax(q))] if not np.isnan(q).all()
                             else None for k, q in zip(dict.fromkeys(s["group"].tolist()), p)}
        return r
    r = metrics(s["label"], proba)
    pred = np.where(np.isnan(proba).any(axis=1), -1, np.nan_to_num(proba).argmax(axis=1))
    wrong = pred != s["label"]
    for col in ("gender", "ethnicity", "age_band"):
        if col not in s:  # a cache made before age bands: re-run extract
            continue
        r[f"error_by_{col}"] = {str(g): {"n": int((s[col] == g).sum()),
                                         "error": float(wrong[s[col] == g].mean())}
                                for g in sorted(set(s[col].tolist()))}
    return r


# ============================================================================ table
def check_api(name: str, s: dict, proba: np.ndarray) -> float:
    """Largest |reconstructed - API| probability of the shipped default model."""
    if "api_proba" not in s:
        return 0.0
    ok = s["found"]
    return float(np.nanmax(np.abs(proba[ok] - s["api_proba"][ok]))) if ok.any() else 0.0


def fmt(r: dict) -> str:
    return (f"{r['accuracy']:.3f} / {r['macro_f1']:.3f} / {r['neutral_rate_non_neutral']:.2f}"
            f" / {r['ece']:.3f}")


def markdown(results: dict) -> str:
    lines = [
        "| model | FER-2013 PrivateTest (FER-2013 labels) | FER-2013 PrivateTest (FER+ majority) "
        "| CK+ dev, per sequence | London | CREMA-D, per clip | appearance share |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in results["models"].items():
        cells = []
        for key in (("fer", "fer2013"), ("fer", "ferplus"), ("ckplus",), ("london",), ("cremad",)):
            v = r
            for k in key:
                v = v.get(k, {}) if isinstance(v, dict) else {}
            cells.append(fmt(v) if v else "–")
        if r.get("cremad"):
            cells[-1] += f" ({round(r['cremad']['accuracy'] * r['cremad']['n'])}/{r['cremad']['n']})"
        shares = [r[k]["appearance_share"] for k in ("fer", "ckplus", "london", "cremad") if k in r]
        cells.append(f"{np.mean(shares):.2f}" if shares else "–")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Cells: accuracy / macro-F1 / neutral-prediction rate on non-neutral faces / "
                 "ECE (15 bins). Appearance share: mean over the four sets of the share of the "
                 "winning class's logit that came from the appearance CNN "
                 "(`fau.expression.explain.logit_sources`; 0 = movements only).")
    sub = ["", "London error rate (neutral vs smiling photos) per subgroup:", "",
           "| model | " + " | ".join(results["london_groups"]) + " |",
           "|---|" + "---|" * len(results["london_groups"])]
    for name, r in results["models"].items():
        if "london" not in r:
            continue
        g = {**r["london"]["error_by_gender"], **r["london"]["error_by_ethnicity"],
             **r["london"].get("error_by_age_band", {})}
        sub.append(f"| {name} | " + " | ".join(
            f"{g[k]['error']:.3f}" if k in g else "–" for k in results["london_groups"]) + " |")
    ns = results.get("london_group_n", {})
    sub.append("| n photos | " + " | ".join(str(ns.get(k, "")) for k in results["london_groups"])
               + " |")
    return "\n".join(lines + sub) + "\n"


def cmd_table(a: argparse.Namespace) -> None:
    cands = parse_candidates(a)
    t0 = time.time()
    results: dict = {"command": "python benchmarks/cross_dataset.py " + " ".join(
        shlex.quote(x) for x in sys.argv[1:]), "loadavg_1min": os.getloadavg()[0], "models": {}}
    sets = {n: load_set(n) for n in a.sets}
    cnns = {c.cnn or "bundled" for c in cands if c.needs_cnn}
    for name, s in sets.items():
        ok = s["found"]
        blocks = mesh_blocks(s["landmarks"][ok], s["blendshapes"][ok], s["presence"][ok])
        patches = set_patches(name, s)
        logits = {}
        for key in cnns:
            am = AppearanceModel(num_threads=2, path=None if key == "bundled" else key)
            logits[key] = np.concatenate([am.logits(patches[i:i + 256])
                                          for i in range(0, len(patches), 256)])
        for c in cands:
            proba = score(c, blocks, logits, s["found"])
            if c.shipped and c.name == "ferplus":
                err = check_api(name, s, proba)
                log.info("%s: shipped ferplus reproduces the API to %.2e", name, err)
                results.setdefault("api_check_max_abs_diff", {})[name] = err
                if err > API_TOLERANCE and not a.allow_stale:
                    raise SystemExit(f"{name}: cached scoring differs from the API by {err:.3g}; "
                                     "re-run `extract`")
            results["models"].setdefault(c.name, {"head": c.head, "cnn": c.cnn or "bundled",
                                                  "cnn_only": c.model is None})
            results["models"][c.name][name] = evaluate_set(name, s, proba, c)
            results["models"][c.name][name]["appearance_share"] = appearance_share(
                c, blocks, logits, s["found"])
    if "london" in sets:
        s = sets["london"]
        cols = [c for c in ("gender", "ethnicity", "age_band") if c in s]
        groups = [g for c in cols for g in sorted(set(s[c].tolist()))]
        results["london_groups"] = groups
        results["london_group_n"] = {g: int(np.any([s[c] == g for c in cols], axis=0).sum())
                                     for g in groups}
    results["seconds"] = round(time.time() - t0, 1)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    if {"fer", "ckplus", "london", "cremad"} <= set(a.sets):
        md = markdown(results)
        out.with_suffix(".md").write_text(md)
        print(md)
    for n, r in results["models"].items():
        print(n, {k: {kk: round(vv, 3) for kk, vv in v.items() if isinstance(vv, float)}
                  for k, v in r.items() if isinstance(v, dict) and k != "fer"},
              {k: round(v["accuracy"], 4) for k, v in r.get("fer", {}).items() if isinstance(v, dict)})
    log.info("wrote %s (%.0f s, load %.1f)", out, time.time() - t0, results["loadavg_1min"])


def cmd_merge(a: argparse.Namespace) -> None:
    """Several ``table`` outputs (same caches) as one JSON and markdown table."""
    merged: dict = {"command": [], "loadavg_1min": [], "seconds": 0.0, "models": {}}
    for path in a.inputs:
        r = json.loads(Path(path).read_text())
        merged["command"].append(r["command"])
        merged["loadavg_1min"].append(r["loadavg_1min"])
        merged["seconds"] += r.get("seconds", 0.0)
        for k in ("london_groups", "london_group_n"):
            merged.setdefault(k, r.get(k))
        rename = dict(x.split("=", 1) for x in a.rename or [])
        for name, m in r["models"].items():
            name = rename.get(f"{Path(path).name}:{name}", name)
            if name not in merged["models"]:
                merged["models"][name] = m
    out = Path(a.out)
    out.write_text(json.dumps(merged, indent=1))
    out.with_suffix(".md").write_text(markdown(merged))
    print(markdown(merged))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("extract", help="run the public API once per set; cache meshes")
    p.add_argument("--sets", nargs="+", default=list(SETS), choices=SETS)
    p = sub.add_parser("table", help="score models on the cached sets")
    p.add_argument("--sets", nargs="+", default=list(SETS), choices=SETS)
    p.add_argument("--model", action="append", help="NAME=expression.npz[@cnn.onnx]")
    p.add_argument("--cnn-only", action="append", help="NAME=cnn.onnx[:ferplus|fer2013]")
    p.add_argument("--no-shipped", action="store_true", help="skip the shipped models")
    p.add_argument("--allow-stale", action="store_true",
                   help="design runs: go on when the cache predates a code change (recorded)")
    p.add_argument("--out", default=str(ROOT / "benchmarks/results/cross_dataset.json"))
    p = sub.add_parser("merge", help="several table JSONs -> one JSON + markdown")
    p.add_argument("inputs", nargs="+")
    p.add_argument("--out", required=True)
    p.add_argument("--rename", action="append",
                   help="FILE:NAME=NEW: a model of one input under another name (e.g. the "
                        "shipped models of an earlier run)")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    {"extract": cmd_extract, "table": cmd_table, "merge": cmd_merge}[a.cmd](a)


if __name__ == "__main__":
    main()
