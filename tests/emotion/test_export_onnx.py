"""The browser's emotion model: ``python -m emotion.training.export_onnx`` and the committed ONNX file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import config
from emotion.training import export_onnx

pytest.importorskip("onnxruntime", reason="needs onnxruntime (requirements-dev.txt)")


def test_committed_onnx_model_is_the_served_model(public_test: tuple[np.ndarray, np.ndarray]) -> None:
    """models/emotion_cnn.onnx (what the browser runs) gives the served TFLite model's numbers."""
    assert export_onnx.ONNX_MODEL_PATH.exists(), "run python -m emotion.training.export_onnx"
    check = export_onnx.check_export(config.TFLITE_MODEL_PATH, export_onnx.ONNX_MODEL_PATH, public_test[0][:300])
    assert check.faces == 300
    assert check.max_abs_difference < 1e-5, check
    assert check.same_label == 300


def test_export_converts_and_checks_the_tflite_model(tmp_path: Path,
                                                     public_test: tuple[np.ndarray, np.ndarray]) -> None:
    pytest.importorskip("tf2onnx", reason="needs tf2onnx (requirements-dev.txt)")
    out = tmp_path / "emotion_cnn.onnx"
    size, check = export_onnx.export_onnx(config.TFLITE_MODEL_PATH, out, public_test[0][300:400])
    assert out.stat().st_size == size > 1_000_000
    assert check.passed and check.faces == 100 and check.max_abs_difference < 1e-5
    import onnx

    model = onnx.load(str(out))
    dims = [d.dim_value or d.dim_param for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims[1:] == [48, 48, 1] and isinstance(dims[0], str)  # dynamic batch, NHWC grey faces


def _constant_model(path: Path) -> None:
    """A well-formed ONNX model with the right shapes that ignores its input (a wrong conversion)."""
    import onnx
    from onnx import TensorProto, helper

    face = helper.make_tensor_value_info("face", TensorProto.FLOAT, ["n", 48, 48, 1])
    probs = helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["n", 7])
    nodes = [
        helper.make_node("ReduceMean", ["face"], ["mean"], axes=[1, 2, 3], keepdims=0),  # (n,)
        helper.make_node("Unsqueeze", ["mean", "axis"], ["column"]),  # (n, 1)
        helper.make_node("Mul", ["column", "zero"], ["zeros"]),
        helper.make_node("Add", ["zeros", "uniform"], ["probs"]),  # (n, 7), 1/7 each
    ]
    inits = [helper.make_tensor("axis", TensorProto.INT64, [1], [1]),
             helper.make_tensor("zero", TensorProto.FLOAT, [1], [0.0]),
             helper.make_tensor("uniform", TensorProto.FLOAT, [1, 7], [1 / 7] * 7)]
    graph = helper.make_graph(nodes, "constant", [face], [probs], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


def test_export_refuses_a_model_that_does_not_match(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     public_test: tuple[np.ndarray, np.ndarray]) -> None:
    out = tmp_path / "emotion_cnn.onnx"
    out.write_bytes(b"previous model")
    monkeypatch.setattr(export_onnx, "convert", lambda tflite, onnx_path, opset=17: _constant_model(onnx_path) or 1)
    with pytest.raises(ValueError, match="does not reproduce"):
        export_onnx.export_onnx(config.TFLITE_MODEL_PATH, out, public_test[0][:50])
    assert out.read_bytes() == b"previous model"
