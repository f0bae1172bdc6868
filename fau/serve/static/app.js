// fau live page: camera → WebSocket /v1/stream → overlay; uploads; job list.
// Plain JavaScript, no build step. Every text from the server is set with textContent.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const SEND_INTERVAL_MS = 66;   // ~15 frames/s offered to the server; it drops stale ones
  const JPEG_QUALITY = 0.8;      // canvas.toBlob quality (0-1)
  // AUs shown as bars (the bilateral measures; per-side columns are in the API). Replaced
  // by the server's list from /v1/info when it answers.
  let MAIN_AUS = ["AU01", "AU02", "AU04", "AU05", "AU06", "AU07", "AU09", "AU10", "AU12",
    "AU14", "AU15", "AU17", "AU20", "AU23", "AU25", "AU26", "AU45"];
  const AU_FULL_SCALE = 0.5;     // |AU| shown as a full half-bar, uploaded images (fraction of IOD)
  // Live bars show the change from the person's neutral face: a full half-bar is
  // 0.25 IOD (a broad smile raises AU12 by ~0.15-0.25) or, for AUs measured in neutral
  // eye openings (AU45: 1 = closed), one opening.
  const REL_FULL_SCALE = { iod: 0.25, eye: 1.0 };
  let info = null;

  // ---- auth --------------------------------------------------------------------------
  function token() { return sessionStorage.getItem("fau-token") || ""; }
  function authHeaders() { const t = token(); return t ? { Authorization: "Bearer " + t } : {}; }
  async function api(path, opts) {
    opts = opts || {};
    opts.headers = Object.assign({}, opts.headers || {}, authHeaders());
    const r = await fetch(path, opts);
    if (!r.ok) {
      let msg = r.status + " " + r.statusText;
      try { const b = await r.json(); if (b && b.detail) msg = b.detail + " (" + (b.code || r.status) + ")"; } catch (e) { /* not JSON */ }
      throw new Error(msg);
    }
    return r;
  }

  // ---- bars --------------------------------------------------------------------------
  function auUnit(au) {
    const u = info && info.au_units ? info.au_units[au] : (au === "AU45" || au === "AU43" ? "eye" : "iod");
    return u && u.indexOf("eye") >= 0 ? "eye" : "iod";
  }

  // "+0.12", "-0.03", "0.00" (no "-0.00" for values that round to zero)
  function signed(v) { const t = v.toFixed(2); return Number(t) === 0 ? "0.00" : (v > 0 ? "+" : "") + t; }

  function barRow(container, label, value, fraction, negative, unit) {
    const name = document.createElement("span"); name.textContent = label;
    const bar = document.createElement("div"); bar.className = "bar";
    bar.dataset.key = label;
    if (value !== null && value !== undefined) bar.dataset.value = String(value);
    const fill = document.createElement("i");
    if (negative === undefined) {
      fill.style.left = "0"; fill.style.width = (100 * Math.max(0, Math.min(1, fraction))) + "%";
    } else {
      const w = 50 * Math.min(1, Math.abs(fraction));
      fill.style.width = w + "%"; fill.style.left = negative ? (50 - w) + "%" : "50%";
      if (negative) fill.className = "neg";
    }
    bar.appendChild(fill);
    const num = document.createElement("span"); num.className = "num";
    num.textContent = value === null || value === undefined ? "–"
      : (unit ? signed(value) + (unit === "eye" ? " eye" : " IOD") : value.toFixed(2));
    container.append(name, bar, num);
  }

  function showScores(face, exprEl, auEl, leadingEl) {
    exprEl.replaceChildren(); auEl.replaceChildren();
    if (!face) { if (leadingEl) leadingEl.textContent = "–"; return; }
    if (face.expressions) {
      const entries = Object.entries(face.expressions).sort((a, b) => b[1] - a[1]);
      for (const [k, v] of entries) barRow(exprEl, k, v, v);
      if (leadingEl) leadingEl.textContent = face.expression;
    } else {
      const p = document.createElement("span"); p.className = "hint";
      p.textContent = "this server runs without an expression model (AUs only)";
      exprEl.append(p);
      if (leadingEl) leadingEl.textContent = "n/a";
    }
    for (const au of MAIN_AUS) {
      const v = face.aus[au];
      if (v === null || v === undefined) continue;
      barRow(auEl, au, v, v / AU_FULL_SCALE, v < 0);
    }
    if (info && info.aus) {
      const labels = auEl.querySelectorAll("span:not(.num)");
      labels.forEach((el) => { el.title = info.aus[el.textContent] || ""; });
    }
  }

  // Draw face boxes over a media element shown at its natural aspect ratio.
  function drawBoxes(overlay, media, faces, width, height) {
    overlay.replaceChildren();
    const sx = media.clientWidth / width, sy = media.clientHeight / height;
    faces.forEach((f) => {
      const d = document.createElement("div"); d.className = "face-box";
      d.style.left = (f.box.x * sx) + "px"; d.style.top = (f.box.y * sy) + "px";
      d.style.width = (f.box.w * sx) + "px"; d.style.height = (f.box.h * sy) + "px";
      const label = document.createElement("span");
      const who = f.track_id !== undefined ? "person " + f.track_id : "face " + f.face;
      label.textContent = who + (f.expression ? " · " + f.expression : "");
      d.appendChild(label);
      overlay.appendChild(d);
    });
  }

  // One card per tracked person: smoothed expression bars, and AU bars as the change
  // from that person's own neutral face (server-side running baseline).
  function liveCard(trackId) {
    const card = document.createElement("div"); card.className = "face-card"; card.dataset.track = String(trackId);
    const h = document.createElement("h3");
    const lead = document.createElement("span"); lead.className = "lead";
    h.append("person " + trackId + " — leading: ", lead);
    const e = document.createElement("div"); e.className = "bars expr-bars";
    const note = document.createElement("p"); note.className = "hint baseline-note";
    const a = document.createElement("div"); a.className = "bars au au-bars";
    card.append(h, e, note, a);
    return card;
  }

  function fillLiveCard(card, f) {
    const e = card.querySelector(".expr-bars"), a = card.querySelector(".au-bars");
    e.replaceChildren(); a.replaceChildren();
    const lead = card.querySelector(".lead");
    if (f.expressions) {
      for (const [k, v] of Object.entries(f.expressions).sort((x, y) => y[1] - x[1])) barRow(e, k, v, v);
      lead.textContent = f.expression;
    } else {
      lead.textContent = "n/a";
    }
    const note = card.querySelector(".baseline-note");
    if (!f.aus_rel) {
      card.dataset.baseline = "learning";
      note.textContent = "learning this person's neutral face (the first 2 s of the track) …";
      return;
    }
    card.dataset.baseline = "ready";
    note.textContent = "change from this person's neutral face (IOD: inter-ocular distance; eye: neutral eye openings)";
    for (const au of MAIN_AUS) {
      const v = f.aus_rel[au];
      if (v === null || v === undefined) continue;
      const unit = auUnit(au);
      barRow(a, au, v, v / REL_FULL_SCALE[unit], v < 0, unit);
    }
    if (info && info.aus) a.querySelectorAll("span:not(.num)").forEach((el) => { el.title = info.aus[el.textContent] || ""; });
  }

  function showLiveFaces(faces) {
    const box = $("faces");
    const keep = new Set();
    faces.forEach((f) => {
      const id = String(f.track_id);
      let card = box.querySelector('.face-card[data-track="' + id + '"]');
      if (!card) { card = liveCard(f.track_id); box.appendChild(card); }
      keep.add(id);
      fillLiveCard(card, f);
    });
    for (const card of Array.from(box.children)) if (!keep.has(card.dataset.track)) card.remove();
    const first = faces[0];
    $("leading-expression").textContent = !first ? "–" : (first.expressions ? first.expression : "n/a");
    $("faces-empty").hidden = faces.length > 0;
  }

  // ---- live --------------------------------------------------------------------------
  const live = { ws: null, stream: null, timer: null, sent: 0, sentAt: new Map(), busy: false, times: [] };

  function setLiveStatus(text, error) {
    const el = $("live-status"); el.textContent = text; el.className = "status" + (error ? " error" : "");
  }

  async function startLive() {
    $("start").disabled = true;
    try {
      live.stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
    } catch (e) {
      setLiveStatus("camera not available: " + e.message, true); $("start").disabled = false; return;
    }
    const video = $("video");
    video.srcObject = live.stream;
    await video.play().catch(() => {});
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const q = token() ? "?token=" + encodeURIComponent(token()) : "";
    const ws = new WebSocket(proto + "//" + location.host + "/v1/stream" + q);
    ws.binaryType = "arraybuffer";
    live.ws = ws; live.sent = 0; live.sentAt.clear(); live.times = [];
    ws.onopen = () => { setLiveStatus("streaming"); $("stop").disabled = false; live.timer = setInterval(sendFrame, SEND_INTERVAL_MS); };
    ws.onclose = (ev) => { setLiveStatus("stream closed" + (ev.reason ? ": " + ev.reason : ""), ev.code !== 1000 && ev.code !== 1005); stopLive(); };
    ws.onerror = () => setLiveStatus("WebSocket error", true);
    ws.onmessage = (ev) => onResult(JSON.parse(ev.data));
  }

  const canvas = document.createElement("canvas");
  function sendFrame() {
    const video = $("video"), ws = live.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || live.busy || !video.videoWidth) return;
    if (ws.bufferedAmount > 0) return;  // the network is behind: skip rather than queue
    canvas.width = video.videoWidth; canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    live.busy = true;
    canvas.toBlob((blob) => {
      live.busy = false;
      if (!blob || ws.readyState !== WebSocket.OPEN) return;
      live.sent += 1;
      live.sentAt.set(live.sent, performance.now());
      ws.send(blob);
    }, "image/jpeg", JPEG_QUALITY);
  }

  function onResult(msg) {
    if (msg.type === "error") { setLiveStatus("frame " + msg.seq + ": " + msg.detail, true); return; }
    const now = performance.now();
    const t0 = live.sentAt.get(msg.seq);
    for (const k of live.sentAt.keys()) if (k <= msg.seq) live.sentAt.delete(k);
    live.times.push(now); while (live.times.length && now - live.times[0] > 2000) live.times.shift();
    $("faces-count").textContent = String(msg.faces.length);
    $("latency").textContent = msg.latency_ms.toFixed(0);
    $("rtt").textContent = t0 !== undefined ? (now - t0).toFixed(0) : "–";
    $("fps").textContent = (live.times.length / 2).toFixed(1);
    $("dropped").textContent = String(msg.dropped_total);
    drawBoxes($("overlay"), $("video"), msg.faces, msg.width, msg.height);
    showLiveFaces(msg.faces);
    document.body.dataset.liveSeq = String(msg.seq);
    document.body.dataset.liveFrames = String((Number(document.body.dataset.liveFrames) || 0) + 1);
  }

  function stopLive() {
    if (live.timer) clearInterval(live.timer);
    live.timer = null;
    if (live.ws && live.ws.readyState <= WebSocket.OPEN) live.ws.close(1000);
    live.ws = null;
    if (live.stream) live.stream.getTracks().forEach((t) => t.stop());
    live.stream = null;
    $("start").disabled = false; $("stop").disabled = true;
    $("overlay").replaceChildren();
    $("faces").replaceChildren(); $("faces-empty").hidden = false;
  }

  // ---- uploads -----------------------------------------------------------------------
  function setUploadStatus(text, error) {
    const el = $("upload-status"); el.textContent = text; el.className = "status" + (error ? " error" : "");
  }

  async function onUpload(ev) {
    ev.preventDefault();
    const file = $("file").files[0];
    if (!file) return;
    const VIDEO_EXT = /\.(mp4|m4v|mov|webm|mkv|flv|avi|ts|3gp)$/i;
    const isVideo = file.type.startsWith("video/") || (!file.type.startsWith("image/") && VIDEO_EXT.test(file.name));
    const form = new FormData();
    form.append("file", file);
    $("image-result").hidden = true;
    try {
      if (isVideo) {
        if ($("fps-input").value) form.append("fps", $("fps-input").value);
        if ($("segments").files[0]) form.append("segments", $("segments").files[0]);
        setUploadStatus("uploading " + file.name + " …");
        const r = await api("/v1/videos", { method: "POST", body: form });
        const job = await r.json();
        setUploadStatus("queued job " + job.id);
        pollJob(job.id);
      } else {
        setUploadStatus("analysing " + file.name + " …");
        const q = $("explain").checked ? "?explain=true" : "";
        const r = await api("/v1/images" + q, { method: "POST", body: form });
        showImage(file, await r.json());
      }
    } catch (e) {
      setUploadStatus(e.message, true);
    }
  }

  function showImage(file, res) {
    setUploadStatus(res.faces.length + " face(s), " + res.analysis_ms.toFixed(0) + " ms");
    const img = $("still");
    img.onload = () => drawBoxes($("still-overlay"), img, res.faces, res.width, res.height);
    img.src = URL.createObjectURL(file);
    $("image-result").hidden = false;
    const out = $("image-table"); out.replaceChildren();
    res.faces.forEach((f) => {
      const h = document.createElement("h3");
      h.textContent = "face " + f.face + (f.expression ? " — leading: " + f.expression : "");
      const e = document.createElement("div"); e.className = "bars";
      const a = document.createElement("div"); a.className = "bars au";
      out.append(h, e, a);
      showScores(f, e, a, null);
      if (f.explanation && f.expression && f.explanation[f.expression]) {
        const ex = f.explanation[f.expression];
        const top = Object.entries(ex.contributions).sort((x, y) => Math.abs(y[1]) - Math.abs(x[1])).slice(0, 6);
        const p = document.createElement("p"); p.className = "hint";
        p.textContent = "why " + f.expression + ": " + top.map(([k, v]) => k + " " + (v >= 0 ? "+" : "") + v.toFixed(2)).join(", ") + " (logit contributions)";
        out.append(p);
      }
    });
    if (!res.faces.length) { const p = document.createElement("p"); p.textContent = "No face found."; out.append(p); }
  }

  async function pollJob(id) {
    try {
      const job = await (await api("/v1/jobs/" + id)).json();
      setUploadStatus("job " + id.slice(0, 8) + ": " + job.state + " " + Math.round(100 * job.progress) + "%" + (job.error && job.state === "failed" ? " — " + job.error : ""), job.state === "failed");
      if (job.state === "queued" || job.state === "running") { setTimeout(() => pollJob(id), 1000); }
      refreshJobs();
    } catch (e) { setUploadStatus(e.message, true); }
  }

  // ---- jobs --------------------------------------------------------------------------
  async function openBlob(path, download) {
    if (!download && !token()) { window.open(path, "_blank", "noopener"); return; }  // plain link: the report's own CSP applies
    try {
      const r = await api(path);
      const url = URL.createObjectURL(await r.blob());
      const a = document.createElement("a"); a.href = url;
      if (download) a.download = download; else a.target = "_blank";
      a.rel = "noopener"; document.body.appendChild(a); a.click(); a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    } catch (e) { setUploadStatus(e.message, true); }
  }

  function button(text, fn) { const b = document.createElement("button"); b.type = "button"; b.textContent = text; b.onclick = fn; return b; }

  async function refreshJobs() {
    let list;
    try { list = await (await api("/v1/jobs?limit=50")).json(); } catch (e) { $("jobs-empty").textContent = e.message; return; }
    const body = $("jobs").querySelector("tbody"); body.replaceChildren();
    $("jobs-empty").hidden = list.jobs.length > 0;
    for (const j of list.jobs) {
      const tr = document.createElement("tr"); tr.dataset.job = j.id;
      const cells = [j.filename, j.state + (j.error && j.state === "failed" ? ": " + j.error : "")];
      cells.forEach((t) => { const td = document.createElement("td"); td.textContent = t; tr.appendChild(td); });
      const tdp = document.createElement("td"); const pr = document.createElement("progress"); pr.max = 1; pr.value = j.progress; tdp.appendChild(pr); tr.appendChild(tdp);
      const tdc = document.createElement("td"); tdc.textContent = j.created_at.replace("T", " ").replace("+00:00", ""); tr.appendChild(tdc);
      const act = document.createElement("td"); act.className = "actions";
      if (j.state === "done") {
        if (j.has_report) act.append(button("report", () => openBlob("/v1/jobs/" + j.id + "/report")));
        act.append(button("CSV", () => openBlob("/v1/jobs/" + j.id + "/results?format=csv", "fau-" + j.id + ".csv")));
        act.append(button("JSON", () => openBlob("/v1/jobs/" + j.id + "/results?format=json", "fau-" + j.id + ".json")));
        // every other file the job wrote (summary, exports such as OpenFace CSV or ELAN)
        const files = Object.entries(j.downloads || {}).filter(([name]) => name !== "report.html");
        if (files.length) {
          const more = document.createElement("details"); more.className = "downloads";
          const sum = document.createElement("summary"); sum.textContent = "files (" + files.length + ")";
          more.appendChild(sum);
          for (const [name, url] of files) more.appendChild(button(name, () => openBlob(url, "fau-" + j.id.slice(0, 8) + "-" + name)));
          act.appendChild(more);
        }
      }
      act.append(button("delete", async () => { try { await api("/v1/jobs/" + j.id, { method: "DELETE" }); refreshJobs(); } catch (e) { setUploadStatus(e.message, true); } }));
      tr.appendChild(act);
      body.appendChild(tr);
    }
  }

  // ---- start -------------------------------------------------------------------------
  async function init() {
    $("start").onclick = startLive;
    $("stop").onclick = stopLive;
    $("upload-form").onsubmit = onUpload;
    $("refresh").onclick = refreshJobs;
    $("token").value = token();
    $("token").onchange = () => { sessionStorage.setItem("fau-token", $("token").value.trim()); refreshJobs(); };
    try {
      info = await (await fetch("/v1/info")).json();
      $("version").textContent = "fau " + info.version + " · model " + (info.model || "none (AUs only)");
      $("auth").hidden = !info.auth_required;
      if (info.aus) MAIN_AUS = Object.keys(info.aus).filter((k) => k.indexOf("_") < 0);
      if (!info.video_available) { $("file").accept = "image/*"; }
    } catch (e) { /* page still works for images */ }
    refreshJobs();
    if (new URLSearchParams(location.search).get("autostart") === "1") startLive();
  }
  document.addEventListener("DOMContentLoaded", init);
})();
