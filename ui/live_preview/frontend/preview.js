/**
 * Moodtune's light Live preview (MOODTUNE_LIVE_VIDEO_BACK=0): the camera picture that the WebRTC component
 * already sends to the server, shown in this browser, with the server's latest face boxes and mood drawn
 * over it. The server sends no video back, so this is the only picture the user sees.
 *
 * One capture serves both: this component never calls getUserMedia. The WebRTC component (streamlit-webrtc,
 * an iframe of the same origin beside this one) opens the camera when the user presses START; this module
 * wraps that iframe's getUserMedia as soon as the iframe is there, keeps the stream it returns, and plays
 * it in its own <video>. (A second getUserMedia on the same camera would mute the first one on iOS Safari.)
 * It also keeps that iframe's video sender and, once connected, caps the frames a second it sends the server
 * (`send_fps`, RTCRtpSender maxFramerate): the server analyses a few a second; the preview keeps them all.
 *
 * Streamlit custom-component protocol (components v1), spoken directly with window.postMessage:
 *   -> parent  {isStreamlitMessage, type: "streamlit:componentReady", apiVersion: 1}
 *   <- parent  {type: "streamlit:render", args}   args: {streaming, boxes: [[x, y, w, h] fractions], mood,
 *                                                        confidence, send_fps}, on each 1-s refresh
 *   -> parent  {isStreamlitMessage, type: "streamlit:setFrameHeight", height}
 * It sends no value: it never reruns the page.
 */

const WEBRTC_FRAMES = 'iframe[title*="webrtc_streamer"]';
const POLL_MS = 250;
const GREEN = "rgb(80, 200, 80)";
const GREY = "rgb(200, 200, 200)";
const NO_PICTURE = "Your camera is on and the server is reading it, but this browser does not let the page "
  + "show its picture here. The mood and the music follow you as usual.";

const view = {
  stage: document.getElementById("stage"),
  video: document.getElementById("video"),
  overlay: document.getElementById("overlay"),
  message: document.getElementById("message"),
};

const shown = { streaming: false, boxes: [], mood: null, confidence: 0, sendFps: 0 };

// --- the Streamlit protocol ---------------------------------------------------------------------------
function post(type, data) {
  window.parent.postMessage({ isStreamlitMessage: true, type, ...data }, "*");
}

let lastHeight = -1;
function reportHeight() {
  const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
  if (height !== lastHeight) {
    lastHeight = height;
    post("streamlit:setFrameHeight", { height });
  }
}

/** The args, checked: anything malformed draws nothing rather than something wrong. */
function argsFrom(args) {
  const fraction = (v) => typeof v === "number" && Number.isFinite(v) && v >= -0.5 && v <= 1.5;
  const boxes = Array.isArray(args.boxes)
    ? args.boxes.filter((box) => Array.isArray(box) && box.length === 4 && box.every(fraction)).slice(0, 8)
    : [];
  const confidence = typeof args.confidence === "number" && Number.isFinite(args.confidence)
    ? Math.min(1, Math.max(0, args.confidence)) : 0;
  return {
    streaming: args.streaming === true,
    boxes,
    mood: typeof args.mood === "string" ? args.mood.slice(0, 40) : null,
    confidence,
    sendFps: typeof args.send_fps === "number" && args.send_fps >= 1 && args.send_fps <= 60 ? args.send_fps : 0,
  };
}

// --- the camera stream of the WebRTC component ----------------------------------------------------------
/** Wrap getUserMedia in the WebRTC component's window (once per window) to keep the stream it opens, and
 * RTCPeerConnection's addTrack to keep the senders (their frame rate is capped once connected). */
function watchCamera(win) {
  const media = win.navigator && win.navigator.mediaDevices;
  if (media && typeof media.getUserMedia === "function" && !media.__moodtunePreview) {
    const original = media.getUserMedia.bind(media);
    media.getUserMedia = async (constraints) => {
      const stream = await original(constraints);
      win.__moodtuneCameraStream = stream;
      return stream;
    };
    media.__moodtunePreview = true;
  }
  const proto = win.RTCPeerConnection && win.RTCPeerConnection.prototype;
  if (proto && typeof proto.addTrack === "function" && !proto.__moodtunePreview) {
    const addTrack = proto.addTrack;
    proto.addTrack = function moodtuneAddTrack(...args) {
      const sender = addTrack.apply(this, args);
      if (sender && sender.track && sender.track.kind === "video") {
        win.__moodtuneSenders = [...(win.__moodtuneSenders || []).slice(-3), { pc: this, sender, capped: null }];
      }
      return sender;
    };
    proto.__moodtunePreview = true;
  }
}

/** Send the server at most ``fps`` frames a second (it analyses only a few; the preview keeps every frame).
 * Applied once the connection is up: setParameters before negotiation is refused by some browsers. */
