/**
 * The 48x48 face square, cut as `emotion.detector.crop_face` cuts it: its side and centre looked up by the
 * box's size in the detector's pixels (`models/crop_geometry.json`, passed in as `geometry`), rotated so the
 * eyes are level, a generous window shrunk once and then warped with replicated borders.
 *
 * @module engine/crop
 */

import { cropReplicate, resizeArea, resizeLinear, rotationMatrix, roundHalfEven, warpAffineLinear } from "./image.js";

export const FACE_SIZE = 48;
const MAX_LEVEL_DEG = 30;

/** numpy.interp: linear between the points, the end values beyond them. */
function interp(x, xs, ys) {
  if (x <= xs[0]) return ys[0];
  const last = xs.length - 1;
  if (x >= xs[last]) return ys[last];
  let i = 1;
  while (xs[i] < x) i++;
  const t = (x - xs[i - 1]) / (xs[i] - xs[i - 1]);
  return ys[i - 1] + t * (ys[i] - ys[i - 1]);
}

/**
 * `CropGeometry.framing_at`: [scale, offsetY] for a box of `boxPx` detector pixels.
 * @param {Object} geometry  the parsed crop_geometry.json
 */
export function framingAt(geometry, boxPx) {
  const points = geometry.by_size || [];
  if (!points.length) return [geometry.scale, geometry.offset_y];
  const sizes = points.map((p) => p.box_px);
  return [interp(boxPx, sizes, points.map((p) => p.scale)), interp(boxPx, sizes, points.map((p) => p.offset_y))];
}

/**
 * The grey 48x48 face for one detection.
 * @param {{width:number,height:number,data:Uint8Array}} gray  the grey frame
 * @param {{box:number[], rightEye:number[]|null, leftEye:number[]|null, detectorScale:number}} detection
 * @param {Object} geometry  the parsed crop_geometry.json
 * @returns {Uint8Array} 48*48 grey pixels, row-major
 */
export function cropFace(gray, detection, geometry) {
  const [x, y, w, h] = detection.box;
  const reference = Math.sqrt(w * h);
  const [scale, offsetYRatio] = framingAt(geometry, reference / detection.detectorScale);
  const side = scale * reference;
  const offsetY = offsetYRatio * reference;
  let angle = 0;
  if (geometry.level && detection.rightEye && detection.leftEye) {
    const [rx, ry] = detection.rightEye;
    const [lx, ly] = detection.leftEye;
    angle = Math.atan2(ly - ry, lx - rx) * 180 / Math.PI;
    if (Math.abs(angle) > MAX_LEVEL_DEG) angle = 0;  // implausible landmarks: do not spin the face
  }
  // The offset is in the face's own (levelled) axes: rotate it into the frame's.
  const theta = angle * Math.PI / 180;
  const ox = (geometry.offset_x || 0) * reference;
  const oy = offsetY;
  const cx = x + w / 2 + ox * Math.cos(theta) - oy * Math.sin(theta);
  const cy = y + h / 2 + ox * Math.sin(theta) + oy * Math.cos(theta);
  // A window sqrt(2) larger than the square, so that rotating leaves no empty corners; shrunk once.
  const half = side * 0.75;
  const x0 = Math.floor(cx - half);
  const y0 = Math.floor(cy - half);
  const x1 = Math.ceil(cx + half);
  const y1 = Math.ceil(cy + half);
  let window = cropReplicate(gray, x0, y0, x1, y1);
  const big = roundHalfEven(FACE_SIZE * (x1 - x0) / side);
  window = big < window.width ? resizeArea(window, big, big) : resizeLinear(window, big, big);
  const centreX = (cx - x0) * big / (x1 - x0);
  const centreY = (cy - y0) * big / (y1 - y0);
  const m = rotationMatrix(centreX, centreY, angle);
  m[2] += FACE_SIZE / 2 - centreX;
  m[5] += FACE_SIZE / 2 - centreY;
  return warpAffineLinear(window, m, FACE_SIZE, FACE_SIZE).data;
}
