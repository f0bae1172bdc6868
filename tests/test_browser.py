"""End-to-end test of the live page in headless Debian Chromium, driven by Playwright.

Chromium's fake camera plays a y4m made from the CREMA-D happy clip; the page sends
frames over the WebSocket and must draw a face box, per-person AU bars relative to the
person's neutral baseline (the values the server sent), latency and (with the expression
model) show ``happiness`` as the leading expression. A clip of two faces side by side
gets two sets of bars; ``/docs`` and ``/redoc`` render the API with the internet cut off.

Needs ``/usr/bin/chromium`` (Debian package ``chromium``) and ``pip install playwright``;
``bash .ci/browser.sh`` installs both. Playwright never downloads a browser here.
Set ``FAU_SCREENSHOT=docs/screenshot-live.png`` to save the page's screenshot.
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("FAU_CHROMIUM", "/usr/bin/chromium")
CLIP = Path(__file__).parent / "data" / "cremad" / "1001_DFA_HAP_XX.flv"
IMAGE = Path(__file__).parent / "data" / "cremad_hap.jpg"

if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
    pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium, or bash .ci/browser.sh)",
                allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="playwright not installed (pip install playwright)")
pytest.importorskip("fastapi", reason="fau[serve] extra not installed")
pytest.importorskip("uvicorn", reason="fau[serve] extra not installed")

import uvicorn  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from fau.serve import Settings, create_app  # noqa: E402
from fau.serve.server import uvicorn_config  # noqa: E402
from helpers import MODEL  # noqa: E402




def write_y4m(src: Path, dst: Path, *, repeat: int = 1, side_by_side: bool = False) -> int:
    """Decode ``src`` with PyAV and write it as a YUV4MPEG2 (4:2:0) file; returns frames.

    ``side_by_side`` puts the clip next to its mirror image (two faces, 960×360).
    """
    import av

    n = 0
    with av.open(str(src)) as c, open(dst, "wb") as out:
        s = c.streams.video[0]
        rate = s.average_rate or 30
        if side_by_side:
            frames = []
            for f in c.decode(s):
                rgb = f.to_ndarray(format="rgb24")
                two = np.ascontiguousarray(np.hstack([rgb, rgb[:, ::-1]]))
                frames.append(av.VideoFrame.from_ndarray(two, format="rgb24")
                              .reformat(format="yuv420p").to_ndarray())
        else:
            frames = [f.reformat(format="yuv420p").to_ndarray() for f in c.decode(s)]
        h = frames[0].shape[0] * 2 // 3
        w = frames[0].shape[1]
        out.write(f"YUV4MPEG2 W{w} H{h} F{rate.numerator}:{rate.denominator} Ip A1:1 C420jpeg\n".encode())
        for _ in range(repeat):
            for f in frames:
                out.write(b"FRAME\n")
                out.write(np.ascontiguousarray(f).tobytes())
                n += 1
    return n


@pytest.fixture(scope="module")
def y4m(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cam") / "hap.y4m"
    assert write_y4m(CLIP, path) > 50
    return path


@pytest.fixture(scope="module")
def y4m_two(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cam") / "hap2.y4m"
    assert write_y4m(CLIP, path, side_by_side=True) > 50
    return path


class Server:
    """uvicorn serving `create_app(settings)` on a free loopback port, in a thread."""

    def __init__(self, settings: Settings) -> None:
        with socket.socket() as sk:
            sk.bind(("127.0.0.1", 0))
            self.port = sk.getsockname()[1]
        self.server = uvicorn.Server(uvicorn_config(create_app(settings), settings, port=self.port))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "Server":
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def open_page(pw, y4m: Path, url: str, query: str = "?autostart=1"):
    browser = pw.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={y4m}",
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
        ],
    )
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.received = {}  # seq -> the stream's result messages, as the page got them

    def on_socket(ws) -> None:
        def frame(payload) -> None:
            msg = json.loads(payload)
            if msg.get("type") == "result":
                page.received[msg["seq"]] = msg

        ws.on("framereceived", frame)

    page.on("websocket", on_socket)
    page.goto(url + "/" + query)
    return browser, page, errors


#: AU bars of every person's card in one page call: {track: {"baseline", "seq", "aus"}}.
CARDS_JS = """() => {
    const out = {};
    document.querySelectorAll('#faces .face-card').forEach((c) => {
        const aus = {};
        c.querySelectorAll('.au-bars .bar').forEach((b) => { aus[b.dataset.key] = Number(b.dataset.value); });
        out[c.dataset.track] = {baseline: c.dataset.baseline, aus: aus};
    });
    return {seq: Number(document.body.dataset.liveSeq || 0), cards: out}; }"""


def wait_baselines(page, n_people: int, timeout: float = 60.0) -> dict:
    """Poll until ``n_people`` cards show baseline-relative bars; the page's snapshot."""
    deadline = time.monotonic() + timeout
    while True:
        snap = page.evaluate(CARDS_JS)
        ready = [c for c in snap["cards"].values() if c["baseline"] == "ready" and c["aus"]]
        if len(ready) >= n_people and snap["seq"] in page.received:
            return snap
        assert time.monotonic() < deadline, f"no baseline-relative bars after {timeout} s: {snap}"
        page.wait_for_timeout(100)


