"""fau's results as an ELAN annotation file (EAF 3.0), linked to the video.

ELAN (The Language Archive, MPI for Psycholinguistics; Wittenburg et al., 2006) is the
annotation tool of many behavioural and linguistic labs. `elan_document` builds an EAF
document with `pympi-ling` (``pympi.Elan.Eaf``, a maintained EAF reader/writer), in
format 3.0 (``FORMAT="3.0"``, schema ``EAFv3.0.xsd``), times in milliseconds:

- a **media descriptor** for the video (``MEDIA_URL`` an absolute ``file:///`` URL as
  ELAN writes it, `elan_file_url`; ``RELATIVE_MEDIA_URL`` relative to the .eaf's folder
  when it is given, ``./clip.mp4`` or ``../videos/clip.mp4``), so ELAN opens the video
  with the annotations;
- tier ``segments``: the segments (label, or ``segment k``);
- per person ``P<id>`` (fau's ``track_id``):
  ``P<id> speaking`` (runs of ``speaking`` frames, value ``speaking``),
  ``P<id> expression`` (expression episodes, value e.g. ``happiness (peak 0.83)``),
  ``P<id> AU events`` (AU episodes, value e.g. ``AU12 (peak 0.081 IOD)``, with
  ``during speech`` where it applies).

An ELAN tier cannot hold overlapping annotations, so where episodes overlap (two AUs at
once) the extra ones go to numbered tiers (``P0 AU events 2``, ...): each annotation is
put on the first tier of its kind that is free at its onset. Every annotation lasts at
least 1 ms. The time slots are numbered and listed in time order. All tiers use one
linguistic type, ``fau``, time-alignable.
"""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import FauError
from ..xmlsafe import xml_safe

__all__ = ["LINGUISTIC_TYPE", "elan_document", "elan_file_url", "media_type", "speaking_runs"]

#: The linguistic type of every tier fau writes (time-alignable, no constraint).
LINGUISTIC_TYPE = "fau"
#: EAF format written (ELAN 5.x/6.x read it).
EAF_FORMAT = "3.0"


def media_type(name: str) -> str:
    """The MIME type of a linked media file, from its extension: Python's own table
    (`mimetypes.MimeTypes`, not the host's MIME database, so the same video gets the same
    .eaf on every machine), else ``video/*``, ELAN's generic video type."""
    return mimetypes.MimeTypes().guess_type(name)[0] or "video/*"


def _unit(au: str) -> str:
    """The unit of an AU event's peak in a label: ``IOD``, or ``opening`` for the eye
    closures (AU43, AU45), measured in neutral eye openings (``fau.au.AU_UNITS``)."""
    from ..au import AU_UNITS, IOD_UNIT

    return "IOD" if AU_UNITS.get(au, IOD_UNIT) == IOD_UNIT else "opening"


def _ms(t: float) -> int:
    return int(round(float(t) * 1000.0))


def speaking_runs(frames: pd.DataFrame) -> list[tuple[int, float, float]]:
    """``(track_id, start, end)`` (s) of each run of consecutive ``speaking`` frames.

    A run ends one frame interval (the track's median) after its last speaking frame, or
    at the next frame if that comes sooner (the frame is shown until the next one), so
    runs never overlap. A gap in the track's frames ends a run where it ends an event
    (`fau.video.find_events`): longer than `GAP_INTERVALS` intervals and than `BRIEF_S`.
    """
    # a longer gap ends a run, as it ends events
    from ..video.temporal import BRIEF_S, GAP_INTERVALS

    if "speaking" not in frames.columns or not len(frames):
        return []
    out = []
    for tid, g in frames.groupby("track_id", sort=True):
        g = g.sort_values("timestamp", kind="stable")
        t = g["timestamp"].to_numpy(np.float64)
        s = g["speaking"].to_numpy(bool)
        d = np.diff(t)
        step = float(np.median(d[d > 0])) if (d > 0).any() else 0.04
        longest = max(GAP_INTERVALS * step, BRIEF_S)  # longest time step within a run
        i = 0
        while i < len(s):
            if not s[i]:
                i += 1
                continue
            j = i
            while j + 1 < len(s) and s[j + 1] and t[j + 1] - t[j] <= longest:
                j += 1
            end = t[j] + step
            nxt = int(np.searchsorted(t, t[j], side="right"))  # the next frame shown
            if nxt < len(t):  # (with a variable frame rate it can come within one step)
                end = min(end, t[nxt])
            out.append((int(tid), float(t[i]), float(end)))
            i = j + 1
    return out


