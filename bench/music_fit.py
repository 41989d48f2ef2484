"""Benchmark: does the music fit the emotion? The selection judged on the catalogue's mood labels, held out by artist.

    python bench/music_fit.py            # print the tables (before: valence/energy only; after: the mood model)
    python bench/music_fit.py --write    # also record the figures in bench/music_fit.json

630 catalogue tracks carry a mood from playlists people made (Sad 188, Calm 195, Energetic 134, Happy 113;
503 artists). The labelled tracks are dealt into 5 folds by artist. For each fold, "after" runs the whole
fitting procedure (``recommender.mood_fit.fit_model``: form, L2 and blend chosen by an inner
cross-validation, then the fit) on the other folds only, so no figure comes from a model that saw the
artist it is judged on. "before" is the selection without a model (distance to the emotion's
valence/energy point). Both choose through the app's own code (``recommender.selection.choose_rows``).

Per emotion and mode:

* **AUC** – the chance that a held-out track of a mood the emotion aims at (``LABEL_TESTS``: sad -> Sad,
  happy -> Happy, angry -> Energetic, ...) is placed nearer than one of a mood that contradicts it (sad:
  Happy/Energetic; happy: Sad/Calm; angry: Calm/Sad). Lift: the mean over the path's 10 waypoints, each
  judged against the emotion (first half) or the calm, positive target (second half: Calm/Happy against
  Sad/Energetic).
* **P@10** – lists of 10 the selection makes from the fold's held-out labelled tracks alone (5 draws of
  the variety nudge per fold): the share of aimed-at labels (lift: the emotion's in the first half, the
  target's in the second).
* **contradicting** – a session's first 1,000 tracks per fold (100 lists of 10, each excluding those
  before, chosen from the whole catalogue less the other folds' labelled tracks; a fold holds a fifth of
  the labelled tracks, so this matches 1,000 recommendations over the full catalogue): of the held-out
  labelled tracks among them, the share whose label contradicts the emotion (lift: per half).
* **mix** – those labelled tracks by label (Sad/Calm/Energetic/Happy).

fear, disgust and surprise have no label of their own: they are judged by their quadrant of Russell's
circumplex (``recommender.mood_fit.LABEL_TESTS``). neutral, the circumplex's centre, has no opposite: its
row shows only the mix. Targets: AUC >= 0.95 for sad, happy, angry (match); no emotion worse than
before; "sad" match: Happy or Energetic <= 10 % of the labelled tracks recommended.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._timing import add_output_options, write_figures  # noqa: E402
from emotion.labels import EMOTIONS  # noqa: E402
from recommender.db import open_engine  # noqa: E402
from recommender.index import TrackIndex, blend_for, get_index, mood_distance  # noqa: E402
from recommender.mood_fit import (  # noqa: E402
    FOLDS, LABEL_TESTS, LIFT_TEST, LabelTest, artist_folds, fit_model, label_auc, read_labelled_catalogue,
)
from recommender.mood_model import MOODS, MoodModel, plain_distance_model  # noqa: E402
from recommender.moods import MODES, MoodMap, MoodPoint, default_moods  # noqa: E402
from recommender.selection import choose_rows  # noqa: E402

LIST_LENGTH = 10
PRECISION_DRAWS = 5
SELECTIONS = ("before", "after")


def waypoints(moods: MoodMap, emotion: str, n: int = LIST_LENGTH) -> list[tuple[float, MoodPoint]]:
    """Lift's (t, waypoint) pairs, as ``recommender.selection`` spaces them."""
    start, target = moods.point(emotion), moods.lift_target
    out = []
    for step in range(n):
        t = step / (n - 1) if n > 1 else 0.0
        out.append((t, MoodPoint(start.valence + (target.valence - start.valence) * t,
                                 start.energy + (target.energy - start.energy) * t)))
    return out


def test_at(emotion: str, mode: str, position: int, n: int = LIST_LENGTH) -> LabelTest:
    """What a track at ``position`` of a list is judged against: the emotion, or lift's target past halfway."""
    if mode == "lift" and position >= n / 2:
        return LIFT_TEST
    return LABEL_TESTS[emotion]


