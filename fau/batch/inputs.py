"""Which videos a batch analyses: files, folders and CSV manifests → `VideoInput` list.

Every input gets an output name that is safe on any file system and unique: the file's
stem (unsafe characters replaced) plus a short hash of its absolute path, so two
``interview.mp4`` in different folders never share outputs, and the same file gets the
same name on every rerun (which is what makes a batch resumable).
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence, Union

from ..errors import FauError
from ..paths import check_input_file, expand_pattern, files_under

__all__ = [
    "VIDEO_EXTENSIONS",
    "MANIFEST_EXTENSIONS",
    "VideoInput",
    "collect_inputs",
    "output_name",
]

log = logging.getLogger(__name__)

#: File extensions (lower case) picked up when a folder is given. Files listed one by
#: one, or in a manifest, are analysed whatever their extension.
VIDEO_EXTENSIONS: frozenset[str] = frozenset({
    ".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".flv", ".mpg", ".mpeg", ".wmv",
    ".3gp", ".ts", ".mts", ".m2ts", ".ogv",
})
#: An input with this extension is a manifest (one video per row), not a video.
MANIFEST_EXTENSIONS: frozenset[str] = frozenset({".csv"})

#: Longest stem kept in an output name (characters); the path hash keeps names unique.
MAX_STEM = 80
#: Hex digits of SHA-256(absolute path) appended to each output name (48 bits: a
#: collision among 100,000 videos has probability ~2e-5; a collision is detected and
#: reported, never silently merged).
HASH_DIGITS = 12

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class VideoInput:
    """One video of a batch.

    Attributes
    ----------
    path : Path
        Absolute path of the video.
    segments : Path or None
        Absolute path of its segment CSV (``start, end, label``; seconds), if any.
    name : str
        Output name (folder under the batch's output directory).
    """

    path: Path
    segments: Path | None
    name: str


def output_name(path: PathLike) -> str:
    """Safe, unique output name of a video: ``<stem>-<hash of its absolute path>``.

    Parameters
    ----------
    path : str or os.PathLike
        The video's path (made absolute; symbolic links are not resolved, so two links
        to one file are two videos).

    Returns
    -------
    str
        ASCII letters, digits, ``.``, ``_`` and ``-`` only, at most
        ``MAX_STEM + 1 + HASH_DIGITS`` characters, never starting with a dot.
    """
    absolute = Path(os.path.abspath(os.fspath(path)))
    stem = _UNSAFE.sub("_", absolute.stem).strip("._-")[:MAX_STEM] or "video"
    digest = hashlib.sha256(os.fsencode(absolute)).hexdigest()[:HASH_DIGITS]
    return f"{stem}-{digest}"


def _absolute(path: PathLike, base: Path | None = None) -> Path:
    p = Path(os.path.expanduser(os.fspath(path)))
    if not p.is_absolute() and base is not None:
        p = base / p
    return Path(os.path.abspath(p))


def _scan_folder(folder: Path) -> list[Path]:
    """Video files under ``folder`` (recursive, sorted; hidden files and folders skipped)."""
    return files_under(folder, VIDEO_EXTENSIONS)


def read_manifest(path: Path) -> list[tuple[Path, Path | None]]:
    """Rows of a manifest CSV: ``path`` (required) and ``segments`` (optional) columns.

    Relative paths are relative to the manifest's folder. Empty ``segments`` cells mean
    no segment file.

    Raises
    ------
    FauError
        Unreadable manifest, no ``path`` column, or an empty ``path`` cell.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            fields = [f.strip() for f in (reader.fieldnames or [])]
            if "path" not in fields:
                raise FauError(
                    f"manifest {str(path)!r} needs a 'path' column (optional: 'segments'); "
                    f"its columns are {fields}"
                )
            reader.fieldnames = fields
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise FauError(f"cannot read manifest {str(path)!r}: {exc}") from None
    base = path.parent
    out = []
    for i, row in enumerate(rows, start=2):  # line 1 is the header
        video = (row.get("path") or "").strip()
        if not video:
            raise FauError(f"manifest {str(path)!r} line {i}: empty 'path'")
        seg = (row.get("segments") or "").strip()
        out.append((_absolute(video, base), _absolute(seg, base) if seg else None))
    return out


