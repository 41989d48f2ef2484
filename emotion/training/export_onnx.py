"""Export the served emotion model to ONNX for the browser (the on-device Live path runs it in onnxruntime-web).

``python -m emotion.training.export_onnx`` converts ``models/emotion_cnn.tflite`` -- the very file the server
serves -- with tf2onnx to ``models/emotion_cnn.onnx`` and then checks, on FER2013 PublicTest faces
contrast-normalised as served, that onnxruntime's outputs match the TFLite interpreter's (largest absolute
difference and same top label on every face); the file is only replaced when they do. Rerun it whenever
the served model changes, so that the browser's model is always the served one.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import config

ONNX_MODEL_PATH: Path = config.MODELS_DIR / "emotion_cnn.onnx"
OPSET: int = 17
# float32 networks run by two runtimes agree to ~1e-6; anything beyond this is a conversion error.
MAX_DIFFERENCE: float = 1e-4


@dataclass(frozen=True)
class ExportCheck:
    """How closely the ONNX model reproduces the TFLite model on ``faces`` faces."""

    faces: int
    max_abs_difference: float
    same_label: int

    @property
    def passed(self) -> bool:
        return self.max_abs_difference <= MAX_DIFFERENCE and self.same_label == self.faces


def convert(tflite_path: Path, onnx_path: Path, opset: int = OPSET) -> int:
    """Convert a TFLite flatbuffer to an ONNX file (dynamic batch, NHWC 48x48x1 input); return its size."""
    import tf2onnx  # training-time only: the app never imports it

    model_proto, _ = tf2onnx.convert.from_tflite(str(tflite_path), opset=opset)
    payload = model_proto.SerializeToString()
    Path(onnx_path).write_bytes(payload)
    return len(payload)


def tflite_outputs(tflite_path: Path, batch: np.ndarray) -> np.ndarray:
    """The TFLite interpreter's raw outputs (N, 7) for float32 faces (N, 48, 48, 1)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(tflite_path), num_threads=1)
    index = interpreter.get_input_details()[0]["index"]
    interpreter.resize_tensor_input(index, list(batch.shape))
    interpreter.allocate_tensors()
    interpreter.set_tensor(index, batch)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"]).copy()


def onnx_outputs(onnx_path: Path, batch: np.ndarray) -> np.ndarray:
    """onnxruntime's raw outputs (N, 7) for float32 faces (N, 48, 48, 1)."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: batch})[0]


def check_export(tflite_path: Path, onnx_path: Path, faces: np.ndarray) -> ExportCheck:
    """Compare the two models on uint8 faces (N, 48, 48), contrast-normalised as the classifier serves them."""
    from emotion.preprocess import normalize_faces

    batch = np.ascontiguousarray(normalize_faces(faces).astype(np.float32)[..., None])
    expected = tflite_outputs(tflite_path, batch)
    got = onnx_outputs(onnx_path, batch)
    if got.shape != expected.shape:
        return ExportCheck(len(faces), float("inf"), 0)
    return ExportCheck(len(faces), float(np.max(np.abs(got - expected))),
                       int(np.sum(np.argmax(got, axis=1) == np.argmax(expected, axis=1))))


def export_onnx(tflite_path: Path, onnx_path: Path, faces: np.ndarray) -> tuple[int, ExportCheck]:
    """Convert, check on ``faces`` and only then replace ``onnx_path``; ``ValueError`` when they disagree."""
    with tempfile.TemporaryDirectory() as tmp:
        staging = Path(tmp) / "model.onnx"
        size = convert(tflite_path, staging)
        check = check_export(tflite_path, staging, faces)
        if not check.passed:
            raise ValueError(
                f"the ONNX model does not reproduce {tflite_path.name}: largest difference "
                f"{check.max_abs_difference:.2e} (allowed {MAX_DIFFERENCE:.0e}), same label on {check.same_label} "
                f"of {check.faces} faces; {onnx_path} left unchanged")
        Path(onnx_path).parent.mkdir(parents=True, exist_ok=True)
        Path(onnx_path).write_bytes(staging.read_bytes())
    return size, check


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tflite", type=Path, default=config.TFLITE_MODEL_PATH, help="the served model")
    p.add_argument("--out", type=Path, default=ONNX_MODEL_PATH)
    p.add_argument("--data", type=Path, default=config.FER2013_PATH)
    p.add_argument("--faces", type=int, default=500, help="PublicTest faces to check the export on")
    args = p.parse_args(argv)
    config.exit_on_settings_problems("emotion.training.export_onnx")
    from emotion.training.data import load_raw_split

    if not args.tflite.exists():
        print(f"no model at {args.tflite}: export it first (python -m emotion.training.export)", file=sys.stderr)
        return 1
    faces, _ = load_raw_split(args.data, "public")
    try:
        size, check = export_onnx(args.tflite, args.out, faces[: args.faces])
    except ValueError as exc:
        print(f"emotion.training.export_onnx: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.out} ({size:,} bytes); on {check.faces} PublicTest faces its outputs match "
          f"{args.tflite.name}'s to {check.max_abs_difference:.1e}, same label on {check.same_label}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
