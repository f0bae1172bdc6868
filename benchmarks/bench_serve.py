"""Load test of ``fau serve``: concurrent image and WebSocket clients on loopback.

What one run measures, in this order, on the same machine:

1. **Plain loop**: one `fau.Detector` calling ``detect_image`` on the JPEG bytes of
   ``tests/data/cremad_hap.jpg`` (480×360, one face) for ``--plain-s`` seconds: images/s.
2. **Server under load**: ``python -m fau serve`` in its own process; ``--clients``
   concurrent clients for ``--duration`` seconds: ``--ws-clients`` of them stream the same
   JPEG over ``/v1/stream`` at ``--ws-fps`` frames/s each, the others POST it to
   ``/v1/images`` in a loop (each waits for its answer). Meanwhile ``--jobs`` short video
   jobs (the CREMA-D happy clip at 5 frames/s) are submitted and must all finish.

Reported: image throughput and latency (p50/p95, client-side, request to answer), stream
frames analysed/s and round-trip latency (frame sent → its reply), frames dropped by the
server, errors (non-200 answers, error messages, broken connections), lost jobs, and
server analyses/s (images + stream frames) against the plain loop.

3. **Hostile mix** (``--phases hostile``, issue 13): a server with a token, a 20 MiB upload
   limit and a 10 s video limit; ``--clients`` clients for ``--duration`` seconds, half of
   them good (images, streams and video jobs, with the token) and half hostile, each
   cycling through bad requests with the answer each must get (`HOSTILE`): wrong or no
   token, foreign Host, oversized and stalled bodies, garbage, truncated, AVIF and 24 MP
   images, traversal ids, bad segments, ``fps=nan``, a video whose header lies about its
   length, frames of foreign origin or garbage on the WebSocket, slow headers. Reported:
   errors (a good request that failed, or a hostile one that got another answer than
   expected), p95 latency of the good requests, peak server RSS (``VmHWM``), jobs lost,
   the load average (``--write-reliability`` writes ``## Load test`` of docs/reliability.md).

Usage::

    python benchmarks/bench_serve.py                    # 20 clients (10 image, 10 stream), 60 s
    python benchmarks/bench_serve.py --write-docs       # also update docs/benchmarks.md
    python benchmarks/bench_serve.py --phases hostile --write-reliability

Needs ``pip install 'fau[serve]'`` (httpx, websockets come with it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

import numpy as np

from fau.limits import peak_rss_mb  # the server's VmHWM (MiB), read by its pid

ROOT = Path(__file__).resolve().parents[1]
IMAGE = ROOT / "tests" / "data" / "cremad_hap.jpg"
CLIP = ROOT / "tests" / "data" / "cremad" / "1001_DFA_HAP_XX.flv"
DOC = ROOT / "docs" / "benchmarks.md"
SECTION = "## Web service"
RELIABILITY = ROOT / "docs" / "reliability.md"
LOAD_SECTION = "## Load test"
#: Server settings of the hostile phase.
HOSTILE_TOKEN = "bench-token-0123456789abcdef"
HOSTILE_MAX_UPLOAD_MB = 20
HOSTILE_MAX_VIDEO_S = 10


def pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def plain_loop_here(seconds: float, model: str | None) -> dict:
    """Images/s of one Detector in a plain loop in this process (after a warm-up)."""
    import fau

    data = IMAGE.read_bytes()
    with fau.Detector(expression_model=model) as det:
        for _ in range(5):
            det.detect_image(data)
        n, lat = 0, []
        t0, c0 = time.perf_counter(), time.process_time()
        while time.perf_counter() - t0 < seconds:
            t = time.perf_counter()
            det.detect_image(data)
            lat.append((time.perf_counter() - t) * 1000)
            n += 1
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"images": n, "seconds": wall, "per_s": n / wall, "p50_ms": pct(lat, 50),
            "p95_ms": pct(lat, 95), "cpu_ms_per_image": 1000 * cpu / n}


def plain_loop(seconds: float, model: str | None) -> dict:
    """`plain_loop_here` in a child process in its own session, as the server runs.

    With Linux's ``sched_autogroup_enabled=1`` CPU time is shared between sessions, so
    the plain loop and the server must each have their own session to be compared.
    """
    cmd = [sys.executable, str(Path(__file__).resolve()), "--plain-child", str(seconds),
           "--model", model or "none"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True,
                         start_new_session=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time (s) of a process and its finished children (Linux /proc)."""
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return sum(int(v) for v in f[11:15]) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, data_dir: Path, model: str | None, threads: int | None,
                 env_extra: dict[str, str] | None = None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "fau", "serve", "--port", str(port), "--data-dir", str(data_dir),
           "--model", model or "none"]
    if threads:
        cmd += ["--threads", str(threads)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env_extra or {})}
    return subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def wait_ready(base: str, proc: subprocess.Popen) -> dict:
    import httpx

    async with httpx.AsyncClient() as c:
        for _ in range(600):
            if proc.poll() is not None:
                raise SystemExit(f"server exited: {proc.stderr.read().decode() if proc.stderr else ''}")
            try:
                return (await c.get(base + "/v1/info", timeout=1)).json()
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise SystemExit("server did not start in 60 s")


