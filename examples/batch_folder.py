"""Analyse every video in a folder with two worker processes; rerunning resumes.

Usage: python examples/batch_folder.py VIDEO_DIR OUT_DIR [SCHEDULER_ADDRESS]
       (with a Dask scheduler address, the videos run on that cluster instead)
"""

import sys

import fau

if len(sys.argv) < 3:
    sys.exit(__doc__)
index = fau.run_batch([sys.argv[1]], sys.argv[2], jobs=2, fps=5,
                  scheduler=sys.argv[3] if len(sys.argv) > 3 else None)
print(index[["path", "status", "error", "duration_s", "faces", "seconds"]].to_string(index=False))
