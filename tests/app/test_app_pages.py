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
    assert "Press **Start**" in text
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
    assert len(at.table[0].value) == 7
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


def _has_emoji(text: str) -> bool:
    """Pictographs that need an emoji font (those render as empty boxes without one)."""
    return any(ord(ch) >= 0x1F000 or 0x2600 <= ord(ch) <= 0x27BF for ch in text)


@pytest.mark.parametrize("page", PAGES)
def test_titles_and_headings_use_bundled_material_icons_not_emoji(
    page: str, seeded_db: str, open_page: Callable[[str], AppTest]
) -> None:
    at = open_page(page)
    assert at.title[0].value.startswith(":material/"), at.title[0].value
    for heading in [*at.title, *at.subheader]:
        assert not _has_emoji(heading.value), heading.value


def test_emotion_icons_exist_in_streamlits_bundled_icon_font() -> None:
    from streamlit.material_icon_names import ALL_MATERIAL_ICONS

    from ui.style import EMOTION_ICONS, UNKNOWN_ICON, emotion_headline_html

    assert set(EMOTION_ICONS) == set(EMOTIONS)
    assert all(name in ALL_MATERIAL_ICONS for name in [*EMOTION_ICONS.values(), UNKNOWN_ICON])
    headline = emotion_headline_html("happy", 0.9)
    assert "sentiment_very_satisfied" in headline and not _has_emoji(headline)


def test_about_says_what_is_kept_where_and_for_how_long(seeded_db: str,
                                                        open_page: Callable[[str], AppTest]) -> None:
    text = page_text(open_page("pages/about.py"))
    assert "server's memory" in text and "two minutes after you close the tab" in text
    assert "stay in your browser session" not in text
    assert "FER2013" in text and "Goodfellow" in text


def _metrics(round_trip: dict | None = None) -> dict:
    report = {
        "accuracy": 0.6512,
        "per_class": {e: {"precision": 0.5, "recall": 0.6, "f1": 0.55, "support": 100} for e in EMOTIONS},
        "confusion": [[10 if i == j else 1 for j in range(7)] for i in range(7)],
    }
    report["per_class"]["disgust"]["recall"] = 0.4321
    metrics = {"private": report, "public": report, "model": {"train_config": {"run_id": "b"}}}
    if round_trip is not None:
        metrics["round_trip"] = round_trip
    return metrics


def _model_page(tmp_path, monkeypatch: pytest.MonkeyPatch, open_page: Callable[[str], AppTest],
                metrics: object, bench: dict[str, object]) -> AppTest:
    import json

    import config

    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    for name, data in bench.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(data))
    monkeypatch.setattr(config, "METRICS_PATH", tmp_path / "metrics.json")
    monkeypatch.setattr(config, "BENCH_DIR", tmp_path)
    monkeypatch.setattr(config, "HISTORY_PATH", tmp_path / "history.csv")
    return open_page("pages/model.py")


def test_model_page_shows_round_trip_beside_direct_accuracy(seeded_db: str, open_page: Callable[[str], AppTest],
                                                            monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    trip = {"faces": 3589, "detected": 0.97, "direct_accuracy": 0.682, "round_trip_accuracy": 0.641,
            "gap_points": 4.1}
    at = _model_page(tmp_path, monkeypatch, open_page, _metrics(trip), {})
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    assert shown["PrivateTest"] == "65.1%"
    assert shown["Via the app"] == "64.1%"
    assert shown["Disgust recall"] == "43.2%"
    assert "Fear recall" in shown
    assert all(len(label) <= 16 for label in shown)  # five tiles share a row: a long label was cut off
    text = page_text(at)
    assert "3,589 PublicTest faces were found 97% of the time" in text and "4.10 points lost on the way" in text
    assert "differ from the PublicTest tile" in text  # the two figures for "the same faces" are reconciled
    for term in ("**PrivateTest:**", "**PublicTest:**", "**Precision:**", "**Recall:**"):
        assert term in text


def test_model_page_hides_what_metrics_json_lacks(seeded_db: str, open_page: Callable[[str], AppTest],
                                                 monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    at = _model_page(tmp_path, monkeypatch, open_page, _metrics(), {})
    assert not at.exception and not at.error
    assert "Via the app" not in [m.label for m in at.metric]
    odd = {"private": 5, "public": {"accuracy": "high", "per_class": []}, "round_trip": {"faces": "many"},
           "model": ["x"]}
    at = _model_page(tmp_path, monkeypatch, open_page, odd, {"results": {"pipeline_per_frame": "fast"}})
    assert not at.exception, [e.value for e in at.exception]
    assert not at.metric


def test_speed_is_one_table_with_plain_labels_and_the_per_face_claim_matches_it(
    seeded_db: str, open_page: Callable[[str], AppTest], monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    results = {"machine": "test box", "pipeline_per_frame": {"median_ms": 11.3, "p95_ms": 13.5},
               "classifier_per_face_flip_tta": {"median_ms": 2.94, "p95_ms": 3.1}}
    at = _model_page(tmp_path, monkeypatch, open_page, _metrics(),
                     {"results": results, "recommender": {"median_ms": 1.2, "p95_ms": 2.3}})
    assert not at.exception
    speed = at.table[-1].value
    assert list(speed.columns) == ["Typical (median)", "Slow case (95th percentile)"]
    assert not any("_" in label for label in speed.index)  # no raw JSON keys
    assert speed.loc["Reading one face (with its mirror image, as the app does)"].tolist() == ["2.9 ms", "3.1 ms"]
    assert "about 3 ms per face" in page_text(at)
    assert "millisecond per face" not in page_text(at)


def test_learning_curve_follows_the_committed_model_through_its_warm_restarts() -> None:
    from emotion.lineage import model_lineage

    def run(run_id: str, accuracies: list[float]) -> list[dict]:
        return [{"run_id": run_id, "epoch": i, "train_acc": a, "public_acc": a} for i, a in enumerate(accuracies, 1)]

    history = run("scratch-1", [0.3, 0.5]) + run("scratch-2", [0.28, 0.6, 0.7]) + run("warm", [0.71, 0.72])
    lineage = model_lineage(history, "warm")
    assert [(r["run_id"], r["step"]) for r in lineage] == [
        ("scratch-2", 1), ("scratch-2", 2), ("scratch-2", 3), ("warm", 4), ("warm", 5)]
    assert [r["run_id"] for r in model_lineage(history, "scratch-1")] == ["scratch-1"] * 2
    assert model_lineage([], "warm") == []
    # A recorded lineage wins over the guess: an abandoned run logged between parent and child is left out.
    abandoned = run("abandoned", [0.72, 0.6])
    child = run("child", [0.73, 0.74])
    recorded = model_lineage(history + abandoned + child, "child", ["scratch-2", "warm", "child"])
    assert [r["run_id"] for r in recorded] == ["scratch-2"] * 3 + ["warm"] * 2 + ["child"] * 2
    assert [r["step"] for r in recorded] == list(range(1, 8))
