/**
 * The engine harness (parity.html): loads the engine from `?assets=` (default ./assets/) and runs it on raw
 * RGBA frames that the test server lists at /frames/index.json and serves at /frames/<i>.
 *
 *   window.harness.ready            resolves once both models are loaded
 *   window.harness.run({ repeats, source, only })
 *       every frame (or the frames numbered in `only`), each `repeats` times (timings from the last pass),
 *       given to the engine as ImageData or, with source "canvas", drawn into a canvas first:
 *       [{ faces: [{ box, probs, landmarks, score }], timings }, ...]
 */

import { createEngine } from "./engine/index.js";

const status = document.getElementById("status");

async function loadFrames() {
  const index = await (await fetch("./frames/index.json")).json();
  return Promise.all(index.map(async ({ width, height }, i) => {
    const bytes = new Uint8ClampedArray(await (await fetch(`./frames/${i}`)).arrayBuffer());
    if (bytes.length !== width * height * 4) {
      throw new Error(`frame ${i}: ${bytes.length} bytes for ${width}x${height}`);
    }
    return new ImageData(bytes, width, height);
  }));
}

async function start() {
  const params = new URLSearchParams(location.search);
  const assetBase = params.get("assets") || "./assets/";
  const threads = Number(params.get("threads") || 1);
  const geometry = await (await fetch(`${assetBase}crop_geometry.json`)).json();
  const t0 = performance.now();
  const engine = await createEngine({ assetBase, geometry, threads });
  const loadMs = performance.now() - t0;
  status.textContent = `engine ready in ${loadMs.toFixed(0)} ms`;

  let loaded = null;  // fetched once: a benchmark's rounds time the engine, not the harness
  async function run({ repeats = 1, source = "imagedata", only = null } = {}) {
    loaded = loaded || await loadFrames();
    let frames = loaded;
    if (only) frames = only.map((i) => frames[i]);
    const canvas = document.createElement("canvas");
    const results = [];
    for (const frame of frames) {
      let input = frame;
      if (source === "canvas") {
        // The path a <video> frame takes: drawn into a canvas, read back.
        canvas.width = frame.width;
        canvas.height = frame.height;
        canvas.getContext("2d", { willReadFrequently: true }).putImageData(frame, 0, 0);
        input = canvas;
      }
      let result;
      for (let r = 0; r < repeats; r++) result = await engine.analyzeTimed(input);
      results.push(result);
    }
    status.textContent = `analysed ${frames.length} frames`;
    return results;
  }
  return { run, loadMs };
}

window.harness = { ready: start().then((h) => Object.assign(window.harness, h)) };
window.harness.ready.catch((error) => {
  window.harness.error = String(error && error.stack ? error.stack : error);
  status.textContent = `engine failed: ${window.harness.error}`;
});
