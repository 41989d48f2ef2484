/**
 * YuNet (`face_detection_yunet.onnx`) in onnxruntime-web, run and decoded as the server's
 * `emotion.detector.YuNetDetector` runs it through `cv2.FaceDetectorYN`:
 * the frame shrunk to `detectWidth` pixels wide (INTER_AREA), BGR, zero-padded at the right and bottom to
 * multiples of 32; per stride (8, 16, 32) and anchor: score = sqrt(cls * obj) (each clamped to 0..1), box
 * centre (c + dx, r + dy) * stride, size exp(dw, dh) * stride, five landmarks (c + lx, r + ly) * stride,
 * all in float32; then OpenCV's NMSBoxes on integer boxes. Boxes come back in frame pixels, clipped and
 * rounded as `emotion.detector._clip_box`.
 *
 * @module engine/yunet
 */

import { resizeArea, roundHalfEven } from "./image.js";

const STRIDES = [8, 16, 32];
const DIVISOR = 32;
const TOP_K = 5000;
const f32 = Math.fround;

/**
 * The RGBA frame shrunk as emotion.detector._downscale shrinks the BGR frame (each channel averaged alike),
 * and the factor back to frame pixels.
 */
export function detectorCopy(frame, detectWidth) {
  if (frame.width <= detectWidth) return { image: frame, scale: 1 };
  const scale = frame.width / detectWidth;
  const height = Math.max(1, roundHalfEven(frame.height / scale));
  return { image: resizeArea(frame, detectWidth, height), scale };
}

/** YuNet's input blob from an RGBA image: 1 x 3 x padH x padW float32, B, G, R planes, zeros beyond it. */
export function inputBlob(image) {
  const padW = Math.ceil(image.width / DIVISOR) * DIVISOR;
  const padH = Math.ceil(image.height / DIVISOR) * DIVISOR;
  const blob = new Float32Array(3 * padW * padH);
  const plane = padW * padH;
  const { width, height, data } = image;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      const o = y * padW + x;
      blob[o] = data[i + 2];
      blob[plane + o] = data[i + 1];
      blob[2 * plane + o] = data[i];
    }
  }
  return { blob, padW, padH };
}

/**
 * Every anchor at or above the score threshold, as cv2.FaceDetectorYN's postProcess builds its rows.
 * @param {Object<string, {data: Float32Array}>} outputs  cls_8 ... kps_32
 * @returns {{box: number[], landmarks: number[][], score: number}[]}  detector pixels, float32 values
 */
export function decodeOutputs(outputs, padW, padH, scoreThreshold) {
  const threshold = f32(scoreThreshold);
  const faces = [];
  for (const stride of STRIDES) {
    const cols = Math.floor(padW / stride);
    const rows = Math.floor(padH / stride);
    const cls = outputs[`cls_${stride}`].data;
    const obj = outputs[`obj_${stride}`].data;
    const bbox = outputs[`bbox_${stride}`].data;
    const kps = outputs[`kps_${stride}`].data;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const idx = r * cols + c;
        const clsScore = Math.max(Math.min(cls[idx], 1), 0);
        const objScore = Math.max(Math.min(obj[idx], 1), 0);
        const score = f32(Math.sqrt(f32(clsScore * objScore)));
        if (score < threshold) continue;
        const cx = f32(f32(c + bbox[idx * 4]) * stride);
        const cy = f32(f32(r + bbox[idx * 4 + 1]) * stride);
        const w = f32(f32(Math.exp(bbox[idx * 4 + 2])) * stride);
        const h = f32(f32(Math.exp(bbox[idx * 4 + 3])) * stride);
        const landmarks = [];
        for (let n = 0; n < 5; n++) {
          const k = idx * 10 + 2 * n;
          landmarks.push([f32(f32(kps[k] + c) * stride), f32(f32(kps[k + 1] + r) * stride)]);
        }
        faces.push({ box: [f32(cx - f32(w / 2)), f32(cy - f32(h / 2)), w, h], landmarks, score });
      }
    }
  }
  return faces;
}

