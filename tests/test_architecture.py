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
        # parts below ROOT only: a checkout may itself sit in a folder named "tests"
        if not {"tests", "checkpoints"} & set(p.relative_to(ROOT).parts)
        and not any(part.startswith(".") for part in p.relative_to(ROOT).parts)
        and spelled in p.read_text()
    ]
    assert holders == ["emotion/labels.py"]


def _imported_full_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, with its full dotted name (absolute imports only)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _runtime_files() -> list[Path]:
    """What the app runs: the entry point, its screens and helpers, and the runtime of both engines."""
    files = [ROOT / "app.py", ROOT / "config.py"]
    for folder in ("ui", "pages", "recommender", "emotion"):
        files += [p for p in (ROOT / folder).rglob("*.py") if "training" not in p.relative_to(ROOT).parts]
    return files


def test_app_runtime_never_imports_tensorflow() -> None:
    """The app serves the model through LiteRT: TensorFlow is a training dependency only (and, once
    imported, it crashes a later import of aiortc's libsrtp binding)."""
    offenders = [str(p.relative_to(ROOT)) for p in _runtime_files()
                 if {"tensorflow", "keras", "tf2onnx"} & _imported_modules(p)]
    assert offenders == []


def test_app_runtime_never_imports_the_training_package() -> None:
    """``emotion.training`` trains and measures the model; what serves it must not depend on it."""
    offenders = [
        str(p.relative_to(ROOT)) for p in _runtime_files()
        if any(m == "emotion.training" or m.startswith("emotion.training.") for m in _imported_full_modules(p))
    ]
    assert offenders == []


def test_only_the_training_package_imports_tensorflow() -> None:
    """Benchmarks and tests may import TensorFlow; in the project's packages only ``emotion.training`` does."""
    offenders = [
        str(p.relative_to(ROOT))
        for folder in ("emotion", "recommender", "ui", "pages")
        for p in (ROOT / folder).rglob("*.py")
        if "training" not in p.relative_to(ROOT).parts and {"tensorflow", "keras"} & _imported_modules(p)
    ]
    assert offenders == []
    training = ROOT / "emotion" / "training"
    assert any({"tensorflow", "keras"} & _imported_modules(p) for p in training.glob("*.py")), \
        "the rule above would hold vacuously if training no longer lived in emotion/training"
