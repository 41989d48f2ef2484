"""Project-wide test set-up: the tiers' markers, skips when ``../shared`` is missing, the PostgreSQL server.

Markers (registered in pytest.ini), applied here so that no test has to remember them:

- ``browser``: the test starts Chromium. Every test in ``tests/e2e/``, and any test whose code, fixtures or
  helpers in ``tests/`` call ``browser_page`` or ``sync_playwright``. One that fails runs once more
  (``BROWSER_RERUNS``, pytest-rerunfailures' ``flaky`` mark; the summary counts reruns).
- ``postgres``: the test needs the PostgreSQL server: ``pg_server`` (or ``pg_template``) among its fixtures, or
  the ``postgresql`` parameter of ``db_url`` / ``engine`` / ``shared_engine`` (tests/recommender/conftest.py).
- ``slow``: listed in :data:`SLOW` below (each takes tens of seconds on the 2-core machine: TensorFlow in a
  subprocess, several Python processes racing); ``-m "not slow"`` leaves them out too.
- ``needs_shared("fer2013" | "faces" | "shared")``: reads files of ``../shared``; skipped, naming the file,
  when it is missing (tests/shared_data.py says how such tests are found without the marker).

The development tier: ``python -m pytest -m "not browser and not postgres"`` (about two minutes);
``-m "not browser and not postgres and not slow"`` for less. CI runs everything.

Fixtures for every folder:

- ``pg_server`` (session): one real PostgreSQL server for the whole run (CI's via ``MOODTUNE_TEST_PG_URL``,
  or one started in a temp folder); ``pg_cluster.create_database(pg_server.url)`` gives a test its database.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
import types
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

try:
    # Imported before anything can import TensorFlow: streamlit_webrtc (aiortc, PyAV) imported *after*
    # TensorFlow segfaults this interpreter (both bundle native libraries that clash in that order), and with
    # parallel workers any test file may come first.
    import streamlit_webrtc  # noqa: F401
except ImportError:  # a clone without the app's requirements: the tests that need it skip or fail on their own
    pass

TESTS_DIR = Path(__file__).resolve().parent
ROOT = TESTS_DIR.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(TESTS_DIR / "recommender"))  # pg_cluster, imported under one name by every conftest

from pg_cluster import Cluster, cluster_from_env_or_start  # noqa: E402

from tests.shared_data import RESOURCES, is_shared_path, missing_reason, resource_path  # noqa: E402

E2E_DIR = TESTS_DIR / "e2e"
# Names whose mention means "reads ../shared" (attribute names count: ``config.FER2013_PATH``).
SHARED_NAMES = {"FER2013_PATH": "fer2013", "TEST_FACES_DIR": "faces", "SHARED_DIR": "shared"}
BROWSER_NAMES = {"browser_page", "sync_playwright", "playwright_driver"}
POSTGRES_FIXTURES = {"pg_server", "pg_template"}
POSTGRES_PARAMETRISED = {"db_url", "engine", "shared_engine"}  # their "postgresql" parameter
# Tests of tens of seconds each here (TensorFlow or several Python processes started): node id prefixes.
SLOW = (
    "tests/emotion/test_training.py::",
    "tests/emotion/test_distill.py::test_student_trains_on_soft_labels_and_records_them",
    "tests/emotion/test_distill.py::test_distill_cli_writes_soft_labels_and_reuses_each_teachers_reading",
    "tests/recommender/test_rec_db_failures.py::test_concurrent_syncs_with_diverging_contents_both_succeed",
    "tests/recommender/test_rec_db_failures.py::test_data_version_bumps_from_several_processes_are_never_lost",
)


# Run first (in this order, each file's tests together so its module fixtures start once): the files of long
# tests. The parallel workers then end the run on short tests instead of one of them finishing a minute-long
# browser scenario alone; the other files keep their order after these.
LONG_FIRST = (
    "tests/e2e/test_e2e_fd_soak.py", "tests/e2e/test_e2e_phone_first.py",
    "tests/e2e/test_e2e_live_music.py", "tests/emotion/test_training.py", "tests/emotion/test_distill.py",
    "tests/e2e/",
)
# Run after every other browser test, with the unit tests of these prefixes still to come: two app servers,
# nginx and two streaming visitors in one test, the heaviest of all, whose streams stalled when it started beside
# the long browser scenarios. Run last of all, it ran alone for its ~40 s while the other workers sat idle; now
# they work through these files around it.
RUN_LATE = ("tests/e2e/test_e2e_replicas.py",)
# In this order, the files of longer tests first (tens of seconds: deadlines, drip feeds, racing processes), so
# that the run ends on short ones.
AFTER_RUN_LATE = (
    "tests/recommender/test_rec_faults_sync.py", "tests/recommender/test_rec_db_failures.py",
    "tests/recommender/test_rec_sync.py", "tests/recommender/test_rec_sync_bounds.py",
    "tests/recommender/test_rec_faults_cli.py", "tests/recommender/", "tests/test_",
)


def _run_order(item: pytest.Item) -> int:
    """Where ``item`` goes in the run: LONG_FIRST's files in their order, the others, RUN_LATE, AFTER_RUN_LATE."""
    if item.nodeid.startswith(RUN_LATE):
        return len(LONG_FIRST) + 1
    after = next((rank for rank, prefix in enumerate(AFTER_RUN_LATE) if item.nodeid.startswith(prefix)), None)
    if after is not None:
        return len(LONG_FIRST) + 2 + after
    return next((rank for rank, prefix in enumerate(LONG_FIRST) if item.nodeid.startswith(prefix)), len(LONG_FIRST))