def check_baseline_bars(page, n_people: int = 1) -> None:
    """The bars show each person's change from their own neutral face: exactly the
    server's ``aus_rel`` of the frame on screen, which differs from the raw AUs by the
    person's resting offsets (the raw AUs measure from MediaPipe's canonical face)."""
    snap = wait_baselines(page, n_people)
    msg = page.received[snap["seq"]]
    faces = {str(f["track_id"]): f for f in msg["faces"]}
    assert len(snap["cards"]) == len(faces) >= n_people, (snap, list(faces))
    for track, card in snap["cards"].items():
        f = faces[track]
        assert f["aus_rel"] is not None
        for au, shown in card["aus"].items():
            assert shown == pytest.approx(f["aus_rel"][au], abs=1e-9), (track, au)
        offsets = np.array([abs(f["aus"][au] - f["aus_rel"][au]) for au in card["aus"]])
        assert offsets.max() > 0.02, "the bars show raw values, not the change from neutral"
    # the baseline is the person's own resting face: over the stream the change from it is
    # smaller than the raw AUs, which keep the resting offsets in every frame (one frame,
    # e.g. the one on screen during a broad smile, can exceed its raw values: not a test)
    for track, card in snap["cards"].items():
        rel, raw = stream_medians(page, track, list(card["aus"]))
        assert np.median(rel) < np.median(raw) and rel.min() < raw.min(), (track, rel, raw)


def stream_medians(page, track: str, aus: list[str], frames: int = 20,
                   timeout: float = 60.0) -> tuple[np.ndarray, np.ndarray]:
    """Per received frame of ``track`` with a baseline: the median over ``aus`` of
    |change from neutral| and of |raw AU|, once ``frames`` such frames arrived."""
    deadline = time.monotonic() + timeout
    while True:
        faces = [f for m in list(page.received.values()) for f in m["faces"]
                 if str(f["track_id"]) == track and f["aus_rel"] is not None]
        if len(faces) >= frames:
            break
        assert time.monotonic() < deadline, f"{len(faces)} frames with a baseline in {timeout} s"
        page.wait_for_timeout(100)
    rel = np.array([np.median([abs(f["aus_rel"][a]) for a in aus]) for f in faces])
    raw = np.array([np.median([abs(f["aus"][a]) for a in aus]) for f in faces])
    return rel, raw



def watch(page, seconds: float) -> collections.Counter:
    """Count the leading expression shown on the page, sampled every 100 ms."""
    seen: collections.Counter = collections.Counter()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        seen[page.text_content("#leading-expression")] += 1
        page.wait_for_timeout(100)
    return seen


