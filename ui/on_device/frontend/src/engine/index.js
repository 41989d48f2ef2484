/**
 * Moodtune's in-browser analysis engine: the server's `emotion.pipeline.FramePipeline`, step by step, in
 * onnxruntime-web (WASM backend). No framework, no Streamlit, no network access beyond `assetBase`.
 *
 *   const engine = await createEngine({ assetBase: "./assets/", geometry });
 *   const faces = await engine.analyze(videoElement);   // or an HTMLCanvasElement, or ImageData
 *   // faces: [{ box: [x, y, w, h], probs: [7 numbers], landmarks: [[x, y] x 5], score }, ...]
 *
 * Steps (each mirrors the Python runtime so that results match; see tests/e2e/test_e2e_on_device_parity.py):
 * 1. the frame's pixels (RGBA) -> a copy `detectWidth` (320, `emotion.detector.DETECT_WIDTH`) pixels wide,
 *    shrunk by area averaging (cv2.INTER_AREA), zero-padded to multiples of 32 as cv2.FaceDetectorYN does;
 * 2. YuNet (`face_detection_yunet.onnx`); its 12 outputs decoded and NMS'd as OpenCV's C++ does (yunet.js);
 * 3. boxes back to frame pixels, clipped and rounded as `emotion.detector._clip_box`; largest face first, at
 *    most `maxFaces` (5, `emotion.pipeline.MAX_FACES`);
 * 4. grey frame (cv2.COLOR_BGR2GRAY's fixed-point weights), the size-aware square crop with eyes levelled
 *    (`emotion.detector.crop_face`, geometry from `models/crop_geometry.json` passed in, never copied here);
 * 5. the per-face contrast stretch (`emotion.preprocess.normalize_faces`) and the CNN
 *    (`emotion_cnn.onnx`, exported from the served TFLite by `python -m emotion.training.export_onnx`) on
 *    each face and its mirror image, the two distributions averaged (`emotion.classifier`).
 *
 * @module engine
 */

import * as ort from "onnxruntime-web";

import { cropFace } from "./crop.js";
import { EmotionModel } from "./classifier.js";
import { frameFromSource, rgbaToGray } from "./image.js";
import { YuNet } from "./yunet.js";

/** The server's defaults (emotion/detector.py, emotion/pipeline.py). */
export const DEFAULTS = Object.freeze({
  detectWidth: 320,
  scoreThreshold: 0.7,
  nmsThreshold: 0.3,
  maxFaces: 5,
  flipTta: true,
  yunetFile: "face_detection_yunet.onnx",
  emotionFile: "emotion_cnn.onnx",
});

/**
 * @typedef {Object} FaceResult
 * @property {number[]} box        [x, y, w, h] in source pixels (integers, clipped to the frame)
 * @property {number[]} probs      seven probabilities in emotion/labels.py order
 *                                 (angry, disgust, fear, happy, sad, surprise, neutral)
 * @property {number[][]} landmarks five [x, y] points in source pixels: right eye, left eye, nose,
 *                                 right and left mouth corners (the subject's sides)
 * @property {number} score        YuNet's face score
 */

/**
 * @typedef {Object} Engine
 * @property {(source: HTMLVideoElement|HTMLCanvasElement|ImageData) => Promise<FaceResult[]>} analyze
 *   the faces in one frame, largest first, at most `maxFaces`; [] when there is none
 * @property {(source: HTMLVideoElement|HTMLCanvasElement|ImageData) => Promise<{faces: FaceResult[],
 *   timings: {yunetMs: number, cnnMs: number, totalMs: number, yunetNetMs: number, cnnNetMs: number}}>}
 *   analyzeTimed  the same, with timings in ms: yunetMs from the frame's pixels to the boxes, cnnMs from the
 *   boxes to the probabilities; yunetNetMs and cnnNetMs the two networks alone (inside the former)
 * @property {() => Promise<void>} dispose  release the two ONNX sessions
 */

/**
 * Load both models and return the engine.
 *
 * @param {Object} options
 * @param {string} options.assetBase  URL folder serving the two .onnx files and onnxruntime-web's
 *   `ort-wasm-simd-threaded.{mjs,wasm}` (a relative URL is taken relative to the page)
 * @param {Object} options.geometry   the parsed `models/crop_geometry.json` (scale, offset_x, offset_y, level,
 *   by_size: [{box_px, scale, offset_y}, ...])
 * @param {number} [options.threads=1]  WASM threads (more than 1 needs a cross-origin-isolated page)
 * @param {number} [options.detectWidth=320]  the detector copy's width (emotion.detector.DETECT_WIDTH)
 * @param {number} [options.maxFaces=5]
 * @param {boolean} [options.flipTta=true]
 * @returns {Promise<Engine>}
 */
export async function createEngine({ assetBase, geometry, threads = 1, ...options }) {
  if (typeof assetBase !== "string" || assetBase.length === 0) {
    throw new Error("createEngine: assetBase (the URL folder of the model and .wasm files) is required");
  }
  if (!geometry || typeof geometry.scale !== "number") {
    throw new Error("createEngine: geometry (models/crop_geometry.json, parsed) is required");
  }
  const settings = { ...DEFAULTS, ...options };
  // Absolute: onnxruntime-web would resolve a relative wasmPaths against its own module's URL, not the page's.
  const base = new URL(assetBase.endsWith("/") ? assetBase : `${assetBase}/`, globalThis.location?.href).href;
  ort.env.wasm.wasmPaths = base;
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.proxy = false;
  const sessionOptions = { executionProviders: ["wasm"], graphOptimizationLevel: "all" };
  const [detector, classifier] = await Promise.all([
    YuNet.load(ort, `${base}${settings.yunetFile}`, sessionOptions, settings),
    EmotionModel.load(ort, `${base}${settings.emotionFile}`, sessionOptions, settings),
  ]);

  async function analyzeNow(source) {
    const t0 = performance.now();
    const frame = frameFromSource(source);
    const detections = await detector.detect(frame);
    const t1 = performance.now();
    // Largest first; a stable sort keeps YuNet's (score) order among equal areas, as Python's sorted does.
    detections.sort((a, b) => b.box[2] * b.box[3] - a.box[2] * a.box[3]);
    const kept = detections.slice(0, settings.maxFaces);
    let probs = [];
    if (kept.length) {
      const gray = rgbaToGray(frame);
      const crops = kept.map((d) => cropFace(gray, d, geometry));
      probs = await classifier.predictProba(crops);
    }
    const t2 = performance.now();
    const faces = kept.map((d, i) => ({ box: d.box, probs: probs[i], landmarks: d.landmarks, score: d.score }));
    const timings = { yunetMs: t1 - t0, cnnMs: t2 - t1, totalMs: t2 - t0, yunetNetMs: detector.lastRunMs,
      cnnNetMs: kept.length ? classifier.lastRunMs : 0 };
    return { faces, timings };
  }

  // One analysis at a time: an onnxruntime session runs one inference at once, and a caller that does not
  // wait (a timer, a video frame callback) must not interleave two frames' steps.
  let queue = Promise.resolve();
  function analyzeTimed(source) {
    const result = queue.then(() => analyzeNow(source));
    queue = result.catch(() => {});
    return result;
  }

  return {
    async analyze(source) {
      return (await analyzeTimed(source)).faces;
    },
    analyzeTimed,
    async dispose() {
      await Promise.all([detector.release(), classifier.release()]);
    },
  };
}
