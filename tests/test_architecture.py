"""Project rules that code review would otherwise have to catch by eye."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLAIN_PACKAGES = ("emotion", "recommender")


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_engine_packages_never_import_streamlit() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for package in PLAIN_PACKAGES
        for p in (ROOT / package).rglob("*.py")
        if {"streamlit", "streamlit_webrtc"} & _imported_modules(p)
    ]
    assert offenders == []


def test_emotion_labels_are_spelled_out_in_one_place() -> None:
    spelled = '"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"'
    holders = [
        str(p.relative_to(ROOT))
        for p in ROOT.rglob("*.py")
        if not {"tests", "checkpoints"} & set(p.parts) and not any(part.startswith(".") for part in p.parts)
        and spelled in p.read_text()
    ]
    assert holders == ["emotion/labels.py"]


def test_app_runtime_never_imports_tensorflow() -> None:
    """The app serves the model through LiteRT: TensorFlow is a training dependency only (and, once
    imported, it crashes a later import of aiortc's libsrtp binding)."""
    served_modules = ["classifier", "detector", "labels", "pipeline", "preprocess", "smoothing"]
    offenders = [
        name for name in served_modules
        if {"tensorflow", "keras"} & _imported_modules(ROOT / "emotion" / f"{name}.py")
    ]
    offenders += [
        str(p.relative_to(ROOT))
        for folder in ("recommender", "ui", "pages")
        for p in (ROOT / folder).rglob("*.py")
        if {"tensorflow", "keras"} & _imported_modules(p)
    ]
    assert offenders == []