def check_live(page, errors: list[str]) -> None:
    """Face box, AU bars, latency, notice: what every run of the page must show."""
    page.wait_for_selector("#overlay .face-box", timeout=60_000)
    # the overlay is redrawn on every reply: read a box's rectangle in one page call
    rects = page.evaluate("""() => {
        const b = document.querySelector('#overlay .face-box');
        const r = (e) => { const q = e.getBoundingClientRect(); return {x: q.x, y: q.y, width: q.width, height: q.height}; };
        return b ? {box: r(b), video: r(document.getElementById('video'))} : null; }""")
    assert rects, "no face box on the page"
    box, video = rects["box"], rects["video"]
    # the actor's face (~95×120 px of 480×360) is well inside the frame
    assert video["x"] <= box["x"] and box["x"] + box["width"] <= video["x"] + video["width"] + 1
    assert 0.1 < box["width"] / video["width"] < 0.5
    page.wait_for_selector("#faces .face-card", timeout=60_000)
    # (polled from Python: the page's CSP forbids the eval that wait_for_function uses)
    deadline = time.monotonic() + 60
    while int(page.evaluate("document.body.dataset.liveFrames || '0'")) < 10:
        assert time.monotonic() < deadline, "fewer than 10 analysed frames in 60 s"
        page.wait_for_timeout(100)
    assert float(page.text_content("#latency")) > 0
    assert page.text_content("#faces-count") == "1"
    notice = page.text_content("#notice")
    assert "Barrett et al., 2019" in notice and "Art. 5(1)(f)" in notice
    assert not [e for e in errors if "favicon" not in e], errors


def screenshot(page) -> None:
    """Save the page to ``$FAU_SCREENSHOT`` when set (how docs/screenshot-live.png is made)."""
    shot = os.environ.get("FAU_SCREENSHOT")
    if shot:
        page.wait_for_timeout(500)
        page.screenshot(path=shot, full_page=False)


def check_uploads(page) -> None:
    """The upload form analyses an image and queues a video whose job reaches the list."""
    page.set_input_files("#file", str(IMAGE))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#still-overlay .face-box", timeout=60_000)
    assert "1 face(s)" in page.text_content("#upload-status")
    page.set_input_files("#file", str(CLIP))
    page.fill("#fps-input", "5")
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#jobs tbody tr", timeout=30_000)
    deadline = time.monotonic() + 120
    while "done" not in (page.text_content("#jobs tbody tr td:nth-child(2)") or ""):
        assert time.monotonic() < deadline, page.text_content("#upload-status")
        page.wait_for_timeout(250)
    page.click("#refresh")
    page.wait_for_selector("#jobs tbody tr td.actions button:text('CSV')", timeout=10_000)
    assert page.text_content("#jobs tbody tr td:nth-child(1)") == CLIP.name
    # every file the job wrote is offered (generic: new exports appear without page code)
    page.click("#jobs tbody tr td.actions details.downloads summary")
    names = page.locator("#jobs tbody tr td.actions details.downloads button").all_text_contents()
    assert {"results.parquet", "events.parquet", "summary.json"} <= set(names), names
    with page.context.expect_page(timeout=30_000) as popup:
        page.click("#jobs tbody tr td.actions button:text('report')")
    report = popup.value
    report.wait_for_load_state()
    assert "fau video report" in report.text_content("h1")
    # the report's inline CSS applies (it caps the body's width), also when opened as a blob: URL
    assert report.evaluate("getComputedStyle(document.body).maxWidth").endswith("px")
    report.close()


def test_live_page_shows_face_box_and_aus(y4m, tmp_path):
    """The camera → WebSocket → overlay loop works (AUs only: no expression model needed)."""
    settings = Settings(data_dir=tmp_path / "data", expression_model=None, analysis_threads=2)
    with Server(settings) as srv, sync_playwright() as pw:
        browser, page, errors = open_page(pw, y4m, srv.url)
        try:
            check_live(page, errors)
            assert page.text_content("#leading-expression") == "n/a"
            check_baseline_bars(page)
            assert page.locator("#faces .face-card .au-bars .bar").count() >= 17
            screenshot(page)
            check_uploads(page)
        finally:
            browser.close()


def test_live_page_with_token(y4m, tmp_path):
    """With --token: the page asks for it and uses it for uploads, reports and the stream."""
    settings = Settings(data_dir=tmp_path / "data", expression_model=None, analysis_threads=2,
                        token="s3cret-token")
    with Server(settings) as srv, sync_playwright() as pw:
        browser, page, errors = open_page(pw, y4m, srv.url, query="")
        try:
            page.wait_for_selector("#token", state="visible", timeout=30_000)
            page.fill("#token", "s3cret-token")
            page.dispatch_event("#token", "change")
            check_uploads(page)
            page.click("#start")
            check_live(page, [e for e in errors if "401" not in e])
        finally:
            browser.close()


