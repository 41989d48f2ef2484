/**
 * The served emotion CNN (`emotion_cnn.onnx`, exported from `models/emotion_cnn.tflite`) in onnxruntime-web,
 * used as `emotion.classifier.EmotionClassifier.predict_proba` uses the TFLite model: every face contrast
 * stretched, each face and its mirror image in one batch, the two distributions averaged and renormalised.
 *
 * @module engine/classifier
 */

import { FACE_SIZE } from "./crop.js";
import { normalizeFace } from "./preprocess.js";

export const NUM_CLASSES = 7;

export class EmotionModel {
  constructor(ort, session, flipTta) {
    this.ort = ort;
    this.session = session;
    this.flipTta = flipTta;
    this.inputName = session.inputNames[0];
    this.outputName = session.outputNames[0];
  }

  /** Load the ONNX model from `url`. */
  static async load(ort, url, sessionOptions, { flipTta = true } = {}) {
    const session = await ort.InferenceSession.create(url, sessionOptions);
    return new EmotionModel(ort, session, flipTta);
  }

  /**
   * Seven probabilities (emotion/labels.py order) per 48x48 grey face.
   * @param {Uint8Array[]} faces
   * @returns {Promise<number[][]>}
   */
  async predictProba(faces) {
    const n = faces.length;
    this.lastRunMs = 0;
    if (!n) return [];
    const pixels = FACE_SIZE * FACE_SIZE;
    const copies = this.flipTta ? 2 : 1;
    const batch = new Float32Array(n * copies * pixels);
    faces.forEach((face, i) => {
      const stretched = normalizeFace(face);
      batch.set(stretched, i * pixels);
      if (this.flipTta) {
        const mirror = (n + i) * pixels;
        for (let y = 0; y < FACE_SIZE; y++) {
          for (let x = 0; x < FACE_SIZE; x++) {
            batch[mirror + y * FACE_SIZE + x] = stretched[y * FACE_SIZE + FACE_SIZE - 1 - x];
          }
        }
      }
    });
    const input = new this.ort.Tensor("float32", batch, [n * copies, FACE_SIZE, FACE_SIZE, 1]);
    const started = performance.now();
    const result = await this.session.run({ [this.inputName]: input });
    this.lastRunMs = performance.now() - started;  // the network alone, for the benchmark
    const out = result[this.outputName].data;
    const probs = [];
    for (let i = 0; i < n; i++) {
      const row = [];
      for (let k = 0; k < NUM_CLASSES; k++) {
        let p = out[i * NUM_CLASSES + k];
        if (this.flipTta) p = (p + out[(n + i) * NUM_CLASSES + k]) / 2;
        row.push(p);
      }
      const sum = row.reduce((s, p) => s + p, 0);
      probs.push(row.map((p) => p / sum));
    }
    return probs;
  }

  async release() {
    await this.session.release();
  }
}
