"""Pydantic models of every JSON body: they are the OpenAPI schema at ``/openapi.json``."""

from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Box", "Pose", "Gaze", "Explanation", "Face", "StreamFace", "ImageResult", "ErrorBody", "JobCreated",
    "Job", "JobList", "StreamResult", "StreamError", "Info", "NOTICE",
]

#: The responsible-use notice, shown on the page and returned by ``GET /v1/info``.
NOTICE = (
    "fau measures visible facial movements (action units) and scores how an expression "
    "would likely be read by people. It does not know what anyone feels: the same "
    "movement can mean different things in different people and situations (Barrett et "
    "al., 2019, Psychological Science in the Public Interest 20(1)). Inferring the "
    "emotions of job candidates or employees is prohibited in the EU (AI Act, Art. "
    "5(1)(f)); fau offers no candidate scoring or ranking and must not be used for it."
)


class Box(BaseModel):
    """Tight box of the 478 face-mesh landmarks, in pixels of the analysed image."""

    x: Optional[float] = Field(description="left edge (px, from the image's left)")
    y: Optional[float] = Field(description="top edge (px, from the image's top)")
    w: Optional[float] = Field(description="width (px)")
    h: Optional[float] = Field(description="height (px)")


class Pose(BaseModel):
    """Head rotation in degrees (see `fau.au.head_pose`)."""

    pitch: Optional[float]
    yaw: Optional[float]
    roll: Optional[float]


class Gaze(BaseModel):
    """Eye gaze in degrees, in the camera frame (the eyes combined with the head's
    rotation; yaw > 0 towards the image's right, pitch > 0 up, (0, 0) into the camera;
    null during a blink; see `fau.au.gaze`)."""

    yaw: Optional[float]
    pitch: Optional[float]


class Explanation(BaseModel):
    """Why one expression got its score: TreeSHAP contributions to its calibrated logit."""

    bias: Optional[float] = Field(description="expected logit (model bias)")
    logit: Optional[float] = Field(description="bias + sum of contributions")
    probability: Optional[float] = Field(description="the expression's probability (0-1)")
    contributions: dict[str, Optional[float]] = Field(
        description="contribution per group: an AU name, head_pose, shape, blendshapes "
        "or appearance")


class Face(BaseModel):
    """One face."""

    face: int = Field(description="index of the face in this image (0-based)")
    box: Box
    score: Optional[float] = Field(description="face-presence probability of the landmark model (0-1)")
    pose: Pose
    gaze: Gaze
    aus: dict[str, Optional[float]] = Field(
        description="action-unit intensities (fractions of the inter-ocular distance; "
        "fau.AU_NAMES), keyed AU01 ... AU45, AU12_L ...")
    expressions: Optional[dict[str, Optional[float]]] = Field(
        description="expression probabilities (sum to 1) keyed anger, disgust, fear, "
        "happiness, sadness, surprise, neutral, contempt; null when the server runs "
        "without an expression model")
    expression: Optional[str] = Field(description="the most probable expression, or null")
    blendshapes: Optional[dict[str, Optional[float]]] = Field(
        default=None, description="MediaPipe's 52 blendshape scores (0-1), only with blendshapes=true")
    explanation: Optional[dict[str, Explanation]] = Field(
        default=None, description="per expression, only with explain=true")


class StreamFace(BaseModel):
    """One face of a live frame: followed over time, smoothed, and relative to the
    person's own neutral face (as ``fau live``; see `fau.video.LiveAnalyzer`)."""

    face: int = Field(description="index of the face in this frame (0-based)")
    track_id: int = Field(description="the person's track: stable while the face stays in view")
    box: Box
    score: Optional[float] = Field(description="face-presence probability of the landmark model (0-1)")
    pose: Pose
    gaze: Gaze
    aus: dict[str, Optional[float]] = Field(
        description="smoothed AU intensities (One-Euro filter): fractions of the inter-ocular "
        "distance; AU45 in fractions of the neutral eye opening")
    aus_rel: Optional[dict[str, Optional[float]]] = Field(
        description="change of each smoothed AU from this person's running neutral baseline, "
        "in the AU's unit; null for the first 2 s of a track (the baseline is being learnt)")
    expressions: Optional[dict[str, Optional[float]]] = Field(
        description="smoothed expression probabilities (sum to 1); null without an expression model")
    expression: Optional[str] = Field(description="the most probable expression, or null")


class ImageResult(BaseModel):
    """Result of ``POST /v1/images``."""

    width: int = Field(description="image width (px, after EXIF rotation)")
    height: int = Field(description="image height (px)")
    faces: list[Face]
    analysis_ms: float = Field(description="time spent decoding and analysing (ms)")
    model: Optional[str] = Field(description="expression model (ferplus, fer2013) or null")