class _Lanes:
    """Tiers of one kind: each annotation goes on the first tier free at its start."""

    def __init__(self, eaf, name: str) -> None:
        self.eaf, self.name, self.ends = eaf, name, []

    def add(self, start_ms: int, end_ms: int, value: str) -> None:
        end_ms = max(end_ms, start_ms + 1)
        for k, end in enumerate(self.ends):
            if start_ms >= end:
                break
        else:
            k = len(self.ends)
            self.ends.append(0)
            self.eaf.add_tier(self.name if k == 0 else f"{self.name} {k + 1}",
                              ling=LINGUISTIC_TYPE)
        self.ends[k] = end_ms
        self.eaf.add_annotation(self.name if k == 0 else f"{self.name} {k + 1}",
                                start_ms, end_ms, value)

    def ensure(self) -> None:
        """Create the first tier even when it stays empty (every kind is listed)."""
        if not self.ends:
            self.ends.append(0)
            self.eaf.add_tier(self.name, ling=LINGUISTIC_TYPE)


def _number_slots_in_time_order(eaf) -> None:
    """Renumber the document's time slots ``ts1 … tsN`` in time order.

    pympi numbers the slots as the annotations are added (tier by tier) and writes them in
    that order, so ``TIME_ORDER`` went back and forth in time (361, 1395, 27, 227 ms, …).
    EAF's ``TIME_ORDER`` is the ordered time line of the document (EAF 3.0 documentation,
    "TIME_ORDER"); ELAN and strict readers expect the slots in increasing time.
    """
    old = sorted(eaf.timeslots, key=lambda ts: (eaf.timeslots[ts], int(ts[2:])))
    new = {ts: f"ts{k}" for k, ts in enumerate(old, 1)}
    eaf.timeslots = {new[ts]: eaf.timeslots[ts] for ts in old}
    for aligned, *_ in eaf.tiers.values():
        for aid, (a, b, value, svg) in list(aligned.items()):
            aligned[aid] = (new[a], new[b], value, svg)
    eaf.maxts = len(old)


def _check_times(times: np.ndarray, what: str) -> None:
    """`FauError` unless every time is a finite number of seconds >= 0: EAF times are
    unsigned milliseconds (``xsd:unsignedInt``), and pympi raises a bare ``ValueError``
    ("Start is negative...") from inside for an earlier one."""
    t = np.asarray(times, dtype=np.float64)
    bad = ~(np.isfinite(t) & (t >= 0))
    if bad.any():
        i = int(np.argmax(bad))
        raise FauError(f"an ELAN file needs {what} of 0 s or later (EAF times are unsigned "
                       f"milliseconds); {int(bad.sum())} are not, the first at row {i}: "
                       f"{float(t[i])}")


def _file_date(media: str | os.PathLike | None) -> str:
    """ISO 8601 modification time (UTC) of a local file; the Unix epoch otherwise."""
    from datetime import datetime, timezone

    t = 0.0
    if media is not None and "://" not in str(media) and Path(media).is_file():
        t = Path(media).stat().st_mtime
    return datetime.fromtimestamp(int(t), tz=timezone.utc).isoformat()