async def warm_up(base: str, n: int = 8) -> None:
    """A few concurrent requests so that every detector thread has run once (not counted)."""
    out: dict = {"image_ok": 0, "image_ms": [], "errors": []}
    stop = time.perf_counter() + 3.0
    await asyncio.gather(*[image_client(base, IMAGE.read_bytes(), stop, out) for _ in range(n)])
    if out["errors"]:
        raise SystemExit(f"warm-up failed: {out['errors'][:3]}")


async def image_client(base: str, data: bytes, stop: float, out: dict,
                       headers: dict[str, str] | None = None) -> None:
    import httpx

    async with httpx.AsyncClient(timeout=60, headers=headers) as c:
        while time.perf_counter() < stop:
            t = time.perf_counter()
            try:
                r = await c.post(base + "/v1/images", files={"file": ("a.jpg", data, "image/jpeg")})
                if r.status_code == 200 and len(r.json()["faces"]) == 1:
                    out["image_ok"] += 1
                    out["image_ms"].append((time.perf_counter() - t) * 1000)
                else:
                    out["errors"].append(f"image HTTP {r.status_code}: {r.text[:120]}")
            except Exception as exc:  # connection trouble counts as an error
                out["errors"].append(f"image {exc.__class__.__name__}: {exc}")


async def stream_client(url: str, data: bytes, fps: float, stop: float, out: dict,
                        headers: dict[str, str] | None = None) -> None:
    import websockets

    sent_at: dict[int, float] = {}
    last = {"sent": 0}
    try:
        async with websockets.connect(url, max_size=2**22, additional_headers=headers) as ws:
            async def sender() -> None:
                nxt = time.perf_counter()
                while time.perf_counter() < stop:
                    n = last["sent"] + 1
                    sent_at[n] = time.perf_counter()
                    await ws.send(data)
                    last["sent"] = n
                    out["ws_sent"] += 1
                    nxt += 1.0 / fps
                    await asyncio.sleep(max(0.0, nxt - time.perf_counter()))

            task = asyncio.create_task(sender())
            seq = 0
            # The server always answers the newest frame: wait for the last one sent.
            while not (task.done() and seq >= last["sent"]):
                timeout = max(0.1, stop - time.perf_counter()) + 10.0
                try:
                    msg = json.loads(await asyncio.wait_for(ws.recv(), timeout))
                except asyncio.TimeoutError:
                    out["errors"].append(f"stream: no reply for frame {last['sent']} within 10 s")
                    break
                if msg["type"] != "result":
                    out["errors"].append(f"stream error message: {msg}")
                    continue
                seq = msg["seq"]
                out["ws_results"] += 1
                out["ws_dropped"] += msg["dropped"]
                out["ws_ms"].append((time.perf_counter() - sent_at[seq]) * 1000)
                out["ws_server_ms"].append(msg["latency_ms"])
                for k in [k for k in sent_at if k <= seq]:
                    del sent_at[k]
            await task
    except Exception as exc:
        out["errors"].append(f"stream {exc.__class__.__name__}: {exc}")


async def job_client(base: str, n: int, stop: float, out: dict,
                     headers: dict[str, str] | None = None) -> None:
    import httpx

    data = CLIP.read_bytes()
    ids = []
    async with httpx.AsyncClient(timeout=120, headers=headers) as c:
        for k in range(n):
            await asyncio.sleep(max(0.0, (stop - time.perf_counter()) / (n - k + 1)))
            r = await c.post(base + "/v1/videos", files={"file": ("clip.flv", data)}, data={"fps": "5"})
            if r.status_code != 202:
                out["errors"].append(f"video HTTP {r.status_code}: {r.text[:120]}")
                continue
            ids.append(r.json()["id"])
        deadline = time.perf_counter() + 300
        pending = set(ids)
        while pending and time.perf_counter() < deadline:
            for job_id in list(pending):
                j = (await c.get(f"{base}/v1/jobs/{job_id}")).json()
                if j["state"] == "done":
                    pending.discard(job_id)
                    out["jobs_done"] += 1
                elif j["state"] == "failed":
                    pending.discard(job_id)
                    out["errors"].append(f"job failed: {j['error']}")
            await asyncio.sleep(0.5)
    out["jobs_submitted"] = len(ids)
    out["jobs_lost"] = len(pending)