/** Intersection over union of two integer [x, y, w, h] boxes, as OpenCV's Rect jaccard distance. */
function overlap(a, b) {
  const x0 = Math.max(a[0], b[0]);
  const y0 = Math.max(a[1], b[1]);
  const x1 = Math.min(a[0] + a[2], b[0] + b[2]);
  const y1 = Math.min(a[1] + a[3], b[1] + b[3]);
  const inter = x1 > x0 && y1 > y0 ? (x1 - x0) * (y1 - y0) : 0;
  const union = a[2] * a[3] + b[2] * b[3] - inter;
  return union <= 0 ? 0 : inter / union;
}

/**
 * cv2.dnn.NMSBoxes(boxes truncated to integers, scores, threshold, nms, eta=1, top_k=5000): candidates
 * above the threshold in descending score (stable), each kept unless it overlaps a kept one by more than
 * `nmsThreshold`.
 */
export function nms(faces, scoreThreshold, nmsThreshold) {
  if (faces.length <= 1) return faces;  // OpenCV skips NMS for a single row
  const threshold = f32(scoreThreshold);
  const boxes = faces.map((f) => f.box.map((v) => Math.trunc(v)));
  const order = faces.map((f, i) => i).filter((i) => faces[i].score > threshold);
  order.sort((i, j) => faces[j].score - faces[i].score);
  const kept = [];
  for (const i of order.slice(0, TOP_K)) {
    if (kept.every((k) => overlap(boxes[i], boxes[k]) <= nmsThreshold)) kept.push(i);
  }
  return kept.map((i) => faces[i]);
}

/** emotion.detector._clip_box: round (half to even), clip, null when less than 4 pixels are left. */
export function clipBox(x, y, w, h, width, height) {
  const x0 = Math.max(0, roundHalfEven(x));
  const y0 = Math.max(0, roundHalfEven(y));
  const x1 = Math.min(width, roundHalfEven(x + w));
  const y1 = Math.min(height, roundHalfEven(y + h));
  if (x1 - x0 < 4 || y1 - y0 < 4) return null;
  return [x0, y0, x1 - x0, y1 - y0];
}

export class YuNet {
  constructor(ort, session, settings) {
    this.ort = ort;
    this.session = session;
    this.settings = settings;
    this.inputName = session.inputNames[0];
  }

  /** Load the ONNX model from `url`. */
  static async load(ort, url, sessionOptions, settings) {
    const session = await ort.InferenceSession.create(url, sessionOptions);
    return new YuNet(ort, session, settings);
  }

  /**
   * Faces in an RGBA frame, in YuNet's (score) order, boxes in frame pixels.
   * @returns {Promise<{box:number[], score:number, landmarks:number[][], rightEye:number[], leftEye:number[],
   *   detectorScale:number}[]>}
   */
  async detect(frame) {
    const { detectWidth, scoreThreshold, nmsThreshold } = this.settings;
    const { image, scale } = detectorCopy(frame, detectWidth);
    const { blob, padW, padH } = inputBlob(image);
    const input = new this.ort.Tensor("float32", blob, [1, 3, padH, padW]);
    const started = performance.now();
    const outputs = await this.session.run({ [this.inputName]: input });
    this.lastRunMs = performance.now() - started;  // the network alone, for the benchmark
    const found = nms(decodeOutputs(outputs, padW, padH, scoreThreshold), scoreThreshold, nmsThreshold);
    const detections = [];
    for (const face of found) {
      const [x, y, w, h] = face.box.map((v) => v * scale);
      const box = clipBox(x, y, w, h, frame.width, frame.height);
      if (!box) continue;
      const landmarks = face.landmarks.map(([lx, ly]) => [lx * scale, ly * scale]);
      detections.push({ box, score: face.score, landmarks, rightEye: landmarks[0], leftEye: landmarks[1],
        detectorScale: scale });
    }
    return detections;
  }

  async release() {
    await this.session.release();
  }
}
