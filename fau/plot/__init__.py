"""Figures for notebooks and reports (matplotlib, Figure API: no pyplot global state).

>>> import fau.plot                                    # doctest: +SKIP
>>> fig = fau.plot.timeline(df, segments="questions.csv")   # a detect_video table
>>> fig.savefig("timeline.png")                        # or just show it in a notebook

Every function returns a ``matplotlib.figure.Figure`` that is not registered with pyplot
(nothing global changes; in Jupyter the Figure displays itself). ``import fau`` does not
import matplotlib: only ``import fau.plot`` (or ``fau.report``) does.

* `timeline` — one face track over time: segments, expressions, a strip per AU, events;
* `au_heatmap` — segments (or time bins) × AUs, baseline-relative, diverging colours;
* `quality_strip` — face found / face score / head pose / face size, untrusted stretches;
* `face_aus` — one face's AU values drawn on its landmark mesh.
"""

from .face import face_aus
from .heatmap import au_heatmap, heatmap_table, time_bin_segments
from .quality import DEFAULT_RULE, QualityRule, doubtful_rows, quality_bins, untrusted_spans
from .quality_plot import quality_strip
from .time_series import timeline
from .units import au_unit

__all__ = ["timeline", "au_heatmap", "heatmap_table", "time_bin_segments", "quality_strip",
           "face_aus", "au_unit", "QualityRule", "DEFAULT_RULE", "doubtful_rows",
           "quality_bins", "untrusted_spans"]
