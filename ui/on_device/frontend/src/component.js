/**
 * Moodtune's "On this device" Live component: the camera, the face analysis and the preview all stay in the
 * browser; the server receives only each face's seven probabilities, its box and a timestamp.
 *
 * Streamlit custom-component protocol (components v1), spoken directly with window.postMessage:
 *   -> parent  {isStreamlitMessage, type: "streamlit:componentReady", apiVersion: 1}
 *   <- parent  {type: "streamlit:render", args, disabled, theme}   (on every script run that draws us)
 *   -> parent  {isStreamlitMessage, type: "streamlit:setComponentValue", value, dataType: "json"}  (a rerun)
 *   -> parent  {isStreamlitMessage, type: "streamlit:setFrameHeight", height}
 *
 * Each setComponentValue reruns the script (the fragment holding us), so readings are batched: one value per
 * `send_every_s` (1 s) holding every frame analysed since the last one. The value:
 *   {run, seq, sent, state, message, frame: [w, h], ms, readings: [{t, faces: [{box, probs}]}]}
 * `run` is random per page load (a remount restarts `seq`), `sent` and every `t` are performance.now() in
 * seconds, so the server maps them onto its own clock by their difference. `state` is one of
 * starting | running | denied | no_camera | camera_busy | engine_failed.
 */

import { createEngine } from "./engine/index.js";

const STATES = Object.freeze({
  starting: "starting",
  running: "running",
  denied: "denied",
  noCamera: "no_camera",
  busy: "camera_busy",
  engineFailed: "engine_failed",
});

const MESSAGES = {
  starting: "Starting the camera and loading the face models in your browser…",
  denied: "The browser blocked the camera. Click the camera (or lock) icon in the address bar, set Camera to "
    + "Allow and reload the page.",
  no_camera: "No camera was found. Connect one (or use the Snapshot screen with a photo).",
  insecure: "This page is not served over HTTPS, so the browser offers no camera here. Open the app over "
    + "HTTPS or on localhost.",
  camera_busy: "The camera is in use by another program or tab. Close it there and reload this page.",
  engine_failed: "The face models could not be loaded in this browser",
};

const GREEN = "rgb(80, 200, 80)";
const GREY = "rgb(200, 200, 200)";

/** Settings from the server's args, with safe defaults (the server validates what comes back anyway). */
function settingsFrom(args) {
  const number = (value, fallback, low, high) =>
    (typeof value === "number" && Number.isFinite(value) ? Math.min(high, Math.max(low, value)) : fallback);
  return {
    geometry: args.geometry ?? null,
    labels: Array.isArray(args.labels) && args.labels.length === 7 ? args.labels : null,
    maxFps: number(args.max_fps, 6, 0.5, 30),
    sendEveryS: number(args.send_every_s, 1, 0.2, 10),
    mood: typeof args.mood === "string" ? args.mood : null,
    confidence: number(args.confidence, 0, 0, 1),
  };
}

// --- the Streamlit protocol ---------------------------------------------------------------------------
function post(type, data) {
  window.parent.postMessage({ isStreamlitMessage: true, type, ...data }, "*");
}

function setValue(value) {
  post("streamlit:setComponentValue", { value, dataType: "json" });
}

let lastHeight = -1;
function reportHeight() {
  const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
  if (height !== lastHeight) {
    lastHeight = height;
    post("streamlit:setFrameHeight", { height });
  }
}

// --- the page ---------------------------------------------------------------------------------------
const view = {
  stage: document.getElementById("stage"),
  video: document.getElementById("video"),
  overlay: document.getElementById("overlay"),
  message: document.getElementById("message"),
};

function showMessage(text, kind) {
  view.message.textContent = text;
  view.message.className = `message ${kind}`;
  view.message.hidden = !text;
  reportHeight();
}

/** Box and "label NN%" over each face, as the server path draws them (the largest face in green). */
function drawFaces(faces, labels, mood, confidence) {
  const canvas = view.overlay;
  const { videoWidth: width, videoHeight: height } = view.video;
  if (!width || !height) return;
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, width, height);
  const thickness = Math.max(2, Math.round(Math.min(width, height) / 200));
  context.font = `600 ${Math.max(12, Math.round(Math.max(width, height) / 32))}px system-ui, sans-serif`;
  context.textBaseline = "bottom";
  faces.forEach((face, index) => {
    const [x, y, w, h] = face.box;
    const colour = index === 0 ? GREEN : GREY;
    let top = 0;
    for (let k = 1; k < face.probs.length; k += 1) if (face.probs[k] > face.probs[top]) top = k;
    // The largest face carries the server's smoothed mood (the headline's figure) once there is one.
    const name = index === 0 && mood ? mood : labels ? labels[top] : String(top);
    const share = index === 0 && mood ? confidence : face.probs[top];
    const text = `${name} ${Math.round(share * 100)}%`;
    context.lineWidth = thickness;
    context.strokeStyle = colour;
    context.strokeRect(x, y, w, h);
    const metrics = context.measureText(text);
    const textHeight = metrics.actualBoundingBoxAscent + metrics.actualBoundingBoxDescent + 6;
    // above the box; else below it; else inside its top edge (a face filling the frame)
    let ty = y - 4;
    if (ty - textHeight < 0) ty = y + h + textHeight + 4 <= height ? y + h + textHeight + 4 : y + textHeight + 2;
    context.fillStyle = colour;
    context.fillRect(x, ty - textHeight, metrics.width + 8, textHeight);
    context.fillStyle = "rgb(20, 20, 20)";
    context.fillText(text, x + 4, ty - 3);
  });
}