async def load(base: str, args: argparse.Namespace, n_ws: int, jobs: int) -> dict:
    data = IMAGE.read_bytes()
    out: dict = {"image_ok": 0, "image_ms": [], "ws_sent": 0, "ws_results": 0, "ws_dropped": 0,
                 "ws_ms": [], "ws_server_ms": [], "errors": [], "jobs_done": 0, "jobs_submitted": 0,
                 "jobs_lost": 0}
    n_img = args.clients - n_ws
    ws_url = base.replace("http://", "ws://") + "/v1/stream"
    t0 = time.perf_counter()
    stop = t0 + args.duration
    tasks = [image_client(base, data, stop, out) for _ in range(n_img)]
    tasks += [stream_client(ws_url, data, args.ws_fps, stop, out) for _ in range(n_ws)]
    if jobs:
        tasks.append(job_client(base, jobs, stop, out))
    await asyncio.gather(*tasks)
    out["seconds"] = args.duration
    return out


# -- hostile mix (issue 13) -------------------------------------------------------------------
def hostile_inputs(folder: Path) -> dict[str, bytes]:
    """The bad inputs the hostile clients send (generated by tests/badcorpus.py)."""
    import io

    from PIL import Image

    sys.path.insert(0, str(ROOT / "tests"))
    import badcorpus

    jpg = IMAGE.read_bytes()
    buf = io.BytesIO()
    # 24 MP (a camera photo; over the 16 MP large-image gate), ~70 KB of PNG
    Image.fromarray(np.full((4000, 6000), 128, np.uint8)).save(buf, format="PNG")
    avif = (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + b"\x00" * 400)
    lying = badcorpus.lying_flv(folder, seconds=2 * HOSTILE_MAX_VIDEO_S, claimed=1.0)
    return {"jpg": jpg, "truncated": jpg[: len(jpg) // 3], "png24mp": buf.getvalue(), "avif": avif,
            "lying": lying.read_bytes(), "clip": CLIP.read_bytes()}


async def _raw(port: int, head: bytes, *, wait_s: float) -> tuple[bytes, float]:
    """Send ``head`` on a raw connection; return what the server answered (until it
    closes, or ``wait_s``) and the seconds until the answer or the close."""
    t0 = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head)
    await writer.drain()
    try:
        data = await asyncio.wait_for(reader.read(4096), wait_s)
    except asyncio.TimeoutError:
        data = b"<no answer>"
    elapsed = time.perf_counter() - t0
    writer.close()
    try:
        await writer.wait_closed()
    except (ConnectionError, OSError):
        pass
    return data, elapsed


async def _ws_close_code(url: str, headers: dict[str, str] | None, origin: str | None = None,
                         send: bytes | None = None) -> tuple[int | None, dict | None]:
    """Open a WebSocket (optionally send one frame); (close code, first message)."""
    import websockets

    try:
        async with websockets.connect(url, additional_headers=headers,
                                      origin=origin) as ws:  # type: ignore[arg-type]
            if send is not None:
                await ws.send(send)
            msg = json.loads(await asyncio.wait_for(ws.recv(), 30))
            return None, msg
    except websockets.ConnectionClosed as exc:
        return (exc.rcvd.code if exc.rcvd else None), None