@pytest.mark.skipif(MODEL is None,
                    reason="expression model files fau/models/expression_{ferplus,fer2013}.npz absent")
def test_live_page_happiness_leads(y4m, tmp_path):
    settings = Settings(data_dir=tmp_path / "data", expression_model=MODEL, analysis_threads=2)
    with Server(settings) as srv, sync_playwright() as pw:
        browser, page, errors = open_page(pw, y4m, srv.url)
        try:
            check_live(page, errors)
            check_baseline_bars(page)
            seen = watch(page, 6.0)  # three loops of the 1.9 s clip
            top, count = seen.most_common(1)[0]
            assert top == "happiness", seen
            assert count / sum(seen.values()) > 0.5, seen
            bars = page.locator("#faces .face-card .expr-bars span:not(.num)").all_text_contents()
            assert bars and bars[0] in seen  # bars are sorted, the leader first
            screenshot(page)
        finally:
            browser.close()


def test_every_face_gets_its_own_bars(y4m_two, tmp_path):
    """Two people in view: two tracks, two cards, each relative to its own neutral face."""
    settings = Settings(data_dir=tmp_path / "data", expression_model=None, analysis_threads=2)
    with Server(settings) as srv, sync_playwright() as pw:
        browser, page, errors = open_page(pw, y4m_two, srv.url)
        try:
            page.wait_for_selector("#overlay .face-box", timeout=60_000)
            check_baseline_bars(page, n_people=2)
            assert page.locator("#overlay .face-box").count() == 2
            tracks = page.evaluate("Array.from(document.querySelectorAll('#faces .face-card'))"
                                   ".map((c) => c.dataset.track)")
            assert len(set(tracks)) == 2, tracks
            assert page.text_content("#faces-count") == "2"
            assert not [e for e in errors if "favicon" not in e], errors
        finally:
            browser.close()


def test_api_docs_render_offline(tmp_path):
    """/docs (Swagger UI) and /redoc list the operations with every non-loopback request
    blocked: their scripts come from the server, not a CDN."""
    settings = Settings(data_dir=tmp_path / "data", expression_model=None, analysis_threads=1)
    with Server(settings) as srv, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page()
            errors: list[str] = []
            outside: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

            def only_loopback(route) -> None:
                if route.request.url.startswith(srv.url) or route.request.url.startswith("blob:"):
                    route.continue_()
                else:
                    outside.append(route.request.url)
                    route.abort()

            page.route("**/*", only_loopback)
            page.goto(srv.url + "/docs")
            page.wait_for_selector(".opblock", timeout=30_000)
            paths = page.locator(".opblock-summary-path").all_text_contents()
            for p in ("/v1/images", "/v1/videos", "/v1/jobs", "/v1/jobs/{job_id}/results", "/v1/info"):
                assert any(p == x.replace("\u200b", "").strip() for x in paths), (p, paths)
            page.goto(srv.url + "/redoc")
            page.get_by_text("Analyse one image").first.wait_for(state="attached", timeout=30_000)
            assert page.get_by_text("Queue a video for analysis").count() >= 1
            assert not outside, outside
            # ReDoc's footer always tries to show Redocly's logo from their CDN; the page's
            # CSP blocks it (the logo hides itself), which is the point: nothing is loaded
            # from outside.
            errors = [e for e in errors if "favicon" not in e and "cdn.redoc.ly/redoc/logo-mini.svg" not in e]
            assert not errors, errors
        finally:
            browser.close()


def test_y4m_writer(tmp_path):
    n = write_y4m(CLIP, tmp_path / "a.y4m")
    data = (tmp_path / "a.y4m").read_bytes()
    header = data.split(b"\n", 1)[0].decode()
    assert header.startswith("YUV4MPEG2 W480 H360 F")
    num, den = header.split()[3][1:].split(":")
    assert abs(int(num) / int(den) - 29.97) < 0.05  # CREMA-D clips: 29.97 frames/s
    frame = 480 * 360 * 3 // 2
    assert len(data) == len(header) + 1 + n * (len(b"FRAME\n") + frame)
    assert shutil.which(CHROMIUM) or Path(CHROMIUM).is_file()
