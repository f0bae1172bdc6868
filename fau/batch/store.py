"""Input fingerprints and the done-marker that makes a batch resumable.

A video's outputs are complete only when its ``done.json`` marker — written last,
atomically — exists and still matches: same input path, size and modification time,
same segment file, same analysis options, and every output file present with the size
and SHA-256 the marker recorded. Anything else (no marker, a changed input, a missing,
truncated or edited output) means the video is analysed again. Every file is written
with `fau.files` (temporary file + fsync + rename).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any, Mapping

from ..files import to_json_safe, write_json

__all__ = [
    "DONE_MARKER",
    "MARKER_VERSION",
    "fingerprint",
    "file_digest",
    "write_marker",
    "read_complete_marker",
]

log = logging.getLogger(__name__)

#: File name of the completion marker in each video's output folder.
DONE_MARKER = "done.json"
#: Marker layout version; a marker of another version is treated as incomplete.
MARKER_VERSION = 1
_CHUNK = 1 << 20  # bytes read at a time when hashing


def fingerprint(path: Path | None) -> dict[str, Any] | None:
    """``{"path", "size", "mtime_ns"}`` of a file, None for None.

    Size and modification time identify a version of an input cheaply (hashing
    thousands of long videos on every rerun would cost as much as reading them).
    """
    if path is None:
        return None
    st = os.stat(path)
    return {"path": os.fspath(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def file_digest(path: Path) -> dict[str, Any]:
    """``{"size", "sha256"}`` of an output file."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
            size += len(chunk)
    return {"size": size, "sha256": h.hexdigest()}


def write_marker(folder: Path, *, key: Mapping[str, Any], outputs: list[str],
                 record: Mapping[str, Any]) -> None:
    """Write ``folder/done.json`` last: what was analysed, how, and what came out.

    Parameters
    ----------
    folder : Path
        The video's output folder.
    key : mapping
        Everything the outputs depend on (input and segment fingerprints, options).
    outputs : list of str
        File names (in ``folder``) to record with size and SHA-256.
    record : mapping
        Result fields kept for reruns (duration_s, faces, frames, seconds, ...).
    """
    marker = {
        "version": MARKER_VERSION,
        "key": dict(key),
        "outputs": {name: file_digest(folder / name) for name in outputs},
        "record": dict(record),
    }
    write_json(folder / DONE_MARKER, marker, overwrite=True)


def read_complete_marker(folder: Path, key: Mapping[str, Any]) -> dict[str, Any] | None:
    """The marker's ``record`` if the folder's outputs are complete for ``key``, else None.

    Checks the marker version, that ``key`` equals the recorded key (after a JSON round
    trip), and every recorded output's size and SHA-256.
    """
    path = folder / DONE_MARKER
    try:
        marker = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("unreadable marker %s (%s): analysing again", path, exc)
        return None
    if not isinstance(marker, dict) or marker.get("version") != MARKER_VERSION:
        return None
    if marker.get("key") != json.loads(json.dumps(to_json_safe(dict(key)))):
        log.info("%s: input or options changed since the last run", folder.name)
        return None
    outputs = marker.get("outputs")
    if not isinstance(outputs, dict) or not outputs:
        return None
    for name, expected in outputs.items():
        if not isinstance(expected, dict) or Path(name).name != name or name in ("", ".", ".."):
            log.warning("malformed marker %s (output entry %r): analysing again", path, name)
            return None
        f = folder / name
        try:
            if f.stat().st_size != expected.get("size"):
                log.info("%s: %s has changed size", folder.name, name)
                return None
            if file_digest(f) != expected:
                log.info("%s: %s has changed content", folder.name, name)
                return None
        except OSError:
            log.info("%s: %s is missing", folder.name, name)
            return None
    record = marker.get("record")
    return record if isinstance(record, dict) else None
