"""Which movements drove each expression score? (XGBoost TreeSHAP contributions)

Usage: python examples/explain_scores.py [IMAGE]
"""

import sys
from pathlib import Path

import fau

image = sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "data/cremad_happy.jpg"

with fau.Detector() as det:
    faces = det.detect_image(image)
    why = det.explain(image)

for face, rows in why.groupby("face"):
    top = faces.loc[faces.face == face, "expression"].iloc[0]
    r = rows[rows.expression == top].sort_values("contribution", key=abs, ascending=False)
    print(f"face {face}: '{top}' (p = {r.probability.iloc[0]:.2f}); logit = bias "
          f"{r.bias.iloc[0]:+.2f} + contributions:")
    for _, c in r.head(8).iterrows():
        print(f"   {c.group:12s} {c.contribution:+.3f}")