def collect_inputs(inputs: Sequence[PathLike] | PathLike) -> list[VideoInput]:
    """Expand files, folders and manifests into the list of videos to analyse.

    Parameters
    ----------
    inputs : path or sequence of paths
        Video files (any extension), folders (searched recursively for
        `VIDEO_EXTENSIONS`) and ``.csv`` manifests (see `read_manifest`). A path that
        does not exist and holds ``*``, ``?`` or ``[`` is a wildcard pattern, replaced
        by the paths it matches (`fau.paths.expand_pattern`: ``"talks/*.mp4"`` quoted,
        or from Windows' ``cmd``).

    Returns
    -------
    list of VideoInput
        In the order given (folders sorted), each video once (a later duplicate with the
        same path is dropped; if it names a different segment file, that is an error).

    Raises
    ------
    FauError
        A path given directly that does not exist, a folder without videos, a bad
        manifest, no input at all, or two videos whose output names collide.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    if not isinstance(inputs, Iterable) or isinstance(inputs, (bytes, bytearray)):
        raise FauError("inputs must be a video file, folder or manifest path, or a list of "
                       f"them, got {type(inputs).__name__}")
    items: list[tuple[Path, Path | None]] = []
    for raw in _expanded(inputs):
        if not str(os.fspath(raw)).strip():  # Path("") is ".": the current folder
            raise FauError(f"input: the path is empty ({os.fspath(raw)!r}); give a file or folder")
        p = _absolute(raw)
        if not p.exists():
            if p.is_symlink():  # a loop or a link to nothing: say so (fau.paths)
                check_input_file(p, "input")
            raise FauError(f"input {os.fspath(raw)!r} does not exist")
        if p.is_dir():
            videos = _scan_folder(p)
            if not videos:
                from ..io import image_extensions

                images = files_under(p, image_extensions())
                raise FauError(
                    f"folder {os.fspath(raw)!r} holds no video files "
                    f"({', '.join(sorted(VIDEO_EXTENSIONS))})"
                    + (f"; it holds {len(images)} image(s): analyse them with "
                       f"`fau image {os.fspath(raw)}`" if images else "")
                )
            items.extend((v, None) for v in videos)
        elif p.suffix.lower() in MANIFEST_EXTENSIONS:
            items.extend(read_manifest(p))
        else:
            items.append((p, None))
    if not items:
        raise FauError("no input videos given")
    return _dedupe(items)


def _expanded(inputs: Iterable[PathLike]) -> list[PathLike]:
    """``inputs`` with each wildcard pattern replaced by its matches (sorted)."""
    out: list[PathLike] = []
    for raw in inputs:
        found = expand_pattern(raw) if isinstance(raw, (str, os.PathLike)) else None
        out.extend([raw] if found is None else found)
    return out


def _dedupe(items: Iterable[tuple[Path, Path | None]]) -> list[VideoInput]:
    seen: dict[Path, VideoInput] = {}
    names: dict[str, Path] = {}
    for path, seg in items:
        if path in seen:
            if seen[path].segments != seg:
                raise FauError(
                    f"video {str(path)!r} is listed twice with different segment files "
                    f"({seen[path].segments} and {seg})"
                )
            log.info("dropping duplicate input %s", path)
            continue
        name = output_name(path)
        if name in names:  # pragma: no cover - needs a 48-bit hash collision
            raise FauError(f"output names of {names[name]} and {path} collide ({name})")
        names[name] = path
        seen[path] = VideoInput(path=path, segments=seg, name=name)
    return list(seen.values())