function capFrameRate(win, fps) {
  if (!(fps > 0)) return;
  for (const entry of win.__moodtuneSenders || []) {
    if (entry.capped === fps || entry.pc.connectionState !== "connected") continue;
    entry.capped = fps;
    try {
      const parameters = entry.sender.getParameters();
      if (!parameters.encodings || !parameters.encodings.length) parameters.encodings = [{}];
      parameters.encodings.forEach((encoding) => { encoding.maxFramerate = fps; });
      entry.sender.setParameters(parameters).catch(() => { entry.capped = "refused"; });
    } catch (error) {
      entry.capped = "refused"; // an older browser: the server gets every frame, as with video sent back
    }
  }
}

/** The live camera stream of the page's WebRTC component, or null (not started, stopped, not found). */
function cameraStream() {
  let frames;
  try {
    frames = window.parent.document.querySelectorAll(WEBRTC_FRAMES);
  } catch (error) {
    return { found: false, stream: null }; // not the same origin: nothing can be shared
  }
  for (const frame of frames) {
    let win;
    try {
      win = frame.contentWindow;
      if (!win || !frame.contentDocument || frame.contentDocument.readyState !== "complete") continue;
      watchCamera(win);
      capFrameRate(win, shown.sendFps);
    } catch (error) {
      continue;
    }
    const stream = win.__moodtuneCameraStream;
    const live = stream && stream.getVideoTracks().some((track) => track.readyState === "live");
    return { found: true, stream: live ? stream : null };
  }
  return { found: false, stream: null };
}

// --- drawing ------------------------------------------------------------------------------------------
function showMessage(text) {
  view.message.textContent = text;
  view.message.hidden = !text;
}

/** The server's boxes over the picture; the largest (green) labelled with the headline's mood and figure. */
function drawBoxes() {
  const canvas = view.overlay;
  const { videoWidth: width, videoHeight: height } = view.video;
  const context = canvas.getContext("2d");
  if (!width || !height || !shown.streaming || view.stage.hidden) {
    context.clearRect(0, 0, canvas.width, canvas.height); // nothing left over for the next start
    return;
  }
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  context.clearRect(0, 0, width, height);
  const thickness = Math.max(2, Math.round(Math.min(width, height) / 160));
  context.font = `600 ${Math.max(12, Math.round(Math.max(width, height) / 24))}px system-ui, sans-serif`;
  context.textBaseline = "bottom";
  shown.boxes.forEach((box, index) => {
    const [x, y, w, h] = [box[0] * width, box[1] * height, box[2] * width, box[3] * height];
    const colour = index === 0 ? GREEN : GREY;
    context.lineWidth = thickness;
    context.strokeStyle = colour;
    context.strokeRect(x, y, w, h);
    if (index !== 0 || !shown.mood) return;
    const text = `${shown.mood} ${Math.round(shown.confidence * 100)}%`;
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

/** Show the camera picture while the page says it streams and the stream is there; else nothing. */
function update() {
  const { found, stream } = cameraStream();
  const playing = shown.streaming && stream !== null;
  if (playing && view.video.srcObject !== stream) {
    view.video.srcObject = stream; // the WebRTC component's own MediaStream: the same capture, no second one
    view.video.play().catch(() => {});
  }
  if (!playing && view.video.srcObject) view.video.srcObject = null;
  view.stage.hidden = !playing;
  document.body.dataset.preview = playing ? "playing" : shown.streaming ? "waiting" : "idle";
  // streaming, but no stream to show after the first seconds: say so in plain words (never a blank box)
  showMessage(shown.streaming && !playing && (!found || waitedLongEnough()) ? NO_PICTURE : "");
  // redraw only when what is drawn changed (this runs 4 times a second; the boxes change once a second)
  const drawn = JSON.stringify([playing, shown.boxes, shown.mood, shown.confidence, view.video.videoWidth,
    view.video.videoHeight]);
  if (drawn !== lastDrawn) {
    lastDrawn = drawn;
    drawBoxes();
    reportHeight();
  }
}

let lastDrawn = "";

let streamingSince = null;
function waitedLongEnough() {
  return streamingSince !== null && performance.now() - streamingSince > 5000;
}

window.addEventListener("message", (event) => {
  const data = event.data;
  if (!data || data.type !== "streamlit:render") return;
  Object.assign(shown, argsFrom(data.args || {}));
  if (shown.streaming && streamingSince === null) streamingSince = performance.now();
  if (!shown.streaming) streamingSince = null;
  update();
});

view.video.addEventListener("loadedmetadata", () => { drawBoxes(); reportHeight(); });
new ResizeObserver(reportHeight).observe(document.documentElement);
setInterval(update, POLL_MS);
post("streamlit:componentReady", { apiVersion: 1 });
reportHeight();