def elan_file_url(path: str | os.PathLike) -> str:
    """The ``MEDIA_URL`` ELAN itself writes for a local file: ``file:///`` and the absolute
    path with forward slashes, **not** percent-encoded (ELAN's
    ``FileUtility.pathToURLString``; ``file://host/share`` for a Windows network path).

    ELAN reads the link back by removing the scheme (``FileUtility.urlToAbsPath``) without
    decoding, so the RFC 8089 form ``file:///my%20clip.mp4`` names a file that does not
    exist; a name with bytes that are not UTF-8 (lone surrogates, which XML text cannot
    hold) keeps that %-encoded form (`pathlib.Path.as_uri`).

    Parameters
    ----------
    path : path
        The local video (made absolute).

    Returns
    -------
    str
        The URL, e.g. ``file:///data/my interview.mp4``.
    """
    p = Path(path).resolve()
    s = p.as_posix()
    if s.startswith("//") and not s.startswith("///"):  # a Windows network path, //host/share/...
        url = "file:" + s
    else:
        url = "file:///" + s.lstrip("/")
    return url if xml_safe(url) == url else p.as_uri()


def _media(eaf, media: str | os.PathLike, eaf_path: str | os.PathLike | None) -> None:
    p = Path(media)
    url = elan_file_url(p) if "://" not in str(media) else str(media)
    rel = None
    if eaf_path is not None and "://" not in str(media):
        try:
            rel = Path(os.path.relpath(p.resolve(), Path(eaf_path).resolve().parent)).as_posix()
        except ValueError:  # Windows: the video and the .eaf are on different drives
            rel = None
        if rel is not None and not rel.startswith("../"):  # ELAN's forms: ./a.mp4, ../a.mp4
            rel = "./" + rel
        if rel is not None and xml_safe(rel) != rel:
            # a name with bytes that are not UTF-8 (kept by Python as lone surrogates)
            # cannot be written as text; MEDIA_URL (`elan_file_url`) percent-encodes its bytes
            rel = None
    mime = media_type(str(p))
    eaf.add_linked_file(url, relpath=rel, mimetype=mime)


def _add_events(events: pd.DataFrame, aus: dict, expr: dict) -> None:
    """Put each event (`fau.video.find_events` rows, times checked) on its person's
    ``AU events`` or ``expression`` tiers (``aus``/``expr``: `_Lanes` by track id), in
    onset order; events of tracks without frames are left out."""
    onset = events["onset"].to_numpy(np.float64)
    _check_times(onset, "event onsets")
    _check_times(onset + events["duration"].to_numpy(np.float64), "event ends")
    ev = events.sort_values(["onset", "name"], kind="stable")
    for e in ev.itertuples(index=False):
        tid = int(e.track_id)
        if tid not in aus:
            continue
        start, end = _ms(e.onset), _ms(e.onset + e.duration)
        if e.kind == "au":
            value = f"{e.name} (peak {e.peak:.3f} {_unit(e.name)})"
            during = getattr(e, "during_speech", None)
            if during is not None and not pd.isna(during) and bool(during):
                value += ", during speech"
            aus[tid].add(start, end, value)
        else:
            expr[tid].add(start, end, f"{e.name} (peak {e.peak:.2f})")


