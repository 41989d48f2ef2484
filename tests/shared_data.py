"""What the tests read from ``../shared`` (FER2013, the test photos) and how a test says it needs it.

``../shared`` sits beside the checkout in development and CI (``MOODTUNE_SHARED_DIR`` points elsewhere;
``MOODTUNE_FER2013`` names the FER2013 file alone). A clone without it must still pass its own tests, so a
test that needs one of these files is skipped, naming the file and where it comes from, instead of failing.

``tests/conftest.py`` finds such tests by itself when the test, one of its fixtures, or a helper function in
``tests/`` names ``config.FER2013_PATH``, ``config.TEST_FACES_DIR``, ``config.SHARED_DIR`` or a module-level
``Path`` inside ``../shared`` (``HAPPY_FACE = config.TEST_FACES_DIR / ...``). A test that reads one only
indirectly (a subprocess that trains on FER2013) says so: ``@pytest.mark.needs_shared("fer2013")``.
A fixture may also call :func:`require` itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import config

# What each resource name means (the skip message says it).
RESOURCES: dict[str, str] = {
    "fer2013": "FER2013 with FER+ votes",
    "faces": "the test photos",
    "shared": "the project's shared folder",
}
WHERE = "see README.md, 'Test data'"


def resource_path(name: str) -> Path:
    """The file or folder behind a resource name of :data:`RESOURCES`."""
    if name == "fer2013":
        return config.FER2013_PATH
    if name == "faces":
        return config.TEST_FACES_DIR
    if name == "shared":
        return config.SHARED_DIR
    raise ValueError(f"unknown shared resource {name!r}; known: {', '.join(RESOURCES)}")


def is_shared_path(value: object) -> bool:
    """Whether ``value`` is a path inside ``../shared`` or the FER2013 file (wherever that is)."""
    if not isinstance(value, Path):
        return False
    for root in (config.SHARED_DIR, config.FER2013_PATH):
        try:
            value.resolve().relative_to(root.resolve())
            return True
        except ValueError:
            continue
    return False


def missing_reason(path: Path, what: str | None = None) -> str | None:
    """The skip reason when ``path`` is missing (a folder counts as missing when empty); None when present."""
    present = any(path.iterdir()) if path.is_dir() else path.is_file()
    if present:
        return None
    return f"needs {what + ' at ' if what else ''}{path}, which is missing ({WHERE})"


def require(name_or_path: str | Path) -> Path:
    """The path of a resource name or a shared path; skips the calling test when it is missing."""
    if isinstance(name_or_path, Path):
        path, what = name_or_path, None
    else:
        path, what = resource_path(name_or_path), RESOURCES[name_or_path]
    reason = missing_reason(path, what)
    if reason:
        pytest.skip(reason)
    return path
