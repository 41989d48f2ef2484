/**
 * Pixel primitives that reproduce what the server's OpenCV calls do to uint8 images, so that the browser
 * feeds the two networks the same numbers: frame capture, BGR->grey, INTER_AREA and INTER_LINEAR resizing,
 * an affine warp with replicated borders. Plain typed arrays; no DOM needed except in `frameFromSource`.
 *
 * An image here is `{ width, height, channels, data }` with `data` a Uint8ClampedArray/Uint8Array,
 * rows top to bottom, channels interleaved.
 *
 * @module engine/image
 */

/** Python's round(): halves go to the even neighbour (numpy's round does the same). */
export function roundHalfEven(value) {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** OpenCV's saturate_cast<uchar>(float): round half to even, clamp to 0..255. */
export function saturateU8(value) {
  const r = roundHalfEven(value);
  return r < 0 ? 0 : r > 255 ? 255 : r;
}

let scratchCanvas = null;

function scratchContext(width, height) {
  if (!scratchCanvas) {
    scratchCanvas = typeof OffscreenCanvas !== "undefined"
      ? new OffscreenCanvas(width, height) : document.createElement("canvas");
  }
  if (scratchCanvas.width !== width) scratchCanvas.width = width;
  if (scratchCanvas.height !== height) scratchCanvas.height = height;
  return scratchCanvas.getContext("2d", { willReadFrequently: true });
}

/**
 * The RGBA pixels of a video frame, a canvas or an ImageData, as an image (4 channels).
 * @param {HTMLVideoElement|HTMLCanvasElement|OffscreenCanvas|ImageData} source
 */
export function frameFromSource(source) {
  if (typeof ImageData !== "undefined" && source instanceof ImageData) {
    return { width: source.width, height: source.height, channels: 4, data: source.data };
  }
  if (source && source.data && source.width && source.height && !source.getContext && !source.videoWidth) {
    return { width: source.width, height: source.height, channels: 4, data: source.data };  // ImageData-like
  }
  let width, height;
  if (typeof HTMLVideoElement !== "undefined" && source instanceof HTMLVideoElement) {
    width = source.videoWidth;
    height = source.videoHeight;
    if (!width || !height) throw new Error("the video has no frame yet (videoWidth is 0)");
    const ctx = scratchContext(width, height);
    ctx.drawImage(source, 0, 0, width, height);
    return { width, height, channels: 4, data: ctx.getImageData(0, 0, width, height).data };
  }
  if (source && typeof source.getContext === "function") {
    width = source.width;
    height = source.height;
    if (!width || !height) throw new Error("the canvas is empty (0 pixels)");
    const ctx = source.getContext("2d", { willReadFrequently: true });
    return { width, height, channels: 4, data: ctx.getImageData(0, 0, width, height).data };
  }
  throw new Error("analyze(source): source must be an HTMLVideoElement, an HTMLCanvasElement or ImageData");
}

/** cv2.COLOR_BGR2GRAY on uint8: OpenCV's fixed-point weights (15 bits, as its vectorised code) with rounding. */
export function rgbaToGray(frame) {
  const { width, height, data, channels } = frame;
  const out = new Uint8Array(width * height);
  // channels 4: RGBA; channels 3: BGR
  const [ri, bi] = channels === 4 ? [0, 2] : [2, 0];
  for (let p = 0, i = 0; p < out.length; p++, i += channels) {
    out[p] = (data[i + bi] * 3735 + data[i + 1] * 19235 + data[i + ri] * 9798 + 16384) >> 15;
  }
  return { width, height, channels: 1, data: out };
}

/** OpenCV's area-averaging table for one axis: destination index, source index and weight per entry. */
function areaTable(srcSize, dstSize, scale) {
  const dst = [];
  const src = [];
  const weight = [];
  const push = (d, s, w) => { dst.push(d); src.push(s); weight.push(w); };
  for (let d = 0; d < dstSize; d++) {
    const f1 = d * scale;
    const f2 = f1 + scale;
    const cell = Math.min(scale, srcSize - f1);
    let s1 = Math.ceil(f1);
    let s2 = Math.floor(f2);
    s2 = Math.min(s2, srcSize - 1);
    s1 = Math.min(s1, s2);
    if (s1 - f1 > 1e-3) push(d, s1 - 1, (s1 - f1) / cell);
    for (let s = s1; s < s2; s++) push(d, s, 1 / cell);
    if (f2 - s2 > 1e-3) push(d, s2, Math.min(Math.min(f2 - s2, 1), cell) / cell);
  }
  return { dst: Int32Array.from(dst), src: Int32Array.from(src), weight: Float32Array.from(weight),
    length: dst.length };
}

/**
 * cv2.resize(..., interpolation=cv2.INTER_AREA) for shrinking: exact box averages at integer factors
 * (OpenCV's fast path, with its rounding), coverage-weighted averages otherwise.
 */
export function resizeArea(img, dstWidth, dstHeight) {
  const { width: sw, height: sh, channels: cn, data } = img;
  const out = new Uint8Array(dstWidth * dstHeight * cn);
  // OpenCV keeps the inverse of dst/src (not src/dst): the last bits decide the integer-factor fast path.
  const scaleX = 1 / (dstWidth / sw);
  const scaleY = 1 / (dstHeight / sh);
  const ix = Math.round(scaleX);
  const iy = Math.round(scaleY);
  const fast = Math.abs(scaleX - ix) < Number.EPSILON && Math.abs(scaleY - iy) < Number.EPSILON;
  if (fast && ix === 2 && iy === 2) {
    for (let y = 0; y < dstHeight; y++) {
      const r0 = 2 * y * sw * cn;
      const r1 = r0 + sw * cn;
      for (let x = 0; x < dstWidth; x++) {
        for (let c = 0; c < cn; c++) {
          const s = 2 * x * cn + c;
          const sum = data[r0 + s] + data[r0 + s + cn] + data[r1 + s] + data[r1 + s + cn];
          out[(y * dstWidth + x) * cn + c] = (sum + 2) >> 2;
        }
      }
    }
    return { width: dstWidth, height: dstHeight, channels: cn, data: out };
  }
  if (fast) {
    const inv = Math.fround(1 / (ix * iy));
    for (let y = 0; y < dstHeight; y++) {
      for (let x = 0; x < dstWidth; x++) {
        for (let c = 0; c < cn; c++) {
          let sum = 0;
          for (let dy = 0; dy < iy; dy++) {
            const row = ((y * iy + dy) * sw + x * ix) * cn + c;
            for (let dx = 0; dx < ix; dx++) sum += data[row + dx * cn];
          }
          out[(y * dstWidth + x) * cn + c] = saturateU8(Math.fround(sum * inv));
        }
      }
    }
    return { width: dstWidth, height: dstHeight, channels: cn, data: out };
  }
  // Float32 sums in OpenCV's order: each source row across, then rows down, rounded when a row is done.
  const xt = areaTable(sw, dstWidth, scaleX);
  const yt = areaTable(sh, dstHeight, scaleY);
  const { dst: xDst, src: xSrc, weight: xWeight, length: xLength } = xt;
  const rowSum = new Float32Array(dstWidth * cn);
  const acc = new Float32Array(dstWidth * cn);
  const f32 = Math.fround;
  const flush = (dy) => {
    const base = dy * dstWidth * cn;
    for (let i = 0; i < acc.length; i++) out[base + i] = saturateU8(acc[i]);
    acc.fill(0);
  };
  let current = yt.length ? yt.dst[0] : 0;
  for (let k = 0; k < yt.length; k++) {
    const dy = yt.dst[k];
    if (dy !== current) {
      flush(current);
      current = dy;
    }
    rowSum.fill(0);
    const row = yt.src[k] * sw * cn;
    if (cn === 1) {  // the face window: the hot case
      for (let j = 0; j < xLength; j++) rowSum[xDst[j]] += f32(xWeight[j] * data[row + xSrc[j]]);
    } else {
      for (let j = 0; j < xLength; j++) {
        const di = xDst[j] * cn;
        const si = row + xSrc[j] * cn;
        const alpha = xWeight[j];
        for (let c = 0; c < cn; c++) rowSum[di + c] += f32(alpha * data[si + c]);
      }
    }
    const beta = yt.weight[k];
    for (let i = 0; i < acc.length; i++) acc[i] += f32(beta * rowSum[i]);
  }
  if (yt.length) flush(current);
  return { width: dstWidth, height: dstHeight, channels: cn, data: out };
}

/**
 * One axis of cv2.INTER_LINEAR resizing: source index and the two 11-bit weights per destination pixel.
 * Horizontally OpenCV clamps at the edges (weight 0 beyond them); vertically it keeps the weights and
 * repeats the edge row instead.
 */
function linearTable(srcSize, dstSize, clampWeights) {
  const scale = 1 / (dstSize / srcSize);
  const index = new Int32Array(dstSize);
  const w0 = new Int32Array(dstSize);
  const w1 = new Int32Array(dstSize);
  for (let d = 0; d < dstSize; d++) {
    let f = Math.fround((d + 0.5) * scale - 0.5);
    let s = Math.floor(f);
    f = Math.fround(f - s);
    if (clampWeights && s < 0) { f = 0; s = 0; }
    if (clampWeights && s >= srcSize - 1) { f = 0; s = srcSize - 1; }
    index[d] = s;
    w0[d] = roundHalfEven(Math.fround(1 - f) * 2048);
    w1[d] = roundHalfEven(f * 2048);
  }
  return { index, w0, w1 };
}

/**
 * cv2.resize(..., interpolation=cv2.INTER_LINEAR) on a grey uint8 image, bit for bit: 11-bit weights per
 * axis, the vertical pass with OpenCV's vectorised rounding (high halves of 16-bit products).
 */
export function resizeLinear(img, dstWidth, dstHeight) {
  const { width: sw, height: sh, data } = img;
  const xs = linearTable(sw, dstWidth, true);
  const ys = linearTable(sh, dstHeight, false);
  const out = new Uint8Array(dstWidth * dstHeight);
  const row = (sy) => {
    const r = Math.min(sh - 1, Math.max(0, sy)) * sw;
    const values = new Int32Array(dstWidth);
    for (let x = 0; x < dstWidth; x++) {
      const sx = xs.index[x];
      values[x] = data[r + sx] * xs.w0[x] + data[r + Math.min(sx + 1, sw - 1)] * xs.w1[x];
    }
    return values;
  };
  for (let y = 0; y < dstHeight; y++) {
    const top = row(ys.index[y]);
    const bottom = row(ys.index[y] + 1);
    const b0 = ys.w0[y];
    const b1 = ys.w1[y];
    for (let x = 0; x < dstWidth; x++) {
      const v = ((((top[x] >> 4) * b0) >> 16) + (((bottom[x] >> 4) * b1) >> 16) + 2) >> 2;
      out[y * dstWidth + x] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return { width: dstWidth, height: dstHeight, channels: 1, data: out };
}

/** A rectangle of a grey image; coordinates outside it repeat the edge pixels (cv2.BORDER_REPLICATE). */
export function cropReplicate(img, x0, y0, x1, y1) {
  const { width: sw, height: sh, data } = img;
  const w = x1 - x0;
  const h = y1 - y0;
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(sh - 1, Math.max(0, y0 + y));
    for (let x = 0; x < w; x++) {
      const sx = Math.min(sw - 1, Math.max(0, x0 + x));
      out[y * w + x] = data[sy * sw + sx];
    }
  }
  return { width: w, height: h, channels: 1, data: out };
}

/** cv2.getRotationMatrix2D(centre, angleDeg, 1.0) as [a, b, c, d, e, f] (x' = a x + b y + c, y' = d x + e y + f). */
export function rotationMatrix(cx, cy, angleDeg) {
  const rad = angleDeg * Math.PI / 180;
  const alpha = Math.cos(rad);
  const beta = Math.sin(rad);
  return [alpha, beta, (1 - alpha) * cx - beta * cy, -beta, alpha, beta * cx + (1 - alpha) * cy];
}

/**
 * cv2.warpAffine(img, M, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE) on a grey
 * image: the inverse map sampled on OpenCV's 1/32-pixel grid with its 15-bit bilinear weights.
 */
export function warpAffineLinear(img, m, dstWidth, dstHeight) {
  const { width: sw, height: sh, data } = img;
  // Invert the forward map, as OpenCV does when WARP_INVERSE_MAP is not given.
  let det = m[0] * m[4] - m[1] * m[3];
  det = det !== 0 ? 1 / det : 0;
  const a = m[4] * det;
  const b = -m[1] * det;
  const d = -m[3] * det;
  const e = m[0] * det;
  const c = -a * m[2] - b * m[5];
  const f = -d * m[2] - e * m[5];
  const out = new Uint8Array(dstWidth * dstHeight);
  const AB = 1024;
  const round = AB / 32 / 2;
  const adeltaX = new Int32Array(dstWidth);
  const adeltaY = new Int32Array(dstWidth);
  for (let x = 0; x < dstWidth; x++) {
    adeltaX[x] = roundHalfEven(a * x * AB);
    adeltaY[x] = roundHalfEven(d * x * AB);
  }
  const px = (xx, yy) => data[Math.min(sh - 1, Math.max(0, yy)) * sw + Math.min(sw - 1, Math.max(0, xx))];
  for (let y = 0; y < dstHeight; y++) {
    const x0 = roundHalfEven((b * y + c) * AB) + round;
    const y0 = roundHalfEven((e * y + f) * AB) + round;
    for (let x = 0; x < dstWidth; x++) {
      const X = (x0 + adeltaX[x]) >> 5;
      const Y = (y0 + adeltaY[x]) >> 5;
      const xi = X >> 5;
      const yi = Y >> 5;
      const fx = (X & 31) / 32;
      const fy = (Y & 31) / 32;
      const w = bilinearWeights(fx, fy);
      const v = px(xi, yi) * w[0] + px(xi + 1, yi) * w[1] + px(xi, yi + 1) * w[2] + px(xi + 1, yi + 1) * w[3];
      const r = (v + (1 << 14)) >> 15;
      out[y * dstWidth + x] = r < 0 ? 0 : r > 255 ? 255 : r;
    }
  }
  return { width: dstWidth, height: dstHeight, channels: 1, data: out };
}

const weightCache = new Map();

/** OpenCV's fixed-point bilinear weights for a 1/32-pixel offset (they sum to exactly 1 << 15). */
function bilinearWeights(fx, fy) {
  const key = fx * 64 + fy;
  let w = weightCache.get(key);
  if (w) return w;
  const f = [(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx].map((v) => Math.fround(v));
  w = f.map((v) => roundHalfEven(v * 32768));
  let sum = w.reduce((s, v) => s + v, 0);
  if (sum !== 32768) {
    // OpenCV gives the rounding error to the largest weight.
    let k = 0;
    for (let i = 1; i < 4; i++) if (w[i] > w[k]) k = i;
    w[k] += 32768 - sum;
  }
  weightCache.set(key, w);
  return w;
}