class ErrorBody(BaseModel):
    """Every error response (4xx/5xx) has this body."""

    code: str = Field(
        description="machine-readable reason: invalid_host, unauthorized, not_found, "
        "timeout, too_large, unsupported_type, invalid_image, invalid_video, video_too_long, "
        "video_too_large, invalid_segments, invalid_request, not_ready, video_unavailable, "
        "report_unavailable, docs_unavailable, queue_full, busy, insufficient_storage, "
        "internal_error")
    detail: str = Field(description="human-readable explanation")
    errors: Optional[list[dict[str, Any]]] = Field(
        default=None, description="field errors (invalid_request only)")

    model_config = ConfigDict(json_schema_extra={
        "example": {"code": "too_large", "detail": "the request body is larger than the 100 MiB limit"}})


JobState = Literal["queued", "running", "done", "failed"]


class JobCreated(BaseModel):
    """Answer of ``POST /v1/videos`` (status 202)."""

    id: str = Field(description="job id (32 hex digits)")
    state: JobState
    duration_s: Optional[float] = Field(description="video duration (s)")
    links: dict[str, str] = Field(description="status, results, report URLs")


class Job(BaseModel):
    """A video job."""

    id: str
    state: JobState = Field(description="queued → running → done | failed")
    progress: float = Field(description="fraction done (0-1)")
    filename: str = Field(description="the uploaded file's name (display only; never used as a path)")
    size_bytes: int
    duration_s: Optional[float]
    fps: Optional[float] = Field(description="requested sampling rate (frames/s) or null = every frame")
    segments: Optional[int] = Field(description="number of segments, or null")
    created_at: str = Field(description="ISO 8601, UTC")
    started_at: Optional[str]
    finished_at: Optional[str]
    attempts: int = Field(description="times the job was started (a crash-interrupted job is retried once)")
    error: Optional[str] = Field(description="why it failed, or why it was retried (a done "
                                 "job keeps the reason for its retry)")
    n_frames: Optional[int] = Field(description="analysed frames (done jobs)")
    n_rows: Optional[int] = Field(description="result rows: one per face per analysed frame")
    has_report: bool
    expires_at: Optional[str] = Field(description="when retention deletes it (finished jobs)")
    decoding: Optional[dict[str, Any]] = Field(
        default=None,
        description="what decoding found (done jobs; from the job's summary.json): "
        "decoded_frames, analysed_frames, truncated (the file ended before its header's "
        "duration or could not be decoded to its end), duration_s and whatever else the "
        "decoder reports (gaps, damaged packets)")
    downloads: dict[str, str] = Field(
        default_factory=dict,
        description="every output file the job wrote (done jobs), name → URL "
        "(/v1/jobs/{id}/files/{name}): tables, report and any other export")


class JobList(BaseModel):
    """``GET /v1/jobs``."""

    jobs: list[Job]
    total: int


class StreamResult(BaseModel):
    """One WebSocket reply per analysed frame (``type: "result"``)."""

    type: Literal["result"] = "result"
    seq: int = Field(description="1-based number of the analysed frame among those received")
    received: int = Field(description="frames received so far on this socket")
    dropped: int = Field(description="frames dropped (not analysed) since the previous reply, "
                         "because a newer frame arrived while the server was busy")
    dropped_total: int
    latency_ms: float = Field(description="server time from receiving the frame to sending this reply (ms)")
    analysis_ms: float = Field(description="part of latency_ms spent decoding and analysing (ms)")
    width: int
    height: int
    faces: list[StreamFace]


class StreamError(BaseModel):
    """WebSocket reply for a frame that could not be analysed (the socket stays open)."""

    type: Literal["error"] = "error"
    seq: Optional[int]
    code: str = Field(description="binary_expected, invalid_image, internal_error")
    detail: str


class Info(BaseModel):
    """``GET /v1/info``: what this server does and its limits (no token needed)."""

    version: str
    model: Optional[str]
    auth_required: bool
    video_available: bool
    report_available: bool
    max_upload_mb: float
    max_video_s: float
    max_frame_bytes: int
    retention_h: float
    aus: dict[str, str] = Field(description="short name of each action-unit measure")
    au_units: dict[str, str] = Field(
        default_factory=dict,
        description="unit of each AU column (fau.au.AU_UNITS): 'IOD' (fraction of the "
        "inter-ocular distance) or 'neutral eye openings' (AU43, AU45)")
    notice: str
