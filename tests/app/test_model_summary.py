"""The Model screen leads with one plain sentence (issue 19 §5)."""

from __future__ import annotations

from emotion.labels import EMOTIONS
from ui.model_info import plain_summary


def test_the_plain_sentence_names_the_accuracy_and_the_best_and_weakest_emotions() -> None:
    recalls = dict(zip(EMOTIONS, (0.62, 0.75, 0.48, 0.90, 0.54, 0.82, 0.71), strict=True))
    metrics = {"private": {"accuracy": 0.695, "per_class": {e: {"recall": r} for e, r in recalls.items()}}}
    assert plain_summary(metrics) == ("Right about 7 times in 10 on faces it has never seen (70%); best at happy "
                                      "and surprise, weakest at fear.")


def test_no_figures_no_sentence() -> None:
    assert plain_summary({}) is None
    assert plain_summary({"private": {"accuracy": float("nan")}}) is None
