"""Batch analysis of many videos: joblib processes locally, Dask distributed on a cluster.

>>> import fau
>>> index = fau.batch(["interviews/", "more.csv"], "results", fps=5)   # doctest: +SKIP

`batch` expands the inputs (`collect_inputs`), skips videos whose outputs are complete
and current (``done.json`` markers, see `fau.batch.store`), runs the rest one video per
task — on ``jobs`` local joblib (loky) processes, or on a Dask cluster when a
``scheduler`` is given — and keeps ``out_dir/index.csv`` up to date after every video.
Scaling out is documented in docs/scaling.md. Dask is optional (``pip install
'fau[batch]'``) and imported only when a scheduler is used.

Note: ``import fau`` binds ``fau.batch`` to the function; import this package's modules
with ``from fau.batch.inputs import ...``.
"""

from __future__ import annotations

from .inputs import VIDEO_EXTENSIONS, VideoInput, collect_inputs, output_name
from .runner import INDEX_COLUMNS, INDEX_FILE, STATUSES, batch

__all__ = [
    "batch",
    "collect_inputs",
    "output_name",
    "VideoInput",
    "VIDEO_EXTENSIONS",
    "INDEX_COLUMNS",
    "INDEX_FILE",
    "STATUSES",
]