def hostile_kinds(base: str, port: int, inputs: dict[str, bytes], token: str, out: dict):
    """Every hostile request: ``name -> coroutine function`` returning None when the server
    gave the expected answer, else what went wrong."""
    auth = {"Authorization": f"Bearer {token}"}
    ws_url = base.replace("http://", "ws://") + "/v1/stream"
    host = f"127.0.0.1:{port}".encode()

    async def http(c, method, path, code, **kw):
        r = await c.request(method, base + path, **kw)
        return None if r.status_code == code else f"HTTP {r.status_code} (wanted {code}): {r.text[:100]}"

    async def wrong_token(c):
        return await http(c, "POST", "/v1/images", 401, headers={"Authorization": "Bearer wrong"},
                          files={"file": ("a.jpg", inputs["jpg"])})

    async def no_token(c):
        return await http(c, "GET", "/v1/jobs", 401)

    async def foreign_host(c):
        return await http(c, "GET", "/v1/info", 400, headers={"Host": "attacker.example"})

    async def oversized(c):
        head = (b"POST /v1/images HTTP/1.1\r\nHost: " + host + b"\r\nAuthorization: Bearer "
                + token.encode() + b"\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                b"Content-Length: 50000000\r\n\r\n--b\r\n")
        data, _ = await _raw(port, head, wait_s=15)
        return None if data.startswith(b"HTTP/1.1 413") else f"oversized body: {data[:80]!r}"

    async def garbage(c):
        return await http(c, "POST", "/v1/images", 415, headers=auth, files={"file": ("a.jpg", b"hello" * 100)})

    async def truncated(c):
        return await http(c, "POST", "/v1/images", 422, headers=auth, files={"file": ("a.jpg", inputs["truncated"])})

    async def avif(c):
        return await http(c, "POST", "/v1/images", 415, headers=auth, files={"file": ("a.avif", inputs["avif"])})

    async def png24mp(c):  # analysed one at a time, ~10 s each on a loaded 2-core machine
        r = await c.post(base + "/v1/images", headers=auth, files={"file": ("big.png", inputs["png24mp"])},
                         timeout=300)
        return None if r.status_code == 200 and r.json()["faces"] == [] else f"24 MP PNG: HTTP {r.status_code} {r.text[:100]}"

    async def traversal(c):
        return await http(c, "GET", "/v1/jobs/..%2F..%2Fetc%2Fpasswd/results", 404, headers=auth)

    async def bad_segments(c):
        return await http(c, "POST", "/v1/videos", 422, headers=auth,
                          files={"file": ("a.flv", inputs["clip"]), "segments": ("s.csv", b"start,end\n5,1\n")})

    async def fps_nan(c):
        return await http(c, "POST", "/v1/videos", 422, headers=auth,
                          files={"file": ("a.flv", inputs["clip"])}, data={"fps": "nan"})

    async def lying_video(c):
        r = await c.post(base + "/v1/videos", headers=auth, files={"file": ("lying.flv", inputs["lying"])})
        if r.status_code != 202:
            return f"lying video: HTTP {r.status_code} {r.text[:100]}"
        out["lying_ids"].append(r.json()["id"])
        return None

    async def ws_origin(c):
        code, _ = await _ws_close_code(ws_url, auth, origin="https://evil.example")
        return None if code == 1008 else f"foreign-origin WebSocket: close code {code}"

    async def ws_token(c):
        code, _ = await _ws_close_code(ws_url + "?token=wrong", None)
        return None if code == 1008 else f"wrong-token WebSocket: close code {code}"

    async def ws_garbage(c):
        code, msg = await _ws_close_code(ws_url, auth, send=b"\x00garbage")
        return None if msg and msg.get("code") == "invalid_image" else f"garbage frame: {code} {msg}"

    async def slow_headers(c):
        data, held = await _raw(port, b"GET /v1/info HTTP/1.1\r\nHost: " + host + b"\r\nX-Slow: ", wait_s=40)
        out["slow_held_s"].append(held)
        return None if data == b"" and held < 15 else f"slow headers held {held:.1f} s: {data[:60]!r}"

    async def stalled_body(c):
        head = (b"POST /v1/images HTTP/1.1\r\nHost: " + host + b"\r\nAuthorization: Bearer "
                + token.encode() + b"\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                b"Content-Length: 100000\r\n\r\n--b\r\n")
        data, held = await _raw(port, head, wait_s=40)
        out["slow_held_s"].append(held)
        return None if data.startswith(b"HTTP/1.1 408") and held < 15 else f"stalled body: {held:.1f} s {data[:60]!r}"

    return {f.__name__: f for f in (wrong_token, no_token, foreign_host, oversized, garbage, truncated,
                                   avif, png24mp, traversal, bad_segments, fps_nan, lying_video,
                                   ws_origin, ws_token, ws_garbage, slow_headers, stalled_body)}


async def hostile_client(kinds: dict, offset: int, stop: float, out: dict) -> None:
    """Cycle through the hostile requests (starting at ``offset``) until ``stop``."""
    import httpx

    names = list(kinds)
    i = offset
    async with httpx.AsyncClient(timeout=60) as c:
        while time.perf_counter() < stop:
            name = names[i % len(names)]
            i += 1
            t = time.perf_counter()
            try:
                problem = await kinds[name](c)
            except Exception as exc:  # a broken connection is a wrong answer too
                problem = f"{name}: {exc.__class__.__name__}: {exc}"
            out["hostile"].setdefault(name, {"n": 0, "wrong": 0, "ms": []})
            rec = out["hostile"][name]
            rec["n"] += 1
            rec["ms"].append((time.perf_counter() - t) * 1000)
            if problem is not None:
                rec["wrong"] += 1
                out["errors"].append(f"{name}: {problem}")


async def check_jobs(base: str, token: str, out: dict, timeout: float = 300.0) -> None:
    """Every job submitted must end: good ones done, lying ones failed on the limit."""
    import httpx

    auth = {"Authorization": f"Bearer {token}"}
    deadline = time.perf_counter() + timeout
    async with httpx.AsyncClient(timeout=60, headers=auth) as c:
        pending = set(out["lying_ids"])
        while pending and time.perf_counter() < deadline:
            for job_id in list(pending):
                j = (await c.get(f"{base}/v1/jobs/{job_id}")).json()
                if j["state"] in ("done", "failed"):
                    pending.discard(job_id)
                    if j["state"] != "failed" or "past" not in (j["error"] or ""):
                        out["errors"].append(f"lying video job {job_id}: {j['state']} {j['error']}")
                    else:
                        out["lying_failed"] += 1
            await asyncio.sleep(0.5)
        out["jobs_lost"] += len(pending)
        total = (await c.get(f"{base}/v1/jobs", params={"limit": 500})).json()["total"]
        out["jobs_in_db"] = total
        if total != out["jobs_submitted"] + len(out["lying_ids"]):  # a job row vanished or appeared
            out["errors"].append(f"{total} jobs in the database, {out['jobs_submitted']} good and "
                                 f"{len(out['lying_ids'])} lying ones submitted")


async def hostile_load(base: str, port: int, args: argparse.Namespace, inputs: dict[str, bytes]) -> dict:
    """Half good clients (images, streams, jobs; with the token), half hostile ones."""
    token = HOSTILE_TOKEN
    auth = {"Authorization": f"Bearer {token}"}
    out: dict = {"image_ok": 0, "image_ms": [], "ws_sent": 0, "ws_results": 0, "ws_dropped": 0,
                 "ws_ms": [], "ws_server_ms": [], "errors": [], "jobs_done": 0, "jobs_submitted": 0,
                 "jobs_lost": 0, "hostile": {}, "lying_ids": [], "lying_failed": 0, "slow_held_s": []}
    n_hostile = args.clients // 2
    n_good = args.clients - n_hostile
    n_ws = max(1, n_good // 3)
    n_img = n_good - n_ws - 1  # one good client submits video jobs
    kinds = hostile_kinds(base, port, inputs, token, out)
    stop = time.perf_counter() + args.duration
    ws_url = base.replace("http://", "ws://") + "/v1/stream"
    tasks = [image_client(base, inputs["jpg"], stop, out, auth) for _ in range(n_img)]
    tasks += [stream_client(ws_url, inputs["jpg"], args.ws_fps, stop, out, auth) for _ in range(n_ws)]
    tasks.append(job_client(base, args.jobs, stop, out, auth))
    step = max(1, len(kinds) // max(1, n_hostile))
    tasks += [hostile_client(kinds, k * step, stop, out) for k in range(n_hostile)]
    await asyncio.gather(*tasks)
    await check_jobs(base, token, out)
    out.update(n_img=n_img, n_ws=n_ws, n_hostile=n_hostile)
    return out


def hostile_summary(res: dict, args: argparse.Namespace, rss_mb: float | None, load0: float) -> dict:
    hostile = {k: {"n": v["n"], "wrong": v["wrong"], "p95_ms": pct(v["ms"], 95)}
               for k, v in sorted(res["hostile"].items())}
    good_ms = res["image_ms"]
    return {
        "clients": args.clients, "good_image": res["n_img"], "good_stream": res["n_ws"], "good_jobs": 1,
        "hostile_clients": res["n_hostile"], "duration_s": args.duration,
        "good_requests": res["image_ok"] + res["ws_results"] + res["jobs_submitted"],
        "image_ok": res["image_ok"], "image_p50_ms": pct(good_ms, 50), "image_p95_ms": pct(good_ms, 95),
        "ws_analysed": res["ws_results"], "ws_p95_ms": pct(res["ws_ms"], 95),
        "hostile_requests": sum(v["n"] for v in hostile.values()), "hostile": hostile,
        "errors": len(res["errors"]), "error_samples": res["errors"][:8],
        "jobs_submitted": res["jobs_submitted"], "jobs_done": res["jobs_done"],
        "lying_submitted": len(res["lying_ids"]), "lying_failed_on_limit": res["lying_failed"],
        "jobs_lost": res["jobs_lost"], "jobs_in_db": res.get("jobs_in_db"),
        "slow_held_max_s": max(res["slow_held_s"]) if res["slow_held_s"] else None,
        "peak_rss_mb": rss_mb, "loadavg_start": load0,
        "loadavg_after": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


def load_markdown(s: dict, cmd: str, when: str, machine: str) -> str:
    f = lambda v, n=0: "–" if v is None else f"{v:.{n}f}"  # noqa: E731
    lines = [
        LOAD_SECTION, "",
        f"`{cmd}` — {when}, {machine}. `fau serve` in its own process with "
        f"`FAU_TOKEN` set, `FAU_MAX_UPLOAD_MB={HOSTILE_MAX_UPLOAD_MB}`, "
        f"`FAU_MAX_VIDEO_S={HOSTILE_MAX_VIDEO_S}`, default timeouts (headers 10 s, body "
        f"pauses 10 s); {s['clients']} concurrent clients for {s['duration_s']:g} s on loopback, "
        "in one asyncio process on the same 2-core machine: "
        f"{s['good_image']} post images, {s['good_stream']} stream the JPEG over the WebSocket "
        f"at {f(s.get('ws_fps'), 0) if s.get('ws_fps') else '15'} frames/s, 1 submits video jobs "
        f"(with the token), and {s['hostile_clients']} hostile clients cycle through "
        f"{len(s['hostile'])} kinds of bad request, each checked against the answer it must get.",
        "",
        "| errors | good requests | image p50 / p95 ms | stream round trip p95 ms | hostile requests | "
        "slow client held at most | peak server RSS | jobs done / submitted | lying videos failed on the limit | jobs lost | load avg start / after |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        f"| **{s['errors']}** | {s['good_requests']} | {f(s['image_p50_ms'])} / {f(s['image_p95_ms'])} "
        f"| {f(s['ws_p95_ms'])} | {s['hostile_requests']} | {f(s['slow_held_max_s'], 1)} s "
        f"| {f(s['peak_rss_mb'])} MiB | {s['jobs_done']} / {s['jobs_submitted']} "
        f"| {s['lying_failed_on_limit']} / {s['lying_submitted']} | **{s['jobs_lost']}** "
        f"| {f(s['loadavg_start'], 1)} / {f(s['loadavg_after'], 1)} |",
        "",
        "| hostile request | expected answer | sent | wrong answers | p95 ms |",
        "| --- | --- | --- | --- | --- |",
    ]
    expected = {
        "wrong_token": "401 before the body is read", "no_token": "401", "foreign_host": "400 invalid_host",
        "oversized": "413 from Content-Length", "garbage": "415", "truncated": "422 invalid_image",
        "avif": "415 (AVIF named)", "png24mp": "200, no face (one large image at a time)",
        "traversal": "404", "bad_segments": "422 invalid_segments", "fps_nan": "422 (finite number)",
        "lying_video": "202, then the job fails on the decoded limit", "ws_origin": "close 1008",
        "ws_token": "close 1008", "ws_garbage": "error message, socket open",
        "slow_headers": "closed after 10 s", "stalled_body": "408 after 10 s",
    }
    for name, h in s["hostile"].items():
        lines.append(f"| `{name}` | {expected.get(name, '')} | {h['n']} | {h['wrong']} | {f(h['p95_ms'])} |")
    lines += [
        "",
        "An error is a good request that failed or a hostile one that got any other answer than "
        "its expected one (a 500, a hang, a wrong code). Slow clients occupy a hostile client for "
        "the whole timeout, so they are fewer. Peak RSS is the server's `VmHWM` over the whole "
        "run (start-up, detectors, the 24 MP PNGs, video jobs).",
        "",
    ]
    return "\n".join(lines)


def write_load_section(text: str) -> None:
    """Replace (or append) the `## Load test` section of docs/reliability.md (last section)."""
    old = RELIABILITY.read_text() if RELIABILITY.exists() else "# Reliability\n\n"
    lines = old.splitlines(keepends=True)
    start = next((i for i, l in enumerate(lines) if l.strip() == LOAD_SECTION), None)
    if start is None:
        new = old.rstrip("\n") + "\n\n" + text
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        new = "".join(lines[:start]) + text + ("\n" if end < len(lines) else "") + "".join(lines[end:])
    RELIABILITY.write_text(new)


def run_hostile(args: argparse.Namespace, model_arg: str | None, cmd: str) -> int:
    """The hostile-mix phase: its own server (token, limits), its own report."""
    load0 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        inputs = hostile_inputs(Path(tmp))
        env = {"FAU_TOKEN": HOSTILE_TOKEN, "FAU_MAX_UPLOAD_MB": str(HOSTILE_MAX_UPLOAD_MB),
               "FAU_MAX_VIDEO_S": str(HOSTILE_MAX_VIDEO_S)}
        proc = start_server(port, Path(tmp) / "data", model_arg, args.threads, env)
        try:
            base = f"http://127.0.0.1:{port}"
            asyncio.run(wait_ready(base, proc))
            print(f"phase hostile: {args.clients} clients for {args.duration:g} s ...", file=sys.stderr)
            res = asyncio.run(hostile_load(base, port, args, inputs))
            rss = peak_rss_mb(proc.pid)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(60)
    summary = hostile_summary(res, args, rss, load0)
    summary["ws_fps"] = args.ws_fps
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    if args.write_reliability:
        when = datetime.now(timezone.utc).isoformat(timespec="seconds")
        machine = f"{platform.machine()}, {os.cpu_count()} logical CPUs"
        write_load_section(load_markdown(summary, cmd, when, machine))
        print(f"updated {RELIABILITY}", file=sys.stderr)
    return 0 if summary["errors"] == 0 and summary["jobs_lost"] == 0 else 1


def summarise(res: dict, args: argparse.Namespace, n_ws: int, plain_per_s: float,
              plain_cpu_ms: float) -> dict:
    d = args.duration
    img_s = res["image_ok"] / d
    ws_s = res["ws_results"] / d
    n = res["image_ok"] + res["ws_results"]
    cpu_ms = 1000 * res["server_cpu_s"] / n if res.get("server_cpu_s") and n else None
    return {
        "server_cpu_s": res.get("server_cpu_s"),
        "server_cpu_cores": res["server_cpu_s"] / d if res.get("server_cpu_s") else None,
        "server_cpu_ms_per_analysis": cpu_ms,
        "cpu_efficiency": plain_cpu_ms / cpu_ms if cpu_ms else None,
        "clients": args.clients, "image_clients": args.clients - n_ws, "ws_clients": n_ws,
        "ws_fps": args.ws_fps, "duration_s": d,
        "image_per_s": img_s, "image_p50_ms": pct(res["image_ms"], 50), "image_p95_ms": pct(res["image_ms"], 95),
        "ws_sent": res["ws_sent"], "ws_analysed": res["ws_results"], "ws_per_s": ws_s,
        "ws_dropped": res["ws_dropped"], "ws_p50_ms": pct(res["ws_ms"], 50), "ws_p95_ms": pct(res["ws_ms"], 95),
        "ws_server_p50_ms": pct(res["ws_server_ms"], 50),
        "server_per_s": img_s + ws_s, "ratio_total": (img_s + ws_s) / plain_per_s,
        "ratio_images": img_s / plain_per_s,
        "errors": len(res["errors"]), "error_samples": res["errors"][:5],
        "jobs_submitted": res["jobs_submitted"], "jobs_done": res["jobs_done"], "jobs_lost": res["jobs_lost"],
        "loadavg_after": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


def markdown(run: dict, cmd: str) -> str:
    f = lambda v, n=1: "–" if v is None else f"{v:.{n}f}"  # noqa: E731
    plain = run["plain"]
    lines = [
        SECTION,
        "",
        f"`{cmd}` — {run['when']}, {run['machine']}; expression model: "
        f"{run['model'] or 'none (AUs only)'}. Server: `fau serve` in its own process "
        f"({run['threads'] or 'default'} detector threads); the clients run in one asyncio "
        "process on the same machine (loopback), so they take CPU from the server.",
        "",
        f"Plain loop, one `Detector.detect_image` on the 480×360 JPEG (one face) in its own "
        f"process and session (as the server), run before and after the load: "
        f"{f(plain['before'])} and {f(plain['after'])} images/s (mean {f(plain['per_s'])}; "
        f"p50 {f(plain['p50_ms'])} ms per image; {f(plain['cpu_ms_per_image'])} ms of CPU per image).",
        "",
        "| phase | clients | images/s | image p50 / p95 ms | stream frames sent / analysed / dropped | stream round trip p50 / p95 ms | analyses/s vs plain loop | server CPU per analysis (vs plain loop) | errors | jobs done / lost | load avg after |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, s in run["phases"].items():
        eff = "–" if s["cpu_efficiency"] is None else f"{100 * s['cpu_efficiency']:.0f}%"
        lines.append(
            f"| {name} | {s['image_clients']} image + {s['ws_clients']} stream ({s['ws_fps']:g} fps) × {s['duration_s']:g} s "
            f"| {f(s['image_per_s'])} | {f(s['image_p50_ms'], 0)} / {f(s['image_p95_ms'], 0)} "
            f"| {s['ws_sent']} / {s['ws_analysed']} / {s['ws_dropped']} "
            f"| {f(s['ws_p50_ms'], 0)} / {f(s['ws_p95_ms'], 0)} "
            f"| {f(s['server_per_s'])}/s = **{100 * s['ratio_total']:.0f}%** (images alone {100 * s['ratio_images']:.0f}%) "
            f"| {f(s['server_cpu_ms_per_analysis'])} ms on {f(s['server_cpu_cores'], 2)} cores "
            f"({eff} of plain-loop efficiency) "
            f"| **{s['errors']}** | {s['jobs_done']} / **{s['jobs_lost']}** | {f(s['loadavg_after'])} |")
    lines += [
        "",
        "Targets (issue 5): zero errors, no lost jobs, image throughput ≥ 70% of the plain loop "
        "(the `images` phase: every client posts images). In the `mixed` phase the stream clients "
        "offer more frames than the server can analyse; it answers each stream's newest waiting "
        "frame and drops the older ones (counted), so latency stays bounded by the detector queue "
        "(about clients ÷ throughput) instead of growing. Image requests and stream frames share "
        "the same detector threads, first come first served. Wall-clock ratios depend on how "
        "much CPU each process got on this shared machine; the CPU columns do not: \"server CPU "
        "per analysis\" is the server process's CPU time (all threads: HTTP, JSON, detectors, the "
        "video jobs of the mixed phase) divided by the images and frames it analysed, against "
        "the plain loop's CPU time per image.",
        "",
    ]
    return "\n".join(lines)


def write_section(text: str) -> None:
    """Replace (or append) the `## Web service` section of docs/benchmarks.md."""
    DOC.parent.mkdir(exist_ok=True)
    old = DOC.read_text() if DOC.exists() else "# Benchmarks\n\n"
    lines = old.splitlines(keepends=True)
    start = next((i for i, l in enumerate(lines) if l.strip() == SECTION), None)
    if start is None:
        new = old.rstrip("\n") + "\n\n" + text
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        new = "".join(lines[:start]) + text + ("\n" if end < len(lines) else "") + "".join(lines[end:])
    DOC.write_text(new)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    p.add_argument("--clients", type=int, default=20, help="concurrent clients (default 20)")
    p.add_argument("--ws-clients", type=int, default=10, help="of which WebSocket streams (default 10)")
    p.add_argument("--ws-fps", type=float, default=15.0, help="frames/s offered per stream (default 15)")
    p.add_argument("--jobs", type=int, default=3, help="video jobs submitted during the mixed phase (default 3)")
    p.add_argument("--plain-s", type=float, default=20.0, help="seconds of the plain loop (default 20)")
    p.add_argument("--phases", default="images,mixed",
                   help="images (all clients POST images), mixed (--ws-clients stream); default both; "
                   "hostile: half good, half hostile clients (alone: its own server)")
    p.add_argument("--threads", type=int, default=None, help="server detector threads (default: server's)")
    p.add_argument("--model", default="auto", help="ferplus, fer2013, none, or auto (ferplus if present)")
    p.add_argument("--write-docs", action="store_true", help="update the Web service section of docs/benchmarks.md")
    p.add_argument("--json", type=Path, default=None, help="also write the numbers as JSON here")
    p.add_argument("--write-reliability", action="store_true",
                   help="hostile phase: write the Load test section of docs/reliability.md")
    p.add_argument("--plain-child", type=float, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.plain_child is not None:  # internal: the plain loop in its own session
        print(json.dumps(plain_loop_here(args.plain_child, None if args.model == "none" else args.model)))
        return 0
    if not 0 <= args.ws_clients <= args.clients:
        p.error("--ws-clients must be between 0 and --clients")
    model = args.model
    if model == "auto":
        model = "ferplus" if (resources.files("fau") / "models" / "expression_ferplus.npz").is_file() else "none"
    model_arg = None if model == "none" else model
    if args.phases == "hostile":
        cmd = "python benchmarks/bench_serve.py " + " ".join(argv if argv is not None else sys.argv[1:])
        return run_hostile(args, model_arg, cmd.strip())

    phases = {"images": 0, "mixed": args.ws_clients}
    phases = {k: v for k, v in phases.items() if k in args.phases.split(",")}
    load0 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"plain loop {args.plain_s:g} s ...", file=sys.stderr)
    before = plain_loop(args.plain_s, model_arg)
    port = free_port()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        proc = start_server(port, Path(tmp), model_arg, args.threads)
        try:
            base = f"http://127.0.0.1:{port}"
            info = asyncio.run(wait_ready(base, proc))
            asyncio.run(warm_up(base))
            for name, n_ws in phases.items():
                print(f"phase {name}: {args.clients} clients ({n_ws} streams) for {args.duration:g} s ...",
                      file=sys.stderr)
                jobs = args.jobs if name == "mixed" or len(phases) == 1 else 0
                c0 = cpu_seconds(proc.pid)
                res = asyncio.run(load(base, args, n_ws, jobs))
                c1 = cpu_seconds(proc.pid)
                res["server_cpu_s"] = None if c0 is None or c1 is None else c1 - c0
                results[name] = (res, n_ws)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(60)
    print(f"plain loop {args.plain_s:g} s ...", file=sys.stderr)
    after = plain_loop(args.plain_s, model_arg)
    plain_per_s = (before["per_s"] + after["per_s"]) / 2
    plain_cpu_ms = (before["cpu_ms_per_image"] + after["cpu_ms_per_image"]) / 2
    run = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} logical CPUs, load average {load0:.1f} at the start",
        "model": info.get("model"), "threads": args.threads,
        "plain": {"before": before["per_s"], "after": after["per_s"], "per_s": plain_per_s,
                  "p50_ms": before["p50_ms"], "cpu_ms_per_image": plain_cpu_ms},
        "phases": {k: summarise(r, args, n_ws, plain_per_s, plain_cpu_ms) for k, (r, n_ws) in results.items()},
    }
    print(json.dumps(run, indent=2))
    cmd = "python benchmarks/bench_serve.py " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.json:
        args.json.write_text(json.dumps(run, indent=2))
    if args.write_docs:
        write_section(markdown(run, cmd.strip()))
        print(f"updated {DOC}", file=sys.stderr)
    ok = all(s["errors"] == 0 and s["jobs_lost"] == 0 for s in run["phases"].values())
    images = run["phases"].get("images")
    if images is not None and images["ratio_images"] < 0.7:
        print(f"image throughput is {100 * images['ratio_images']:.0f}% of the plain loop (target 70%)",
              file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
