"""Train fau's XGBoost expression heads where there are many cores (the GPU machine's CPUs).

Reads what ``benchmarks/train_expression.py --dump DIR`` wrote (``X_<variant>.npz``:
features of all FER-2013 rows; ``T_<labels>_h<w>.npz``: training/PublicTest rows, labels,
weights, XGBoost parameters) and trains one booster per job with early stopping on
PublicTest log-loss, exactly as ``train_expression.py`` does; each booster is written as
``<name>.ubj`` with its parameters in the ``params`` attribute. ``train_expression.py
--booster <name>.ubj`` then calibrates, evaluates and writes the model file here. Needs
only numpy and xgboost.

Usage::

    python benchmarks/xgb_remote.py --dump DIR --out OUT \\
        NAME:X_variant:T_labels_hW[:columns-prefix-to-drop,...][:eta] ...
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np


def train(job: str, dump: Path, out: Path, threads: int) -> str:
    import xgboost as xgb

    parts = job.split(":")
    name, xname, tname = parts[:3]
    drop = [p for p in (parts[3].split(",") if len(parts) > 3 and parts[3] else [])]
    x = np.load(dump / f"{xname}.npz")
    t = np.load(dump / f"{tname}.npz")
    names = [str(n) for n in x["feature_names"]]
    keep = [i for i, n in enumerate(names) if not any(n.startswith(d) for d in drop)]
    X = x["X"][:, keep]
    fn = [names[i] for i in keep]
    params = json.loads(str(t["params"]))
    params["nthread"] = threads
    if len(parts) > 4 and parts[4]:
        params["eta"] = float(parts[4])
    t0 = time.time()
    dtr = xgb.DMatrix(X[t["tr"]], label=t["ytr"], weight=t["wtr"], feature_names=fn)
    dva = xgb.DMatrix(X[t["va"]], label=t["yva"], weight=t["wva"], feature_names=fn)
    b = xgb.train(params, dtr, num_boost_round=int(t["max_rounds"]), evals=[(dva, "PublicTest")],
                  early_stopping_rounds=int(t["early_stop"]), verbose_eval=False)
    b = b[: b.best_iteration + 1]
    b.set_attr(params=json.dumps({k: v for k, v in params.items() if k != "nthread"}),
               feature_names=json.dumps(fn))
    b.save_model(str(out / f"{name}.ubj"))
    return f"{name}: {b.num_boosted_rounds()} rounds, {len(fn)} features, {time.time() - t0:.0f} s"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dump", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=4, help="threads per job")
    ap.add_argument("--parallel", type=int, default=4, help="jobs at a time")
    ap.add_argument("jobs", nargs="+")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(a.parallel) as ex:
        for msg in ex.map(lambda j: train(j, Path(a.dump), out, a.threads), a.jobs):
            print(msg, flush=True)


if __name__ == "__main__":
    main()
