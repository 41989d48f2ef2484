/**
 * Builds the on-device component into `build/` (or `--out DIR`): what Streamlit serves, committed because
 * Streamlit Community Cloud runs no npm build.
 *
 *   npm ci && npm run build              # from ui/on_device/frontend
 *   node build.mjs --out /tmp/check      # the same bundle elsewhere (tests/test_on_device_bundle.py compares)
 *   node build.mjs --models DIR          # the .onnx files from DIR instead of models/
 *
 * Deterministic: esbuild (pinned) bundles src/component.js and the engine with onnxruntime-web (pinned, from
 * package-lock.json) into one minified ES module; the other files are copied byte for byte:
 *   index.html, component.css                       the page
 *   assets/ort-wasm-simd-threaded.{wasm,mjs}          onnxruntime-web's WebAssembly runtime (no CDN)
 *   assets/face_detection_yunet.onnx                  models/, the served YuNet
 *   assets/emotion_cnn.onnx                           models/, from `python -m emotion.training.export_onnx`
 * The crop geometry is NOT copied: the server passes models/crop_geometry.json to the component.
 */

import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync }
  from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { build } from "esbuild";

const HERE = dirname(fileURLToPath(import.meta.url));
const MODELS = optionValue(process.argv.slice(2), "--models") ?? resolve(HERE, "..", "..", "..", "models");
const ORT_DIST = join(HERE, "node_modules", "onnxruntime-web", "dist");

/** [source, destination inside the output folder, what to do when the source is missing] */
const COPIES = [
  [join(HERE, "src", "index.html"), "index.html", "part of the source tree"],
  [join(HERE, "src", "component.css"), "component.css", "part of the source tree"],
  [join(ORT_DIST, "ort-wasm-simd-threaded.wasm"), "assets/ort-wasm-simd-threaded.wasm", "run `npm ci` first"],
  [join(ORT_DIST, "ort-wasm-simd-threaded.mjs"), "assets/ort-wasm-simd-threaded.mjs", "run `npm ci` first"],
  [join(MODELS, "face_detection_yunet.onnx"), "assets/face_detection_yunet.onnx", "the served YuNet model"],
  [join(MODELS, "emotion_cnn.onnx"), "assets/emotion_cnn.onnx",
    "export it with `python -m emotion.training.export_onnx`"],
];

const LICENCES = `Third-party parts of this bundle:
- onnxruntime-web (component.js, assets/ort-wasm-simd-threaded.*): Copyright (c) Microsoft Corporation,
  MIT licence, https://github.com/microsoft/onnxruntime
- YuNet face detector (assets/face_detection_yunet.onnx): OpenCV model zoo, MIT licence (models/README.md)
`;

/** The folder given after `flag` (resolved), or undefined when the flag is absent. */
function optionValue(argv, flag) {
  const at = argv.indexOf(flag);
  if (at === -1) return undefined;
  if (!argv[at + 1]) {
    console.error(`${flag} needs a folder`);
    process.exit(2);
  }
  return resolve(argv[at + 1]);
}

function listFiles(folder) {
  const files = [];
  for (const name of readdirSync(folder).sort()) {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) files.push(...listFiles(path));
    else files.push(path);
  }
  return files;
}

async function main() {
  const out = optionValue(process.argv.slice(2), "--out") ?? join(HERE, "build");
  for (const [source, , hint] of COPIES) {
    if (!existsSync(source)) {
      console.error(`missing ${relative(process.cwd(), source)}: ${hint}`);
      process.exit(1);
    }
  }
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, "assets"), { recursive: true });
  await build({
    entryPoints: [join(HERE, "src", "component.js")],
    outfile: join(out, "component.js"),
    absWorkingDir: HERE, // the same bundle from any folder (aliases resolve from here)
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["es2020"],
    minify: true,
    // the WebAssembly-only build of onnxruntime-web: no WebGPU/WebGL code, and one runtime file pair to serve
    alias: { "onnxruntime-web": "onnxruntime-web/wasm" },
    legalComments: "none", // the licences are in build/LICENSES.txt
    logLevel: "warning",
  });
  for (const [source, destination] of COPIES) copyFileSync(source, join(out, destination));
  writeFileSync(join(out, "LICENSES.txt"), LICENCES);
  for (const file of listFiles(out)) {
    const digest = createHash("sha256").update(readFileSync(file)).digest("hex").slice(0, 16);
    console.log(`${digest}  ${relative(out, file)}  (${statSync(file).size} bytes)`);
  }
}

main().catch((error) => {
  console.error(error && error.message ? error.message : error);
  process.exit(1);
});
