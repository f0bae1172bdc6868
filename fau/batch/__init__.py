"""Batch analysis of many videos: joblib processes locally, Dask distributed on a cluster.

>>> import fau.batch
>>> index = fau.batch.run_batch(["interviews/", "more.csv"], "results", fps=5)  # doctest: +SKIP

`run_batch` (also ``fau.run_batch``) expands the inputs (`collect_inputs`), skips videos
whose outputs are complete and current (``done.json`` markers, see `fau.batch.store`),
runs the rest one video per task — on ``jobs`` local joblib (loky) processes, or on a
Dask cluster when a ``scheduler`` is given — and keeps ``out_dir/index.csv`` up to date
after every video. Each video is one `fau.job.run_video_job` (the job ``fau video`` and
the web service run too). Scaling out is documented in docs/scaling.md. Dask is
optional (``pip install 'fau[batch]'``) and imported only when a scheduler is used.
"""

from __future__ import annotations

from .inputs import VIDEO_EXTENSIONS, VideoInput, collect_inputs, output_name
from .runner import INDEX_COLUMNS, INDEX_FILE, STATUSES, run_batch

__all__ = [
    "run_batch",
    "collect_inputs",
    "output_name",
    "VideoInput",
    "VIDEO_EXTENSIONS",
    "INDEX_COLUMNS",
    "INDEX_FILE",
    "STATUSES",
]
