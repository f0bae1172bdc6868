"""The London set as extra training rows of the movements booster (issue 14), measured
with subject-disjoint folds.

The London set (DeBruine & Jones 2017, CC BY 4.0: training allowed with credit) holds a
neutral and a smiling photo of each of 102 people. Its photos are added to the FER+
Training rows of the ``ferplus`` movements booster (same features, parameters and early
stopping on FER-2013 PublicTest as ``train_expression.py --variant geometric``), each photo
with weight ``--weight`` (hard label: neutral or happiness). So that the London column stays
honest, its figures come from 5 folds split by person: the booster of fold k never saw the
people of fold k. A sixth booster sees all of London (the candidate to ship); it is scored
on FER-2013 PrivateTest and ``ckplus_dev``. Every booster is fused with the shipped
appearance CNN exactly as the shipped ``ferplus`` is (`train_fusion.py`: ``1/T`` and the CNN
weight fitted on PublicTest, tau 0.5, the same class prior).

Steps::

    python benchmarks/london_rows.py dump --out .carry/london_rows    # features + 6 jobs
    # on a machine with cores (the GPU machine's CPUs), as xgb_remote.py jobs:
    python benchmarks/xgb_remote.py --dump .carry/london_rows --out $OUT --threads 3 --parallel 6 \\
        lr_f0:X:T_f0 lr_f1:X:T_f1 lr_f2:X:T_f2 lr_f3:X:T_f3 lr_f4:X:T_f4 lr_all:X:T_all
    python benchmarks/london_rows.py evaluate --boosters DIR          # fusion, folds, table
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import cross_dataset as xd  # noqa: E402
import fer_eval  # noqa: E402
from train_expression import MAX_ROUNDS, EARLY_STOP, load_blocks, targets  # noqa: E402
from train_fusion import cnn_logits, fit_late_fusion  # noqa: E402
from fau.expression.features import mesh_blocks  # noqa: E402
from fau.expression.labels import EXPRESSIONS  # noqa: E402
from fau.expression.model import ExpressionModel  # noqa: E402
from fau.resources import model_path  # noqa: E402

MOVEMENTS = ROOT / "cache" / "cand3" / "geometric_e30.npz"  # the shipped ferplus's booster
N_FOLDS = 5
SEED = 0


def london_folds(subjects: np.ndarray) -> np.ndarray:
    """Fold 0..4 of each photo, by person (seeded permutation of the people)."""
    people = np.array(sorted(set(subjects.tolist())))
    order = np.random.default_rng(SEED).permutation(len(people))
    fold_of = {p: int(i % N_FOLDS) for i, p in zip(range(len(people)), people[order])}
    return np.array([fold_of[s] for s in subjects])


def features() -> tuple[ExpressionModel, np.ndarray, dict]:
    """The movement model, X of all FER rows then the London rows, and the London set."""
    mov = ExpressionModel.load(MOVEMENTS)
    fer_x = mov.assemble(load_blocks(ROOT / "cache" / "fer_mesh.npz", None))
    lon = xd.load_set("london")
    ok = lon["found"]
    b = mesh_blocks(lon["landmarks"][ok], lon["blendshapes"][ok], lon["presence"][ok])
    lx = np.full((len(ok), fer_x.shape[1]), np.nan, np.float32)
    lx[ok] = mov.assemble(b)
    return mov, np.vstack([fer_x, lx]).astype(np.float32), lon


def cmd_dump(a: argparse.Namespace) -> None:
    mov, X, lon = features()
    data = fer_eval.load_fer()
    n_fer = len(data["split"])
    tr, ytr, wtr = targets(data, "ferplus", 0)
    va, yva, wva = targets(data, "ferplus", 1)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / "X.npz", X=X, feature_names=np.array(mov.feature_names))
    params = dict(mov.info["params"])
    folds = london_folds(lon["subject"])
    rows = n_fer + np.flatnonzero(lon["found"])
    for name, keep in [(f"f{k}", folds[lon["found"]] != k) for k in range(N_FOLDS)] + [
            ("all", np.ones(int(lon["found"].sum()), bool))]:
        lr = rows[keep]
        ly = lon["label"][lon["found"]][keep]
        np.savez_compressed(out / f"T_{name}.npz", tr=np.r_[tr, lr], ytr=np.r_[ytr, ly],
                            wtr=np.r_[wtr, np.full(len(lr), a.weight)], va=va, yva=yva, wva=wva,
                            params=np.array(json.dumps(params)), max_rounds=MAX_ROUNDS,
                            early_stop=EARLY_STOP)
    np.save(out / "london_folds.npy", folds)
    print(f"wrote {out}: X {X.shape}, London weight {a.weight}, folds {np.bincount(folds)}")


def fused(mov: ExpressionModel, booster_path: Path, x_pub: np.ndarray, pub_y: np.ndarray,
          tau: float) -> ExpressionModel:
    """A ferplus late fusion around one booster, fitted as train_fusion.py fits it."""
    import xgboost as xgb

    booster = xgb.Booster()
    booster.load_model(str(booster_path))
    return fit_late_fusion(mov, x_pub, pub_y, ("ferplus",), tau, booster=booster)[0]


def cmd_evaluate(a: argparse.Namespace) -> None:
    mov, X, lon = features()
    data = fer_eval.load_fer()
    n_fer = len(data["split"])
    cnn = model_path("appearance_cnn.onnx")
    cnn_fer = cnn_logits(data["images"], cnn)
    cnn_lon = cnn_logits(xd.set_patches("london", lon), cnn)
    pub_idx, pub_y, _ = fer_eval.protocol_data(data, "ferplus", 1)
    priv_idx, priv_y, _ = fer_eval.protocol_data(data, "ferplus", 2)
    ck = xd.load_set("ckplus")
    ckb = mesh_blocks(ck["landmarks"][ck["found"]], ck["blendshapes"][ck["found"]],
                      ck["presence"][ck["found"]])
    ck_x = np.full((len(ck["found"]), X.shape[1]), np.nan, np.float32)
    ck_x[ck["found"]] = mov.assemble(ckb)
    cnn_ck = cnn_logits(xd.set_patches("ckplus", ck), cnn)
    Xf = np.hstack([X[:n_fer], cnn_fer])
    Xl = np.hstack([X[n_fer:], cnn_lon])
    Xc = np.hstack([ck_x, cnn_ck])
    folds = london_folds(lon["subject"])
    boosters = Path(a.boosters)
    found = lon["found"]
    res = {"tau": a.tau}
    # "none": the same booster recipe without London rows (the control, trained in the same
    # run); "london": fold k's booster scores fold k's people, lr_all the other sets.
    for tag, fold_file, all_file in (("none", lambda k: "lr_none.ubj", "lr_none.ubj"),
                                     ("london", lambda k: f"lr_f{k}.ubj", "lr_all.ubj")):
        cv = np.full((len(found), len(EXPRESSIONS)), np.nan)
        for k in range(N_FOLDS):
            m = fused(mov, boosters / fold_file(k), Xf[pub_idx], pub_y, a.tau)
            held = (folds == k) & found
            cv[held] = m.predict_proba(Xl[held])
        r_cv = xd.evaluate_set("london", lon, cv, None)
        m = fused(mov, boosters / all_file, Xf[pub_idx], pub_y, a.tau)
        pub_acc = float((m.predict_proba(Xf[pub_idx]).argmax(1) == pub_y).mean())
        priv_acc = float((m.predict_proba(Xf[priv_idx]).argmax(1) == priv_y).mean())
        ckp = np.full((len(ck["found"]), len(EXPRESSIONS)), np.nan)
        ckp[ck["found"]] = m.predict_proba(Xc[ck["found"]])
        r_ck = xd.evaluate_set("ckplus", ck, ckp, None)
        res[tag] = {
            "london": {k: r_cv[k] for k in ("accuracy", "macro_f1", "neutral_rate_non_neutral")},
            "london_error_by_gender": r_cv["error_by_gender"],
            "london_error_by_ethnicity": r_cv["error_by_ethnicity"],
            "publictest_ferplus": pub_acc, "privatetest_ferplus": priv_acc,
            "ckplus_per_sequence": r_ck["accuracy"],
            "ckplus_neutral_rate": r_ck["neutral_rate_non_neutral"],
            "booster_scale": 1.0 / m.temperature}
    print(json.dumps(res, indent=1))
    if a.out:
        Path(a.out).write_text(json.dumps(res, indent=1) + "\n")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("dump")
    p.add_argument("--out", default=str(ROOT / ".carry" / "london_rows"))
    p.add_argument("--weight", type=float, default=10.0, help="weight of each London photo")
    p = sub.add_parser("evaluate")
    p.add_argument("--boosters", required=True)
    p.add_argument("--tau", type=float, default=0.5)
    p.add_argument("--out", default="")
    a = ap.parse_args(argv)
    {"dump": cmd_dump, "evaluate": cmd_evaluate}[a.cmd](a)


if __name__ == "__main__":
    main()
