"""Fit the mood model on the catalogue's labelled tracks and write ``data/mood_model.json``.

    python -m recommender.fit_moods            # write data/mood_model.json
    python -m recommender.fit_moods --check    # exit 1 if the committed file is not what a fit gives

Deterministic: the same catalogue gives the same file byte for byte. The form, L2 and blend are chosen by
cross-validation with folds by artist (``recommender.mood_fit``); the served model is then fitted on all
630 labelled tracks. Held-out figures of the selection come from ``python bench/music_fit.py``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import config
from recommender.mood_fit import fit_model, read_labelled_catalogue
from recommender.mood_model import MOOD_MODEL_PATH, MoodModel


def fit_catalogue(catalogue: Path = config.CATALOGUE_PATH) -> MoodModel:
    """The model fitted on the labelled tracks of ``catalogue``."""
    data = read_labelled_catalogue(catalogue)
    return fit_model(data.ranks[data.labelled], data.labels, data.artists)


def main(argv: list[str] | None = None) -> int:
    """Fit and write (or ``--check``) the model file; print what was chosen."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--catalogue", type=Path, default=config.CATALOGUE_PATH)
    parser.add_argument("--out", type=Path, default=MOOD_MODEL_PATH)
    parser.add_argument("--check", action="store_true", help="compare with the file instead of writing it")
    args = parser.parse_args(argv)
    model = fit_catalogue(args.catalogue)
    text = model.to_json()
    summary = model.summary or {}
    print(f"mood model: {model.form}, l2 {model.l2:g}, alpha {model.alpha:g} "
          f"({summary.get('tracks')} labelled tracks, {summary.get('artists')} artists)")
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.is_file() else ""
        if current != text:
            print(f"{args.out} is out of date: run python -m recommender.fit_moods", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date")
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