def elan_document(
    frames: pd.DataFrame,
    events: pd.DataFrame | None = None,
    segments: pd.DataFrame | None = None,
    *,
    media: str | os.PathLike | None = None,
    media_name: str | None = None,
    eaf_path: str | os.PathLike | None = None,
    author: str = "fau",
    date: str | None = None,
) -> str:
    """An EAF 3.0 document (XML text) of a video's results (see module docs).

    Parameters
    ----------
    frames : DataFrame
        `fau.Detector.detect_video` output (``track_id``, ``timestamp``, ``speaking``).
    events : DataFrame or None
        `fau.video.find_events` rows (default: computed from ``frames``).
    segments : DataFrame, list, path or None
        The segments: `fau.video.read_segments` rows (``start``, ``end``, ``label``) or
        anything it reads (checked by it).
    media : path or None
        The video to link (default ``frames.attrs["video"]["path"]``); None: no link.
    media_name : str or None
        Link the video by this file name alone, in the .eaf's own folder
        (``./<name>``), instead of by ``media``'s path: for a file analysed under another
        name than the user's (a service upload), so the link neither names a server path
        nor misses the user's copy. ``media`` still gives the default ``DATE``.
    eaf_path : path or None
        Where the document will be saved, for the relative media URL.
    author : str
        The document's ``AUTHOR``.
    date : str or None
        The document's ``DATE`` (ISO 8601). Default: the linked video's modification
        time (UTC), so the same analysis of the same file gives the same bytes (batch
        resume compares outputs); ``1970-01-01T00:00:00+00:00`` without a local video.

    Returns
    -------
    str
        The XML text (UTF-8 declared).

    Raises
    ------
    FauError
        ``frames`` is not a video table; a timestamp or event time before 0 s or not
        finite (EAF times are unsigned); bad ``segments`` (`fau.video.read_segments`).
    """
    from pympi.Elan import Eaf, to_string

    if "track_id" not in frames.columns or "timestamp" not in frames.columns:
        raise FauError("an ELAN file needs a detect_video table (track_id, timestamp)")
    _check_times(frames["timestamp"], "timestamps")
    if segments is not None:  # times checked (FauError), labels "" where missing
        from ..video.segments import read_segments

        segments = read_segments(segments)
    if events is None:
        from ..video.temporal import find_events

        events = find_events(frames)
    if media is None:
        media = (frames.attrs.get("video") or {}).get("path")
    eaf = Eaf(author=author)
    eaf.adocument.update({
        "DATE": date or _file_date(media),
        "VERSION": EAF_FORMAT, "FORMAT": EAF_FORMAT,
        "xsi:noNamespaceSchemaLocation": "http://www.mpi.nl/tools/elan/EAFv3.0.xsd",
    })
    eaf.remove_tier("default")
    eaf.remove_linguistic_type("default-lt")
    eaf.add_linguistic_type(LINGUISTIC_TYPE, timealignable=True, graphicreferences=False)
    if media_name is not None:
        name = "./" + str(media_name).replace("\\", "/").rsplit("/", 1)[-1]
        mime = media_type(name)
        eaf.add_linked_file(name, relpath=name, mimetype=mime)
    elif media is not None:
        _media(eaf, media, eaf_path)
    seg = _Lanes(eaf, "segments")
    seg.ensure()
    if segments is not None:  # by start (lanes are filled in time order); numbered as given
        order = np.argsort(segments["start"].to_numpy(np.float64), kind="stable")
        for k in order:
            s = segments.iloc[int(k)]
            seg.add(_ms(s["start"]), _ms(s["end"]), str(s["label"]) or f"segment {k}")
    tracks = sorted(int(t) for t in pd.unique(frames["track_id"]))
    speak = {t: _Lanes(eaf, f"P{t} speaking") for t in tracks}
    expr = {t: _Lanes(eaf, f"P{t} expression") for t in tracks}
    aus = {t: _Lanes(eaf, f"P{t} AU events") for t in tracks}
    for t in tracks:
        for lanes in (speak[t], expr[t], aus[t]):
            lanes.ensure()
    for tid, a, b in speaking_runs(frames):
        speak[tid].add(_ms(a), _ms(b), "speaking")
    if events is not None and len(events):
        _add_events(events, aus, expr)
    eaf.header = {"MEDIA_FILE": "", "TIME_UNITS": "milliseconds"}
    eaf.properties = [("lastUsedAnnotationId", eaf.maxaid)]
    _number_slots_in_time_order(eaf)
    text = to_string(eaf, pretty=True)
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    # a segment label or file name may hold characters XML 1.0 cannot carry (control
    # characters such as a spreadsheet's vertical tab): ElementTree writes them, and ELAN
    # then cannot open the file; they become U+FFFD (markup never holds them)
    text = xml_safe(text)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + text