// --- the camera ---------------------------------------------------------------------------------------
/** The camera's stream, or the state that says why there is none. */
async function openCamera() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return { state: STATES.noCamera, message: window.isSecureContext ? MESSAGES.no_camera : MESSAGES.insecure };
  }
  try {
    // ideal, never exact: a phone or an old webcam gets its nearest mode instead of an error
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: { ideal: "user" } },
    });
    return { stream };
  } catch (error) {
    const name = error && error.name;
    if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") {
      return { state: STATES.denied, message: MESSAGES.denied };
    }
    if (name === "NotReadableError" || name === "AbortError" || name === "TrackStartError") {
      return { state: STATES.busy, message: MESSAGES.camera_busy };
    }
    return { state: STATES.noCamera, message: MESSAGES.no_camera };
  }
}

// --- the session ------------------------------------------------------------------------------------
const session = {
  run: Math.random().toString(36).slice(2, 10),
  seq: 0,
  state: STATES.starting,
  message: MESSAGES.starting,
  settings: null,
  readings: [],
  analysisMs: [],
  started: false,
  firstSent: false,
};

/** Send what was read since the last value (at most one value per `sendEveryS`: one rerun a second). */
function flush() {
  session.seq += 1;
  const { videoWidth: width, videoHeight: height } = view.video;
  const times = session.analysisMs;
  const ms = times.length ? times.reduce((a, b) => a + b, 0) / times.length : null;
  setValue({
    run: session.run,
    seq: session.seq,
    sent: round3(performance.now() / 1000),
    state: session.state,
    message: session.state === STATES.running ? "" : session.message,
    frame: [width || 0, height || 0],
    ms: ms === null ? null : Math.round(ms * 10) / 10,
    readings: session.readings,
  });
  session.readings = [];
  session.analysisMs = [];
}

function round3(value) {
  return Math.round(value * 1000) / 1000;
}

function round4(value) {
  return Math.round(value * 10000) / 10000;
}

function fail(state, message) {
  session.state = state;
  session.message = message;
  view.stage.hidden = state !== STATES.running;
  showMessage(message, "error");
  flush();
}

async function analyseForever(engine) {
  const video = view.video;
  let next = 0;
  while (session.state === STATES.running) {
    const { maxFps } = session.settings;
    const wait = next - performance.now();
    if (wait > 0) await new Promise((resolve) => { setTimeout(resolve, wait); });
    next = performance.now() + 1000 / maxFps;
    if (video.readyState < 2 || !video.videoWidth) {
      await new Promise((resolve) => { setTimeout(resolve, 50); });
      continue;
    }
    const t = performance.now() / 1000;
    let faces;
    try {
      faces = await engine.analyze(video);
    } catch (error) {
      if (session.state !== STATES.running) return;
      fail(STATES.engineFailed, `${MESSAGES.engine_failed}: ${error && error.message ? error.message : error}`);
      return;
    }
    session.analysisMs.push(performance.now() - t * 1000);
    const { labels, mood, confidence } = session.settings;
    drawFaces(faces, labels, mood, confidence);
    session.readings.push({
      t: round3(t),
      faces: faces.map((face) => ({ box: face.box.map((v) => Math.round(v)), probs: face.probs.map(round4) })),
    });
    if (!session.firstSent) {
      session.firstSent = true;
      flush(); // the first reading at once: the mood shows up without waiting for the next second
    }
  }
}

async function start() {
  showMessage(MESSAGES.starting, "info");
  flush(); // the page says "starting" at once
  const assetBase = new URL("assets/", window.location.href).href;
  const enginePromise = createEngine({ assetBase, geometry: session.settings.geometry, threads: 1 })
    .then((engine) => ({ engine }), (error) => ({ error }));
  const camera = await openCamera();
  if (!camera.stream) {
    fail(camera.state, camera.message);
    return;
  }
  view.video.srcObject = camera.stream;
  view.stage.hidden = false;
  await view.video.play().catch(() => {});
  reportHeight();
  const loaded = await enginePromise;
  if (loaded.error) {
    camera.stream.getTracks().forEach((track) => track.stop());
    const reason = loaded.error && loaded.error.message ? loaded.error.message : String(loaded.error);
    fail(STATES.engineFailed, `${MESSAGES.engine_failed}: ${reason}`);
    return;
  }
  session.state = STATES.running;
  session.message = "";
  showMessage("", "info");
  camera.stream.getVideoTracks().forEach((track) => {
    track.addEventListener("ended", () => fail(STATES.noCamera, "The camera stopped (unplugged or turned off)."));
  });
  setInterval(() => { if (session.state === STATES.running) flush(); }, session.settings.sendEveryS * 1000);
  flush();
  analyseForever(loaded.engine);
}

window.addEventListener("message", (event) => {
  const data = event.data;
  if (!data || data.type !== "streamlit:render") return;
  session.settings = settingsFrom(data.args || {});
  if (!session.started) {
    session.started = true;
    start().catch((error) => fail(STATES.engineFailed, `${MESSAGES.engine_failed}: ${error}`));
  }
});

new ResizeObserver(reportHeight).observe(document.documentElement);
post("streamlit:componentReady", { apiVersion: 1 });
