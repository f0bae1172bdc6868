"""Floor baselines on FER-2013 / FER+: majority class and logistic regression on raw pixels.

These are the numbers any real model must beat. Both protocols of
:mod:`fer_eval` are run:

``fer2013``
    Train on Training with the FER-2013 labels (7 classes), pick ``C`` on
    PublicTest, refit on Training, report PrivateTest (3,589 images).
``ferplus``
    Train on the Training rows that have a FER+ majority label (8 classes),
    pick ``C`` on PublicTest (FER+ majority rows), report PrivateTest
    (3,153 images).

Models
------
``majority``
    Predicts the most frequent Training class with probability 1 (its ECE is
    therefore ``1 - accuracy``); a second variant would use the class prior,
    which gives the same accuracy.
``logreg_pixels``
    ``StandardScaler`` (per pixel, fit on Training) + multinomial
    ``LogisticRegression`` (L2, lbfgs) on the 2,304 raw pixels scaled to [0, 1].

Usage
-----
``python benchmarks/baseline_floor.py [--cs 0.00001,0.00003,0.0001,0.0003,0.001] [--max-iter 500]``
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fer_eval import REPO_ROOT, evaluate, load_fer, protocol_data, reliability_diagram, write_result  # noqa: E402


def _majority_proba(y_train: np.ndarray, n: int, k: int) -> np.ndarray:
    p = np.zeros((n, k))
    p[:, np.bincount(y_train, minlength=k).argmax()] = 1.0
    return p


def _fit_logreg(x: np.ndarray, y: np.ndarray, c: float, max_iter: int) -> LogisticRegression:
    clf = LogisticRegression(C=c, max_iter=max_iter, tol=1e-4)
    clf.fit(x, y)
    return clf


def _full_proba(clf: LogisticRegression, x: np.ndarray, k: int) -> np.ndarray:
    """Probabilities with one column per class 0..k-1 (classes absent in training get 0)."""
    p = np.zeros((len(x), k))
    p[:, clf.classes_] = clf.predict_proba(x)
    return p


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cs", default="0.00001,0.00003,0.0001,0.0003,0.001", help="comma-separated C grid")
    ap.add_argument("--max-iter", type=int, default=500)
    ap.add_argument("--protocols", default="fer2013,ferplus")
    ap.add_argument("--plots", default="benchmarks/results/plots", help="reliability diagram folder ('' for none)")
    args = ap.parse_args(argv)
    command = ("python benchmarks/baseline_floor.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))).strip()
    cs = [float(c) for c in args.cs.split(",")]

    t_all = time.perf_counter()
    d = load_fer()
    x_all = d["images"].reshape(len(d["images"]), -1).astype(np.float32) / 255.0

    for proto in args.protocols.split(","):
        tr, y_tr, names = protocol_data(d, proto, "Training")
        va, y_va, _ = protocol_data(d, proto, "PublicTest")
        te, y_te, _ = protocol_data(d, proto, "PrivateTest")
        k = len(names)
        print(f"[{proto}] train {len(tr)}  val {len(va)}  test {len(te)}  classes {k}", flush=True)

        # ---- majority class
        t0 = time.perf_counter()
        p_te = _majority_proba(y_tr, len(te), k)
        m = evaluate(y_te, p_te, names)
        dt = time.perf_counter() - t0
        cls = names[int(np.argmax(p_te[0]))]
        out = write_result(
            "majority", proto, m, command=command,
            notes=f"Always predicts the most frequent Training class ({cls}) with probability 1.",
            extra={"predicted_class": cls, "train_rows": int(len(tr)), "seconds_total": dt},
        )
        print(f"  majority ({cls}): acc {m['accuracy']:.4f}  macroF1 {m['macro_f1']:.4f}  -> {out}", flush=True)

        # ---- logistic regression on standardised pixels
        t0 = time.perf_counter()
        scaler = StandardScaler().fit(x_all[tr])
        xs_tr, xs_va, xs_te = (scaler.transform(x_all[i]) for i in (tr, va, te))
        grid = []
        for c in cs:
            t1 = time.perf_counter()
            clf = _fit_logreg(xs_tr, y_tr, c, args.max_iter)
            acc_va = float((clf.predict(xs_va) == y_va).mean())
            grid.append({"C": c, "val_accuracy": acc_va, "n_iter": int(clf.n_iter_.max()),
                         "seconds": time.perf_counter() - t1})
            print(f"  logreg C={c:g}: PublicTest acc {acc_va:.4f}  iters {grid[-1]['n_iter']}  "
                  f"{grid[-1]['seconds']:.1f}s", flush=True)
            if acc_va >= max(g["val_accuracy"] for g in grid):
                best_clf, best_c = clf, c
        t_fit = time.perf_counter() - t0
        t1 = time.perf_counter()
        p_te = _full_proba(best_clf, xs_te, k)
        t_pred = time.perf_counter() - t1
        m = evaluate(y_te, p_te, names)
        out = write_result(
            "logreg_pixels", proto, m, command=command,
            notes=(f"StandardScaler + multinomial L2 LogisticRegression (lbfgs, max_iter={args.max_iter}) "
                   f"on 48x48 raw pixels; C={best_c:g} chosen on PublicTest from {cs}; trained on "
                   f"{len(tr)} Training rows (no refit on Training+PublicTest)."),
            extra={"C": best_c, "grid": grid, "seconds_grid_total": t_fit,
                   "seconds_predict_test": t_pred, "ms_per_image_predict": 1000 * t_pred / len(te),
                   "train_rows": int(len(tr))},
        )
        print(f"  logreg_pixels C={best_c:g}: acc {m['accuracy']:.4f}  macroF1 {m['macro_f1']:.4f}  "
              f"ECE {m['ece']:.4f}  ({t_fit:.1f}s grid) -> {out}", flush=True)
        if args.plots:
            reliability_diagram(y_te, p_te, REPO_ROOT / args.plots / f"logreg_pixels__{proto}.png",
                                f"logreg_pixels, {proto}")

    print(f"total {time.perf_counter() - t_all:.1f}s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