def with_model(index: TrackIndex, model: MoodModel, pool: np.ndarray) -> TrackIndex:
    """``index`` served by ``model``, choosing only from the rows in ``pool``."""
    return dataclasses.replace(index, mood_model=model, has_features=index.has_features & pool,
                               mood_proba=model.predict_proba(index.feature_ranks).astype(np.float32))


@dataclasses.dataclass
class Tally:
    """Figures gathered over the folds for one (selection, emotion, mode)."""

    distances: list[np.ndarray] = dataclasses.field(default_factory=list)  # per waypoint: held-out distances
    labels: list[np.ndarray] = dataclasses.field(default_factory=list)
    precision: list[float] = dataclasses.field(default_factory=list)
    recommended: list[tuple[int, int]] = dataclasses.field(default_factory=list)  # (label, position)


def evaluate(lists: int = 100, seed: int = 0) -> dict[str, object]:
    """Run both selections over the folds and return the figures."""
    moods = default_moods()
    data = read_labelled_catalogue(ROOT / "data" / "catalogue.csv.gz")
    with tempfile.TemporaryDirectory() as folder:
        engine = open_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        index = get_index(engine, moods)
        engine.dispose()
    rows = np.array([index.row_of[data.ids[i]] for i in data.labelled])
    label_of = np.full(len(index.ids), -1)
    label_of[rows] = data.labels
    folds = artist_folds(data.artists)
    tallies = {(s, e, m): Tally() for s in SELECTIONS for e in EMOTIONS for m in MODES}
    chosen: list[dict[str, object]] = []
    held_proba: list[np.ndarray] = []
    held_labels: list[np.ndarray] = []
    for fold in range(FOLDS):
        test, train = folds == fold, folds != fold
        model = fit_model(index.feature_ranks[rows[train]], data.labels[train],
                          [a for a, keep in zip(data.artists, train, strict=True) if keep], summary=False)
        chosen.append({"fold": fold, "form": model.form, "l2": model.l2, "alpha": model.alpha})
        held_proba.append(model.predict_proba(index.feature_ranks[rows[test]]))
        held_labels.append(data.labels[test])
        catalogue_pool = np.ones(len(index.ids), dtype=bool)
        catalogue_pool[rows[train]] = False
        held_out_only = np.zeros(len(index.ids), dtype=bool)
        held_out_only[rows[test]] = True
        for selection, served in (("before", plain_distance_model()), ("after", model)):
            whole = with_model(index, served, catalogue_pool)
            held = dataclasses.replace(whole, has_features=index.has_features & held_out_only)
            test_rows = rows[test]
            for emotion in EMOTIONS:
                for mode in MODES:
                    tally = tallies[(selection, emotion, mode)]
                    path = waypoints(moods, emotion) if mode == "lift" else [(0.0, moods.point(emotion))]
                    per_waypoint = []
                    start_alpha = blend_for(served, emotion)
                    for t, point in path:  # lift's blend moves toward valence/energy alone, as the selection's
                        per_waypoint.append(mood_distance(served, whole.mood_proba[test_rows], whole.points[test_rows],
                                                          point, start_alpha + (1.0 - start_alpha) * t))
                    tally.distances.append(np.array(per_waypoint))
                    tally.labels.append(label_of[test_rows])
                    rng = np.random.default_rng([seed, fold])
                    for _ in range(PRECISION_DRAWS):  # the variety nudge changes the list: average a few
                        top = choose_rows(held, emotion, mode, LIST_LENGTH, (), rng, moods)
                        aims = [test_at(emotion, mode, p).aim for p in range(len(top))]
                        if LABEL_TESTS[emotion].testable and top:
                            hits = sum(MOODS[label_of[r]] in aim for r, aim in zip(top, aims, strict=True))
                            tally.precision.append(hits / len(top))
                    shown: list[str] = []
                    for _ in range(lists):
                        picked = choose_rows(whole, emotion, mode, LIST_LENGTH, shown, rng, moods)
                        shown += [index.ids[r] for r in picked]
                        tally.recommended += [(int(label_of[r]), p) for p, r in enumerate(picked) if label_of[r] >= 0]
    return {"folds": FOLDS, "lists_per_fold": lists, "list_length": LIST_LENGTH, "labelled_tracks": int(len(rows)),
            "artists": len(set(data.artists)), "inner_choice_per_fold": chosen,
            "classifier_auc": classifier_auc(np.concatenate(held_proba), np.concatenate(held_labels)),
            "rows": [summarise(s, e, m, tallies[(s, e, m)]) for s in SELECTIONS for e in EMOTIONS for m in MODES]}


