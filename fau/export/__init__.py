"""Results in the formats researchers already use: OpenFace 2.x CSV, ELAN EAF 3.0.

Both are pure functions of `fau.Detector.detect_video`'s table (and the events and
segments): ``openface_csv(frames)``, ``elan_document(frames, events, segments)``; the
command line writes them with ``fau video CLIP --openface-csv out.csv --elan out.eaf``.
See ``docs/formats.md``.
"""

from .elan import elan_document, speaking_runs
from .openface import openface_columns, openface_csv, openface_rotation, openface_table

__all__ = [
    "elan_document",
    "speaking_runs",
    "openface_columns",
    "openface_csv",
    "openface_rotation",
    "openface_table",
]