class _Uses:
    """What a test's code reaches: shared resources (names or paths) and whether it starts Chromium."""

    def __init__(self) -> None:
        self.shared: dict[str, Path] = {}  # label -> path
        self.browser = False


def _in_tests(code: types.CodeType) -> bool:
    return _file_in_tests(code.co_filename)


@functools.cache
def _file_in_tests(filename: str) -> bool:
    # cached: resolving a path asks the file system, and collection asks ~13,000 times for ~200 files
    return Path(filename).resolve().is_relative_to(TESTS_DIR)


def _scan(code: types.CodeType, namespace: dict, uses: _Uses, seen: set[types.CodeType]) -> None:
    """Walk ``code`` (nested functions, and helper functions of tests/ it names) for shared files and Chromium."""
    if code in seen or not _in_tests(code):
        return
    seen.add(code)
    for name in code.co_names:
        if name in SHARED_NAMES:
            resource = SHARED_NAMES[name]
            uses.shared[RESOURCES[resource]] = resource_path(resource)
        if name in BROWSER_NAMES:
            uses.browser = True
        value = namespace.get(name)
        if is_shared_path(value):
            uses.shared[str(value)] = value
        elif callable(value):
            target = inspect.unwrap(value)
            if isinstance(target, types.FunctionType):
                _scan(target.__code__, target.__globals__, uses, seen)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _scan(const, namespace, uses, seen)


def _functions_of(item: pytest.Function) -> Iterable[types.FunctionType]:
    """The test function and the functions of the fixtures it uses (those defined in tests/)."""
    yield inspect.unwrap(getattr(item.function, "__func__", item.function))
    for definitions in item._fixtureinfo.name2fixturedefs.values():
        func = inspect.unwrap(getattr(definitions[-1].func, "__func__", definitions[-1].func))
        if isinstance(func, types.FunctionType):
            yield func


def _uses(item: pytest.Function) -> _Uses:
    uses, seen = _Uses(), set()
    for func in _functions_of(item):
        _scan(func.__code__, func.__globals__, uses, seen)
    for marker in item.iter_markers("needs_shared"):
        for resource in marker.args:
            uses.shared[RESOURCES[resource]] = resource_path(resource)
    return uses


def _needs_postgres(item: pytest.Function) -> bool:
    if POSTGRES_FIXTURES & set(item.fixturenames):
        return True
    params = getattr(getattr(item, "callspec", None), "params", {})
    return any(params.get(name) == "postgresql" for name in POSTGRES_PARAMETRISED)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: two workers per core. A browser scenario waits on its film's clock for most of its time
    (a 50-s test uses about 15 s of CPU), and the CPUs idle with it: with four workers on two cores they were
    busy 97-100 % of the run (sampled from /proc/stat), and the run 25 s shorter than with three."""
    return 2 * len(os.sched_getaffinity(0))


# A real Chromium streaming WebRTC to a real server, four workers on two cores: now and then a step waits
# past its timeout (a START lost under load, a reconnect backing off). Such a test runs once more, and fails
# only if it fails again; the run's summary counts every rerun ("N rerun"), and each one seen is a test to make
# sturdier (tests/e2e/browser.py's start_streaming, open_panel and wait_for_text came from them).
BROWSER_RERUNS = 1

# Module-scoped but cheap to make again on another worker: they don't keep a file's tests together.
CHEAP_MODULE_FIXTURES = {"_one_playwright_driver_per_module"}


def _uses_a_module_fixture(item: pytest.Function) -> bool:
    return any(definitions[-1].scope == "module" and name not in CHEAP_MODULE_FIXTURES
               for name, definitions in item._fixtureinfo.name2fixturedefs.items())


# tryfirst: xdist's own hook (--dist loadgroup) reads the xdist_group marks added here.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by what it needs (see the module docstring) and skip those whose ../shared files are
    missing; run the files of long tests first (LONG_FIRST) and the replicas test late (RUN_LATE); keep each
    file's users of a module-scoped fixture (an app server, a trained checkpoint, a Chromium pool) on one worker,
    so that it is made once, not once per worker that gets one of them."""
    items.sort(key=_run_order)  # stable: the order within each rank is kept
    for item in items:
        if not isinstance(item, pytest.Function):
            continue
        if _uses_a_module_fixture(item):
            item.add_marker(pytest.mark.xdist_group(item.path.relative_to(ROOT).as_posix()))
        uses = _uses(item)
        if uses.browser or item.path.resolve().is_relative_to(E2E_DIR):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.flaky(reruns=BROWSER_RERUNS))
        if _needs_postgres(item):
            item.add_marker(pytest.mark.postgres)
        if item.nodeid.startswith(SLOW):
            item.add_marker(pytest.mark.slow)
        for label, path in uses.shared.items():
            reason = missing_reason(path, None if label == str(path) else label)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))
                break


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Cluster]:
    """A real PostgreSQL server for the whole session (CI's, or one started here), shared by every folder."""
    cluster = cluster_from_env_or_start()
    yield cluster
    cluster.stop()