def classifier_auc(proba: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """The held-out model on its own, before any mapping to emotion points: AUC of P(aim) - P(avoid)."""
    out = {}
    for emotion in ("sad", "happy", "angry"):
        test = LABEL_TESTS[emotion]
        score = (proba[:, [MOODS.index(m) for m in test.aim]].sum(axis=1)
                 - proba[:, [MOODS.index(m) for m in test.avoid]].sum(axis=1))
        out[emotion] = round(label_auc(-score, labels, test), 3)
    return out


def summarise(selection: str, emotion: str, mode: str, tally: Tally) -> dict[str, object]:
    """One table row from a tally."""
    row: dict[str, object] = {"selection": selection, "emotion": emotion, "mode": mode}
    labels = np.concatenate(tally.labels)
    distances = np.concatenate(tally.distances, axis=1)  # (waypoints, held-out tracks of all folds)
    mix = np.bincount([label for label, _ in tally.recommended], minlength=len(MOODS))
    row["mix"] = {m: int(mix[i]) for i, m in enumerate(MOODS)}
    row["labelled_recommended"] = int(mix.sum())
    if not LABEL_TESTS[emotion].testable:
        row.update(auc=None, precision_at_10=None, contradicting=None)
        return row
    n = len(distances)
    aucs, errors = [], []
    for j in range(n):
        test = test_at(emotion, mode, j, n)
        aucs.append(label_auc(distances[j], labels, test))
        errors.append(auc_standard_error(aucs[-1], int(np.isin(labels, [MOODS.index(m) for m in test.aim]).sum()),
                                         int(np.isin(labels, [MOODS.index(m) for m in test.avoid]).sum())))
    contradicting = [MOODS[label] in test_at(emotion, mode, pos).avoid for label, pos in tally.recommended]
    row["auc"] = round(float(np.mean(aucs)), 3)
    row["auc_se"] = round(float(np.mean(errors)), 4)
    row["precision_at_10"] = round(float(np.mean(tally.precision)), 3) if tally.precision else None
    row["precision_tracks"] = LIST_LENGTH * len(tally.precision)
    row["contradicting"] = round(float(np.mean(contradicting)), 3) if contradicting else None
    return row


def auc_standard_error(auc: float, positives: int, negatives: int) -> float:
    """Hanley & McNeil's (1982) standard error of an AUC from ``positives`` and ``negatives`` examples."""
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    variance = (auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc))
    return float(np.sqrt(max(variance, 0.0) / max(positives * negatives, 1)))


def share_standard_error(share: float, count: int) -> float:
    """Binomial standard error of a share measured on ``count`` items."""
    return float(np.sqrt(share * (1 - share) / count)) if count else float("inf")


def worse_by(before: dict[str, object], after: dict[str, object]) -> list[str]:
    """The figures where "after" is worse than "before" by more than two standard errors of the difference
    (``*`` marks a figure that is lower but within that noise)."""
    out = []
    checks = (("AUC", "auc", 1), ("P@10", "precision_at_10", 1), ("contradicting", "contradicting", -1))
    for name, key, sign in checks:
        b, a = before[key], after[key]
        if a is None or b is None or sign * (float(a) - float(b)) >= 0:  # type: ignore[arg-type]
            continue
        if key == "auc":
            se = float(np.hypot(before["auc_se"], after["auc_se"]))  # type: ignore[arg-type]
        elif key == "precision_at_10":
            se = float(np.hypot(share_standard_error(float(b), before["precision_tracks"]),  # type: ignore
                                share_standard_error(float(a), after["precision_tracks"])))  # type: ignore
        else:
            se = float(np.hypot(share_standard_error(float(b), before["labelled_recommended"]),  # type: ignore
                                share_standard_error(float(a), after["labelled_recommended"])))  # type: ignore
        significant = abs(float(a) - float(b)) > 2 * se  # type: ignore[arg-type]
        out.append(name if significant else f"{name}*")
    return out


