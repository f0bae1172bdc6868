"""Write a copy of an expression model file with logit adjustment of strength ``tau``.

The model's calibrated logits get ``-tau * log(prior)`` added, where ``prior`` is the class
distribution of its training targets (``info["class_prior"]``, recorded by
``benchmarks/train_expression.py``); Menon et al., "Long-tail learning via logit
adjustment", ICLR 2021. Only the offsets change: the booster, temperature and features
are those of the input file. The chosen ``tau`` and the command are added to ``info``.

Usage::

    python benchmarks/logit_adjust.py IN.npz OUT.npz --tau 0.5
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fau.expression.model import ExpressionModel  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--tau", type=float, required=True)
    a = ap.parse_args()
    m = ExpressionModel.load(a.src)
    prior = np.asarray(m.info["class_prior"], dtype=np.float64)
    m.logit_offsets = -a.tau * np.log(prior)
    m.info = dict(m.info, tau=a.tau, logit_adjust_command="python benchmarks/logit_adjust.py "
                  + " ".join(shlex.quote(x) for x in sys.argv[1:]))
    m.save(a.dst)
    print(f"{a.dst}: offsets {np.round(m.logit_offsets, 3).tolist()}")


if __name__ == "__main__":
    main()
