/**
 * `emotion.preprocess.normalize_faces` for one face: stretch its contrast so that its 1st..99th percentile
 * spans 0..255 (numpy's linear percentiles, in float64 as numpy returns them, round half to even); a nearly flat face
 * (span < 8) is left as it is.
 *
 * @module engine/preprocess
 */

const LOW_PERCENTILE = 1;
const HIGH_PERCENTILE = 99;
const MIN_SPAN = 8;

/** numpy.percentile(values, q) (method "linear") of sorted values, in float64 as numpy computes it. */
function percentileSorted(sorted, q) {
  const position = (q / 100) * (sorted.length - 1);
  const lower = Math.floor(position);
  const upper = Math.min(lower + 1, sorted.length - 1);
  const t = position - lower;
  const a = sorted[lower];
  const b = sorted[upper];
  const diff = b - a;
  // numpy's _lerp: from the nearer end, so that t = 1 gives b exactly.
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/**
 * The stretched face as float32 values 0..255 (integers), ready for the CNN.
 * @param {Uint8Array} face  48*48 grey pixels
 * @returns {Float32Array}
 */
export function normalizeFace(face) {
  const sorted = Float32Array.from(face).sort();
  const lo = percentileSorted(sorted, LOW_PERCENTILE);
  const hi = percentileSorted(sorted, HIGH_PERCENTILE);
  const span = hi - lo;
  const out = new Float32Array(face.length);
  if (span < MIN_SPAN) {
    out.set(face);
    return out;
  }
  const scale = 255 / Math.max(span, 1e-6);
  for (let i = 0; i < face.length; i++) {
    let v = (face[i] - lo) * scale;
    v = v < 0 ? 0 : v > 255 ? 255 : v;
    // numpy.round: halves to the even neighbour.
    const floor = Math.floor(v);
    const diff = v - floor;
    out[i] = diff > 0.5 ? floor + 1 : diff < 0.5 ? floor : (floor % 2 === 0 ? floor : floor + 1);
  }
  return out;
}