def _fmt(value: object, percent: bool = False) -> str:
    if value is None:
        return "—"
    return f"{100 * float(value):.0f} %" if percent else f"{float(value):.3f}"


def table(rows: list[dict[str, object]]) -> str:
    """The before → after table in Markdown."""
    by_key = {(r["selection"], r["emotion"], r["mode"]): r for r in rows}
    lines = ["| emotion | mode | AUC before → after | P@10 before → after | contradicting before → after "
             "| labelled recommended (Sad/Calm/Energetic/Happy) before → after |", "|---|---|---|---|---|---|"]
    for emotion in EMOTIONS:
        for mode in MODES:
            b, a = by_key[("before", emotion, mode)], by_key[("after", emotion, mode)]
            mixes = [r["mix"] for r in (b, a)]
            mix = " → ".join("/".join(str(m[mood]) for mood in MOODS) for m in mixes)  # type: ignore[index]
            lines.append(
                f"| {emotion} | {mode} | {_fmt(b['auc'])} → **{_fmt(a['auc'])}** | {_fmt(b['precision_at_10'])} → "
                f"{_fmt(a['precision_at_10'])} | {_fmt(b['contradicting'], True)} → "
                f"**{_fmt(a['contradicting'], True)}** | {mix} |"
            )
    return "\n".join(lines)


def verdicts(rows: list[dict[str, object]]) -> list[str]:
    """The targets, each with its figure and whether it is met."""
    by_key = {(r["selection"], r["emotion"], r["mode"]): r for r in rows}
    out = []
    for emotion in ("sad", "happy", "angry"):
        value = float(by_key[("after", emotion, "match")]["auc"])  # type: ignore[arg-type]
        out.append(f"{'met   ' if value >= 0.95 else 'MISSED'} {emotion} match AUC {value:.3f} (target >= 0.95)")
    for emotion in EMOTIONS:
        for mode in MODES:
            b, a = by_key[("before", emotion, mode)], by_key[("after", emotion, mode)]
            if b["auc"] is None:
                before_top = max(b["mix"].values()) / max(b["labelled_recommended"], 1)  # type: ignore[union-attr]
                after_top = max(a["mix"].values()) / max(a["labelled_recommended"], 1)  # type: ignore[union-attr]
                out.append(f"info   {emotion} {mode}: no label test; largest single-mood share of its labelled "
                           f"tracks {before_top:.0%} -> {after_top:.0%}")
                continue
            worse = worse_by(b, a)
            significant = [w for w in worse if not w.endswith("*")]
            out.append(f"{'MISSED' if significant else 'met   '} {emotion} {mode} no worse than before"
                       + (f" (lower: {', '.join(worse)}; * = within 2 standard errors)" if worse else ""))
    share = by_key[("after", "sad", "match")]["contradicting"]
    out.append(f"{'met   ' if share is not None and float(share) <= 0.10 else 'MISSED'} sad match: Happy/Energetic "
               f"{_fmt(share, True)} of the labelled tracks recommended (target <= 10 %)")
    return out


def main() -> int:
    """Print the before/after table (``--write`` records the figures)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lists", type=int, default=100, help="lists of 10 per fold, emotion and mode")
    add_output_options(parser, "music_fit")
    args = parser.parse_args()
    figures = evaluate(args.lists)
    rows = figures["rows"]
    assert isinstance(rows, list)
    print(f"Music fit on {figures['labelled_tracks']} mood-labelled tracks ({figures['artists']} artists), "
          f"{figures['folds']} folds by artist; 'after' fitted without each fold (inner choice per fold: "
          + ", ".join(f"{c['form']} l2 {c['l2']:g} alpha {c['alpha']:g}" for c in figures["inner_choice_per_fold"])
          + ")\n")
    print(table(rows))
    print()
    print("\n".join(verdicts(rows)))
    print("the held-out classifier on its own, P(aim) - P(avoid), before mapping to emotion points: "
          + ", ".join(f"{e} AUC {v:.3f}" for e, v in figures["classifier_auc"].items()))  # type: ignore[union-attr]
    write_figures(args, "music_fit", figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
