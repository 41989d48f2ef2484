"""The mood model: its fit (deterministic, by-artist folds, no leakage), its file, and the reason words."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import config
from recommender import fit_moods, mood_model
from recommender.mood_fit import (
    LABEL_TESTS, LIFT_TEST, artist_folds, auc, fit_softmax, out_of_fold_proba, read_labelled_catalogue,
)
from recommender.mood_model import (
    FEATURES, MOODS, blended_distance, design_matrix, load_mood_model, model_from_json, softmax,
)
from recommender.reasons import describe, feature_words


@pytest.fixture(scope="module")
def labelled():
    return read_labelled_catalogue(config.CATALOGUE_PATH)


def test_the_labelled_set_is_the_catalogues(labelled):
    assert len(labelled.labelled) == 630 and len(set(labelled.artists)) == 503
    assert np.bincount(labelled.labels).tolist() == [188, 195, 134, 113]  # Sad, Calm, Energetic, Happy
    assert np.nanmin(labelled.ranks) == 0.0 and np.nanmax(labelled.ranks) == 1.0  # ranks over the catalogue


def test_folds_never_split_an_artist_and_are_repeatable(labelled):
    folds = artist_folds(labelled.artists)
    for artist in set(labelled.artists):
        assert len({f for a, f in zip(labelled.artists, folds, strict=True) if a == artist}) == 1
    assert (folds == artist_folds(labelled.artists)).all()
    sizes = np.bincount(folds)
    assert len(sizes) == 5 and sizes.min() > 100


def test_softmax_regression_learns_a_separable_rule():
    rng = np.random.default_rng(0)
    ranks = rng.random((400, len(FEATURES)))
    labels = (ranks[:, 0] > 0.5).astype(int) + 2 * (ranks[:, 1] > 0.5).astype(int)  # four quadrants
    coef = fit_softmax(design_matrix(ranks, "linear"), labels, l2=1e-3)
    proba = softmax(design_matrix(ranks, "linear") @ coef)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert (proba.argmax(axis=1) == labels).mean() > 0.9
    assert np.array_equal(coef, fit_softmax(design_matrix(ranks, "linear"), labels, l2=1e-3))  # deterministic


def test_out_of_fold_predictions_never_see_the_tracks_artist(labelled):
    """Relabelling every track of one fold's artists must not move that fold's held-out predictions."""
    ranks = labelled.ranks[labelled.labelled]
    folds = artist_folds(labelled.artists)
    before = out_of_fold_proba(ranks, labelled.labels, folds, "linear", 0.01)
    shuffled = labelled.labels.copy()
    held = folds == 0
    shuffled[held] = (shuffled[held] + 1) % len(MOODS)
    after = out_of_fold_proba(ranks, shuffled, folds, "linear", 0.01)
    assert np.array_equal(before[held], after[held])
    assert not np.allclose(before[~held], after[~held])  # the other folds did learn from them


def test_auc_counts_ties_half():
    assert auc(np.array([3.0, 2.0, 1.0]), np.array([True, False, False])) == 1.0
    assert auc(np.array([1.0, 1.0]), np.array([True, False])) == 0.5
    assert math.isnan(auc(np.array([1.0]), np.array([True])))


def test_label_tests_use_known_moods_and_never_aim_at_an_opposite():
    for test in (*LABEL_TESTS.values(), LIFT_TEST):
        assert set(test.aim) <= set(MOODS) and set(test.avoid) <= set(MOODS)
        assert not set(test.aim) & set(test.avoid)
    assert LABEL_TESTS["sad"].aim == ("Sad",) and set(LABEL_TESTS["sad"].avoid) == {"Happy", "Energetic"}
    assert not LABEL_TESTS["neutral"].testable


def test_the_committed_file_is_what_the_fit_writes(tmp_path):
    out = tmp_path / "mood_model.json"
    assert fit_moods.main(["--out", str(out)]) == 0
    first = out.read_text()
    assert fit_moods.main(["--out", str(out), "--check"]) == 0  # a second fit gives the same bytes
    assert first == mood_model.MOOD_MODEL_PATH.read_text(), "data/mood_model.json is stale: run the fit"
    model = load_mood_model(out)
    assert 0.0 <= model.alpha < 1.0  # cross-validation chose to use the moods
    summary = json.loads(first)["summary"]
    assert summary["tracks"] == 630 and "by artist" in summary["folds"]
    out.write_text(first.replace('"alpha": ', '"alpha": 0.0001 + '))
    assert fit_moods.main(["--out", str(out), "--check"]) == 1


def test_the_served_model_hears_the_labels(labelled):
    """In-sample sanity only (held-out figures: bench/music_fit.py): the fitted file ranks its own labels."""
    model = load_mood_model()
    proba = model.predict_proba(labelled.ranks[labelled.labelled])
    assert (proba.argmax(axis=1) == labelled.labels).mean() > 0.6
    centroids = dict(zip(MOODS, model.centroids, strict=True))
    assert centroids["Happy"][0] > centroids["Sad"][0] and centroids["Energetic"][1] > centroids["Sad"][1]


def _with_coefficient(raw: str, value: float) -> str:
    body = json.loads(raw)
    body["coefficients"]["intercept"][0] = value
    return json.dumps(body)


@pytest.mark.parametrize("change, message", [
    (lambda raw: "{not json", "not valid JSON"),
    (lambda raw: json.dumps({**json.loads(raw), "features": ["valence"]}), "other features"),
    (lambda raw: json.dumps({**json.loads(raw), "form": "cubic"}), "unknown form"),
    (lambda raw: json.dumps({**json.loads(raw), "alpha": 2}), "alpha"),
    (lambda raw: _with_coefficient(raw, float("nan")), "finite"),
    (lambda raw: raw.replace('"tempo^2"', '"tempo^3"'), "malformed"),
    (lambda raw: json.dumps({**json.loads(raw), "centroids": {"Sad": [0, 0]}}), "malformed"),
])
def test_a_bad_file_is_refused_with_its_reason(change, message):
    raw = mood_model.MOOD_MODEL_PATH.read_text()
    with pytest.raises(ValueError, match=message):
        model_from_json(change(raw), "test file")


def test_an_unusable_file_falls_back_to_valence_and_energy(tmp_path, monkeypatch, caplog):
    path = tmp_path / "broken.json"
    path.write_text("[]")
    monkeypatch.setattr(mood_model, "MOOD_MODEL_PATH", Path(path))
    mood_model.default_mood_model.cache_clear()
    try:
        model = mood_model.default_mood_model()
        assert not model.uses_moods and model.alpha == 1.0
        assert "mood model unusable" in caplog.text
    finally:
        mood_model.default_mood_model.cache_clear()


def test_blended_distance_is_the_own_distance_without_the_model():
    own = np.array([0.1, 0.5])
    proba = np.array([[1.0, 0, 0, 0], [0, 0, 0, 1.0]])
    to_centroids = np.array([0.2, 0.3, 0.4, 0.9])
    assert np.array_equal(blended_distance(proba, own, to_centroids, 1.0), own)
    assert np.allclose(blended_distance(proba, own, to_centroids, 0.0), [0.2, 0.9])
    assert np.allclose(blended_distance(proba, own, to_centroids, 0.5), [0.15, 0.7])


def test_reason_words_name_the_extreme_features_most_telling_first():
    ranks = {"valence": 0.1, "energy": 0.5, "acousticness": 0.97, "danceability": 0.6, "tempo": 0.02}
    assert feature_words(ranks) == ["slow", "acoustic", "melancholy"]
    loud = {"valence": 0.9, "energy": 0.99, "acousticness": 0.3, "danceability": 0.8, "tempo": float("nan")}
    assert feature_words(loud) == ["energetic", "cheerful", "danceable"]
    assert feature_words({name: 0.5 for name in FEATURES}) == []
    assert feature_words({"danceability": 0.01, "tempo": 0.1}) == ["slow"]  # nothing plain for "hard to dance to"


def test_reason_line_adds_the_mood_and_the_playlist_without_repeating_a_word():
    ranks = {"valence": 0.1, "energy": 0.2, "acousticness": 0.9, "danceability": 0.5, "tempo": 0.5}
    assert describe(ranks, "Sad") == "melancholy, acoustic, calm · sounds sad"  # equal extremes: feature order
    assert describe(ranks, "Calm") == "melancholy, acoustic, calm"  # "calm" is already said
    assert describe({n: 0.5 for n in FEATURES}, None, "sad") == "moderate in every way · in your sad playlist"
