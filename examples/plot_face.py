"""One face's AU values drawn on its landmark mesh (fau.plot.face_aus), saved as a PNG.

Usage: python examples/plot_face.py [IMAGE] [OUT.png]
       (default: the bundled CREMA-D frame; writes ./plot_face.png, never over a file)
"""

import sys
from pathlib import Path

import fau
import fau.files
import fau.plot

root = Path(__file__).resolve().parent
image = sys.argv[1] if len(sys.argv) > 1 else str(root / "data/cremad_happy.jpg")
out = sys.argv[2] if len(sys.argv) > 2 else "plot_face.png"

with fau.Detector() as det:
    faces = det.detect_image(image, landmarks=True)  # adds x_0 … x_477, y_…, z_… (pixels)
if faces.empty:
    sys.exit(f"no face found in {image}")
fig = fau.plot.face_aus(faces.iloc[0], image)
# Atomic, and an existing file is never replaced (FauError).
fau.files.atomic_write(out, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
print(f"face 0 of {len(faces)}: AU12 {faces['AU12'].iloc[0]:+.3f} IOD, "
      f"AU45 {faces['AU45'].iloc[0]:+.3f} neutral eye openings; figure: {out}")
