"""Every screen renders without an exception, with an empty and a seeded database, with and without
Spotify credentials, and says the right thing in each case."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from app_helpers import page_text
from streamlit.testing.v1 import AppTest

from emotion.labels import EMOTIONS

PAGES = ("pages/live.py", "pages/snapshot.py", "pages/library.py", "pages/model.py", "pages/about.py")
TITLES = {"pages/live.py": "Live", "pages/snapshot.py": "Snapshot", "pages/library.py": "Library",
          "pages/model.py": "Model", "pages/about.py": "About"}


@pytest.mark.parametrize("credentials", [False, True], ids=["no-spotify", "spotify"])
@pytest.mark.parametrize("database", ["empty_db", "seeded_db"])
@pytest.mark.parametrize("page", PAGES)
def test_page_renders(page: str, database: str, credentials: bool, request: pytest.FixtureRequest,
                      open_page: Callable[[str], AppTest]) -> None:
    request.getfixturevalue(database)
    if credentials:
        request.getfixturevalue("spotify_env")
    at = open_page(page)
    assert not at.exception, [e.value for e in at.exception]
    assert TITLES[page] in at.title[0].value
    assert not at.error, [e.value for e in at.error]


def test_live_starts_waiting_for_a_face(seeded_db: str, open_page: Callable[[str], AppTest]) -> None:
    at = open_page("pages/live.py")
    text = page_text(at)
    assert "Press **START**" in text
    assert "Music appears here" in text


def test_library_lists_every_emotion_with_its_playlists(seeded_db: str, open_page: Callable[[str], AppTest]) -> None:
    at = open_page("pages/library.py")
    for emotion in EMOTIONS:
        at.button_group(key="lib-emotion").set_value(emotion).run()
        seeded = 0 if emotion == "disgust" else 1  # sad's playlist no longer doubles as disgust's
        assert f"{seeded} playlist(s) for {emotion}" in page_text(at)
    assert "Tracks 1–50 of 14,464" in page_text(at)
    assert not at.dataframe[0].value.empty


def test_library_empty_database_says_so(empty_db: str, open_page: Callable[[str], AppTest]) -> None:
    at = open_page("pages/library.py")
    text = page_text(at)
    assert "0 playlist" in text and "catalogue is empty" in text
    assert "No sync has run yet" in text


def test_library_sync_button_follows_credentials(seeded_db: str, open_page: Callable[[str], AppTest],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page("pages/library.py")
    assert not [b for b in at.button if b.key == "sync-now"]
    assert "Connect Spotify to keep these playlists up to date" in page_text(at)
    monkeypatch.setenv("SPOTIPY_CLIENT_ID", "id")
    monkeypatch.setenv("SPOTIPY_CLIENT_SECRET", "secret")
    at.run()
    assert not at.button(key="sync-now").disabled
    assert "Connect Spotify" not in page_text(at)


def test_model_page_without_metrics_says_not_measured(seeded_db: str, open_page: Callable[[str], AppTest],
                                                      monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    import config

    monkeypatch.setattr(config, "METRICS_PATH", tmp_path / "missing.json")
    monkeypatch.setattr(config, "BENCH_DIR", tmp_path)
    at = open_page("pages/model.py")
    assert "Not measured yet" in page_text(at)


def test_model_page_shows_metrics(seeded_db: str, open_page: Callable[[str], AppTest],
                                  monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    import json

    import config

    report = {
        "accuracy": 0.6512,
        "per_class": {e: {"precision": 0.5, "recall": 0.6, "f1": 0.55, "support": 100} for e in EMOTIONS},
        "confusion": [[10 if i == j else 1 for j in range(7)] for i in range(7)],
    }
    (tmp_path / "metrics.json").write_text(json.dumps({"private": report, "public": report, "model": {}}))
    (tmp_path / "results.json").write_text("{not json")
    monkeypatch.setattr(config, "METRICS_PATH", tmp_path / "metrics.json")
    monkeypatch.setattr(config, "BENCH_DIR", tmp_path)
    at = open_page("pages/model.py")
    assert not at.exception
    assert at.metric[0].value == "65.1%"
    assert len(at.dataframe[0].value) == 7
    assert any("results.json could not be read" in e.value for e in at.error)


def test_database_unavailable_is_explained(monkeypatch: pytest.MonkeyPatch, tmp_path,
                                           open_page: Callable[[str], AppTest]) -> None:
    import config

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    url = f"sqlite:///{blocker}/moodtune.db"  # a "folder" that is a file: cannot be created
    monkeypatch.setattr(config, "DB_URL", url)
    for page in ("pages/library.py", "pages/live.py", "pages/about.py"):
        at = open_page(page)
        assert not at.exception, page
    at = open_page("pages/library.py")
    assert any("music database is unavailable" in e.value for e in at.error)


def test_missing_model_is_explained_and_other_screens_work(seeded_db: str, open_page: Callable[[str], AppTest],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> None:
        raise FileNotFoundError("emotion model not found at models/emotion_cnn.tflite")

    monkeypatch.setattr("ui.resources._pipeline", missing)
    for page in ("pages/live.py", "pages/snapshot.py"):
        at = open_page(page)
        assert not at.exception
        assert any("emotion model could not be loaded" in e.value for e in at.error), page
    assert not open_page("pages/library.py").error


def test_playlist_names_are_shown_as_text(seeded_db: str, open_page: Callable[[str], AppTest]) -> None:
    from sqlalchemy import create_engine

    from recommender.playlists import add_playlist

    engine = create_engine(seeded_db)
    add_playlist(engine, "fear", "37i9dQZF1DXdPec7aLTmlC", name="<b onmouseover=alert(1)>Boo</b>")
    engine.dispose()
    at = open_page("pages/library.py")
    at.button_group(key="lib-emotion").set_value("fear").run()  # the Library shows one emotion at a time
    bodies = "".join(element.proto.body for element in at.get("html"))
    assert "&lt;b onmouseover=alert(1)&gt;Boo&lt;/b&gt;" in bodies and "<b " not in bodies
