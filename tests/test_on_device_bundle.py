"""The committed on-device bundle (ui/on_device/frontend/build/) is what its source builds to.

Streamlit Community Cloud runs no npm build, so the bundle is committed; this test rebuilds it from the
source, the lock file's packages and models/ into a temporary folder and compares every file's hash. It
needs Node.js and the frontend's packages (``npm ci`` in ui/on_device/frontend; ``.ci/run`` does that).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ui.on_device import BUILD_DIR, BUNDLE_FILES, missing_bundle_files

FRONTEND = BUILD_DIR.parent
MODELS = BUILD_DIR.parents[3] / "models"


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_committed_bundle_is_complete() -> None:
    assert missing_bundle_files() == []
    assert set(BUNDLE_FILES) <= set(_hashes(BUILD_DIR))


def test_the_committed_bundle_matches_a_fresh_build(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("needs Node.js (apt-get install nodejs) to rebuild the on-device bundle")
    if not (FRONTEND / "node_modules" / "esbuild").is_dir():
        pytest.skip("needs the frontend's packages: run `npm ci` in ui/on_device/frontend (.ci/run does)")
    out = tmp_path / "build"
    built = subprocess.run([node, "build.mjs", "--out", str(out)], cwd=FRONTEND, capture_output=True, text=True,
                           timeout=300, check=False)
    assert built.returncode == 0, built.stderr
    fresh, committed = _hashes(out), _hashes(BUILD_DIR)
    differ = sorted(name for name in fresh.keys() | committed.keys() if fresh.get(name) != committed.get(name))
    assert differ == [], ("the committed bundle differs from its source; rebuild it with "
                          f"`npm ci && npm run build` in ui/on_device/frontend: {differ}")


def test_the_bundle_carries_the_served_models() -> None:
    for name in ("face_detection_yunet.onnx", "emotion_cnn.onnx"):
        assert (BUILD_DIR / "assets" / name).read_bytes() == (MODELS / name).read_bytes(), name


def test_the_bundle_loads_nothing_from_another_host() -> None:
    """No CDN: the page and the scripts name no absolute URL they could load (documentation links aside)."""
    page = (BUILD_DIR / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    for name in ("component.js", "assets/ort-wasm-simd-threaded.mjs"):
        urls = set(re.findall(r"https?://[\w.-]+[\w./-]*", (BUILD_DIR / name).read_text(encoding="utf-8")))
        assert urls <= {"https://web.dev/cross-origin-isolation-guide/"}, (name, urls)
