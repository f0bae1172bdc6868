"""One video, start to finish: analyse → events → segments → summary → output files.

`run_video_job` is the one per-video job of fau, used by ``fau video``, by every batch
worker (`fau.batch`) and by the web service's job workers. The steps:

1. check every output path before the (long) analysis (`JobOutputs.check`);
2. read the segments (`fau.video.read_segments`), if any, and refuse one that starts at
   or after the end of the video (the duration in its header, as the web service does),
   and a ``start`` at or after it;
3. analyse the video (`fau.Detector.detect_video`: tracking, AUs, expressions,
   smoothing, baselines);
4. find events (`fau.video.find_events`) and summarise per segment
   (`fau.video.summarize_segments`) and per track (`summary_of`);
5. write the outputs that were asked for, each atomically (`fau.files`).

Adding an output kind: add an optional path field to `JobOutputs` and an entry to
`OUTPUT_KINDS` (its accepted extensions and its writer); the checks, the writing and
the callers' bookkeeping pick it up from there.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
import math
import numbers
import os
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

import pandas as pd

from .errors import FauError
from .files import TABLE_FORMATS, check_output, write_json, write_table, write_text

if TYPE_CHECKING:  # pragma: no cover
    from .detector import Detector

__all__ = [
    "JobOutputs",
    "VideoResult",
    "OutputKind",
    "OUTPUT_KINDS",
    "run_video_job",
    "analyse_video",
    "summary_of",
    "report_supported",
    "WHOLE_VIDEO",
]

log = logging.getLogger(__name__)

#: Label of the whole-video pseudo-segment used for the per-track summary.
WHOLE_VIDEO = "whole video"


@dataclass(frozen=True)
class JobOutputs:
    """Where a video job writes its results; None = not written.

    Attributes
    ----------
    frames : path or None
        Per-frame table (one row per face per analysed frame): .csv, .json or .parquet.
    events : path or None
        Event table (`fau.video.find_events`): .csv, .json or .parquet.
    segment_summary : path or None
        Per-segment summary table (`fau.video.summarize_segments`; needs segments).
    summary : path or None
        JSON summary of the whole video (`summary_of`).
    report : path or None
        Self-contained HTML report (`fau.report.render_report`).
    openface : path or None
        OpenFace 2.x-style CSV (`fau.export.openface_csv`): .csv.
    elan : path or None
        ELAN annotation file linked to the video (`fau.export.elan_document`): .eaf.
    """

    frames: str | os.PathLike | None = None
    events: str | os.PathLike | None = None
    segment_summary: str | os.PathLike | None = None
    summary: str | os.PathLike | None = None
    report: str | os.PathLike | None = None
    openface: str | os.PathLike | None = None
    elan: str | os.PathLike | None = None

    def items(self) -> Iterator[tuple[str, Path]]:
        """``(kind, path)`` of every output asked for, in field order."""
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is not None:
                yield f.name, Path(value)

    def check(self, *, video: str | os.PathLike | None = None, overwrite: bool = False,
              has_segments: bool = True, segments: Any = None) -> None:
        """Fail (`FauError`) now on an output that could not be written later.

        Checks each path's type and extension (`OUTPUT_KINDS`), its folder, that it does
        not exist (unless ``overwrite``), is neither the input ``video`` nor the
        ``segments`` file (when that is a path), and that no two outputs share a name; a
        ``segment_summary`` needs segments.
        """
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is not None and not isinstance(value, (str, os.PathLike)):
                raise FauError(f"{OUTPUT_KINDS[f.name].label} must be a file path, got "
                               f"{type(value).__name__}")
        inputs = {"input video": video}
        if isinstance(segments, (str, os.PathLike)):
            inputs["segments file"] = segments
        sources = {_resolved(v): name for name, v in inputs.items() if v is not None}
        seen: dict[Path, str] = {}
        for kind, path in self.items():
            spec = OUTPUT_KINDS[kind]
            check_output(path, overwrite=overwrite, suffixes=spec.suffixes, what=spec.label)
            resolved = path.resolve()
            if resolved in sources:
                raise FauError(f"{spec.label} would overwrite the {sources[resolved]} "
                               f"{str(path)!r}")
            if resolved in seen:
                raise FauError(f"two outputs have the same name {str(path)!r}")
            seen[resolved] = kind
            if spec.needs_segments and not has_segments:
                raise FauError(f"{spec.label} needs segments (--segments)")


def _resolved(path: str | os.PathLike) -> Path | None:
    """``path`` resolved, or None where it cannot be (a symbolic link loop: the reader
    names it)."""
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError, TypeError):
        return None


@dataclass
class VideoResult:
    """What a video job produced.

    Attributes
    ----------
    frames : pandas.DataFrame
        `fau.Detector.detect_video`'s table (``attrs`` hold the decoding facts).
    events : pandas.DataFrame
        `fau.video.find_events` rows.
    segments : pandas.DataFrame or None
        The segments read (`fau.video.read_segments`), if any.
    segment_summary : pandas.DataFrame or None
        `fau.video.summarize_segments` rows (None without segments).
    summary : dict
        JSON-ready summary (`summary_of`, plus the caller's ``meta`` fields first).
    model : str or None
        Name of the expression model used.
    title : str or None
        Title of the report (default: the video's file name).
    media_name : str or None
        The name the ELAN file links the video by (default: the analysed path).
    written : dict
        Output kind → path of every file written.
    """

    frames: pd.DataFrame
    events: pd.DataFrame
    segments: pd.DataFrame | None
    segment_summary: pd.DataFrame | None
    summary: dict[str, Any]
    model: str | None = None
    title: str | None = None
    media_name: str | None = None
    written: dict[str, Path] = field(default_factory=dict)

    def report_html(self) -> str:
        """The HTML report of this result (`fau.report.render_report`)."""
        from .report import render_report

        return render_report(self.frames, events=self.events, segments=self.segments,
                             summary=self.segment_summary, title=self.title, model=self.model)

    def write(self, outputs: JobOutputs, *, overwrite: bool = False) -> dict[str, Path]:
        """Write every output in ``outputs`` (atomically); returns kind → path."""
        for kind, path in outputs.items():
            OUTPUT_KINDS[kind].write(self, path, overwrite)
            self.written[kind] = path
        return dict(self.written)


@dataclass(frozen=True)
class OutputKind:
    """How one kind of job output is checked and written.

    Attributes
    ----------
    suffixes : tuple of str
        Accepted file extensions (lower case).
    write : callable
        ``write(result, path, overwrite)``.
    label : str
        How error messages name it.
    needs_segments : bool
        Only possible when the job has segments.
    """

    suffixes: tuple[str, ...]
    write: Callable[[VideoResult, Path, bool], Any]
    label: str
    needs_segments: bool = False


def _write_segments(result: VideoResult, path: Path, overwrite: bool) -> None:
    if result.segment_summary is None:
        raise FauError("a segment summary needs segments")
    write_table(result.segment_summary, path, overwrite=overwrite)


def _write_openface(result: VideoResult, path: Path, overwrite: bool) -> None:
    from .export import openface_csv
    from .video import find_events

    # OpenFace's AUxx_c is presence in every frame, speech or not: all AU episodes.
    events = find_events(result.frames, expressions=False, speech_aus="keep")
    write_text(path, openface_csv(result.frames, events), overwrite=overwrite)


def _write_elan(result: VideoResult, path: Path, overwrite: bool) -> None:
    from .export import elan_document

    text = elan_document(result.frames, result.events, result.segments, eaf_path=path,
                         media_name=result.media_name)
    write_text(path, text, overwrite=overwrite)


_TABLES = tuple(TABLE_FORMATS)
#: Every output kind of `JobOutputs`, by field name.
OUTPUT_KINDS: Mapping[str, OutputKind] = MappingProxyType({
    "frames": OutputKind(_TABLES, lambda r, p, o: write_table(r.frames, p, overwrite=o),
                         "the per-frame table (--out)"),
    "events": OutputKind(_TABLES, lambda r, p, o: write_table(r.events, p, overwrite=o),
                         "the event table (--events)"),
    "segment_summary": OutputKind(_TABLES, _write_segments, "the segment summary (--summary)",
                           needs_segments=True),
    "summary": OutputKind((".json",), lambda r, p, o: write_json(p, r.summary, overwrite=o),
                          "the JSON summary"),
    "report": OutputKind((".html", ".htm"),
                         lambda r, p, o: write_text(p, r.report_html(), overwrite=o),
                         "the report (--report)"),
    "openface": OutputKind((".csv",), _write_openface, "the OpenFace CSV (--openface-csv)"),
    "elan": OutputKind((".eaf",), _write_elan, "the ELAN file (--elan)"),
})


def report_supported() -> bool:
    """Whether this installation can write HTML reports (`fau.report` and matplotlib)."""
    return all(importlib.util.find_spec(m) is not None for m in ("fau.report", "matplotlib"))


def _records(df: pd.DataFrame | None) -> list[dict[str, Any]]:
    if df is None or df.empty:
        return []
    return df.astype(object).where(df.notna(), None).to_dict(orient="records")


def summary_of(frames: pd.DataFrame, events: pd.DataFrame,
               segment_summary: pd.DataFrame | None) -> dict[str, Any]:
    """JSON-ready summary of a `detect_video` table.

    Returns
    -------
    dict
        ``duration_s`` (video length: the container's duration, else the last decoded
        timestamp), ``decoded_frames``, ``analysed_frames``, ``truncated``, ``decoding``
        (decode statistics of `fau.video.reader.DecodeStats`, when the reader gives
        them: frames expected and lost, damaged packets, gaps), ``faces`` (number of
        tracks), ``video`` (header facts), ``tracks`` (one
        `fau.video.summarize_segments` row per track over the whole video), ``segments``
        (``segment_summary``'s rows; empty without segments) and ``events``
        (`fau.video.find_events` rows).
    """
    from .video import summarize_segments

    attrs = frames.attrs
    info = attrs.get("video") or {}
    duration = info.get("duration")
    if duration is None and len(frames):
        duration = float(frames["timestamp"].max())
    end = max(float(duration or 0.0), float(frames["timestamp"].max()) if len(frames) else 0.0)
    whole = summarize_segments(frames, [(0.0, end + 1e-3, WHOLE_VIDEO)], events)
    whole = whole[whole["track_id"] >= 0].drop(columns=["segment", "label", "start", "end"])
    return {
        "duration_s": None if duration is None else round(float(duration), 3),
        "decoded_frames": attrs.get("decoded_frames"),
        "analysed_frames": attrs.get("analysed_frames"),
        "truncated": attrs.get("truncated"),
        "decoding": attrs.get("decoding"),
        "faces": int(frames["track_id"].nunique()) if len(frames) else 0,
        "video": info,
        "tracks": _records(whole),
        "segments": _records(segment_summary),
        "events": _records(events),
    }


def _header_duration_s(path: str | os.PathLike, max_pixels: int | None) -> float | None:
    """The duration the video's header declares (s; nothing decoded; None where it has
    none, as in browser MediaRecorder WebM: segments are then not checked against it,
    as in the web service). Raises what `fau.video.reader.probe` raises for a file that
    is not a usable video."""
    from .video.reader import probe

    kw = {} if max_pixels is None else {"max_pixels": int(max_pixels)}
    return probe(path, **kw).duration


def _check_start(start: Any, duration_s: float | None) -> None:
    """Refuse a ``start`` at or after the end of the video by its header's duration: no
    frame could be analysed (the rule for segments, `fau.video.read_segments`). A
    ``start`` that is not a number is left to `fau.video.iter_frames`' own check."""
    if (duration_s is None or isinstance(start, bool) or not isinstance(start, numbers.Real)
            or not math.isfinite(start)):
        return
    if start >= duration_s:
        raise FauError(f"start ({float(start):g} s) is at or after the end of the video, "
                       f"which lasts {duration_s:g} s")


def analyse_video(
    detector: "Detector",
    path: str | os.PathLike,
    *,
    segments: Any = None,
    meta: Mapping[str, Any] | None = None,
    title: str | None = None,
    media_name: str | None = None,
    **detect: Any,
) -> VideoResult:
    """Steps 2-4 of a job (no files written): analyse, events, summaries.

    Parameters
    ----------
    detector : fau.Detector
        Its ``detect_video`` method analyses the video.
    path : str or path-like
        The video.
    segments : path, bytes, DataFrame, list or None
        Anything `fau.video.read_segments` reads; a segment that starts at or after the
        end of the video (its header's duration) is refused before the analysis, and so
        is a ``start`` (in ``detect``) at or after it.
    meta : mapping or None
        Fields put first in the JSON summary (e.g. the input's name).
    title : str or None
        Report title (default: the video's file name).
    media_name : str or None
        File name the ELAN output links the video by (`VideoResult.media_name`).
    **detect
        Keyword arguments of `fau.video.detect_video` (``fps``, ``start``, ``end``,
        ``baseline``, ``progress``, ``threaded``, ...).
    """
    from .video import find_events, read_segments, summarize_segments

    seg = None
    start = detect.get("start")
    duration = (_header_duration_s(path, detect.get("max_pixels"))
                if segments is not None or start is not None else None)
    _check_start(start, duration)  # a start past the video's end: fail early, as segments do
    if segments is not None:  # a bad file, or a segment past the video's end: fail early
        seg = read_segments(segments, max_s=duration)
    frames = detector.detect_video(path, **detect)
    events = find_events(frames)
    seg_summary = summarize_segments(frames, seg, events) if seg is not None else None
    summary = {**dict(meta or {}), **summary_of(frames, events, seg_summary)}
    model = getattr(detector, "expression_model_name", None)
    return VideoResult(frames=frames, events=events, segments=seg, segment_summary=seg_summary,
                       summary=summary, model=model, title=title, media_name=media_name)


def run_video_job(
    detector: "Detector",
    path: str | os.PathLike,
    outputs: JobOutputs | None,
    *,
    segments: Any = None,
    overwrite: bool = False,
    meta: Mapping[str, Any] | None = None,
    title: str | None = None,
    media_name: str | None = None,
    before_write: Callable[[VideoResult], None] | None = None,
    **detect: Any,
) -> VideoResult:
    """Analyse one video and write the outputs asked for: the one per-video job.

    Parameters
    ----------
    detector : fau.Detector
        Models and settings; reused across jobs by batch and service workers.
    path : str or path-like
        The video file.
    outputs : JobOutputs or None
        Files to write (each atomically; see `JobOutputs`); None writes none.
    segments : path, bytes, DataFrame, list or None
        Segments (`fau.video.read_segments`): per-segment summary and report bands.
    overwrite : bool
        Replace outputs that exist (default: refuse before analysing).
    meta : mapping or None
        Fields put first in the JSON summary.
    title : str or None
        Report title (default: the video's file name).
    media_name : str or None
        The user's name of the video when ``path`` is a copy under another name (a
        service upload): the ELAN output links ``./<media_name>`` beside itself.
    before_write : callable or None
        Called with the result before anything is written; raise to write nothing
        (e.g. the input changed during the analysis, or the job was cancelled).
    **detect
        Keyword arguments of `fau.video.detect_video` (``fps``, ``start``, ``end``,
        ``baseline``, ``progress``, ``threaded``, ...).

    Returns
    -------
    VideoResult
        Tables, summary and ``written`` (kind → path).

    Raises
    ------
    FauError
        A bad output path (before any analysis), bad segments (also one that starts
        at or after the video's end, by its header's duration; before any analysis), a
        ``start`` at or after the video's end (before any analysis), an unreadable
        video, a report without `fau.report`.
    """
    if outputs is None:
        outputs = JobOutputs()
    if not isinstance(outputs, JobOutputs):
        raise FauError(f"outputs must be a fau.JobOutputs (or None: write no file), got "
                       f"{type(outputs).__name__}")
    if not callable(getattr(detector, "detect_video", None)):
        raise FauError(f"detector must be a fau.Detector, got {type(detector).__name__}")
    outputs.check(video=path, overwrite=overwrite, has_segments=segments is not None,
                  segments=segments)
    if outputs.report is not None and not report_supported():
        raise FauError("HTML reports need fau.report and matplotlib, which this "
                       "installation lacks")
    result = analyse_video(detector, path, segments=segments, meta=meta, title=title,
                           media_name=media_name, **detect)
    if before_write is not None:
        before_write(result)
    result.write(outputs, overwrite=overwrite)
    return result
