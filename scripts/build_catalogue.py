"""Build the bundled catalogue in ``data/`` from the raw sources in ``../shared/data``.

Run from the project root::

    python scripts/build_catalogue.py

Writes (all deterministic, so a rebuild from the same sources gives byte-identical files):

* ``data/catalogue.csv.gz`` – one row per Spotify track with audio features (spotify_tracks.csv, with
  the track length taken from spotify_moods.csv where that set knows it, plus the moods-set tracks that
  spotify_tracks.csv left out).
* ``data/seed_songs.csv`` – the original prototype's name-only song lists, one row per (emotion, song).
* ``data/seed_playlists.csv`` – the prototype's Spotify playlist per emotion.

Provenance and licences: ``data/README.md``.
"""

from __future__ import annotations

import csv
import gzip
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import config  # noqa: E402  (needs the project root on sys.path first)
from recommender.catalog import CATALOGUE_COLUMNS  # noqa: E402
from recommender.moods import normalise_emotion  # noqa: E402

SOURCE_DIR = config.SHARED_DIR / "data"

# The prototype's playlists, as listed in ../shared/README.md (from aj-naik/Emotion-Music-Recommendation's
# Spotipy.py, `?si=` suffixes dropped). sad and disgust share one playlist in the original; both are kept
# because a playlist may serve several emotions.
SEED_PLAYLISTS: tuple[tuple[str, str, str], ...] = (
    ("angry", "0l9dAmBrUJLylii66JOsHB", "Prototype playlist: angry"),
    ("disgust", "1n6cpWo9ant4WguEo91KZh", "Prototype playlist: disgusted"),
    ("fear", "4cllEPvFdoX6NIVWPKai9I", "Prototype playlist: fearful"),
    ("happy", "0deORnapZgrxFY4nsKr9JA", "Prototype playlist: happy"),
    ("neutral", "4kvSlabrnfRCQWfN0MgtgA", "Prototype playlist: neutral"),
    ("sad", "1n6cpWo9ant4WguEo91KZh", "Prototype playlist: sad"),
    ("surprise", "37i9dQZEVXbMDoHDwVN2tF", "Prototype playlist: surprised (Spotify-owned chart)"),
)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _num(text: str | None, digits: int) -> str:
    """Round a numeric CSV cell to ``digits`` decimals (keeps the file small); '' stays ''."""
    if text is None or text.strip() == "":
        return ""
    value = round(float(text), digits)
    return str(int(value)) if digits == 0 else f"{value:.{digits}f}".rstrip("0").rstrip(".")


def build_catalogue_rows(tracks_csv: Path, moods_csv: Path) -> list[dict[str, str]]:
    """Merge the two Spotify track sources into catalogue rows (columns ``CATALOGUE_COLUMNS``)."""
    moods = {row["id"]: row for row in _read_csv(moods_csv)}
    rows: dict[str, dict[str, str]] = {}
    for row in _read_csv(tracks_csv):
        mood_row = moods.get(row["track_id"], {})
        rows[row["track_id"]] = {
            "id": row["track_id"],
            "name": row["name"],
            "artists": row["artists"],
            "album": row["album"],
            "genre": row["genre"],
            "popularity": _num(row["popularity"], 0),
            "valence": _num(row["valence"], 4),
            "energy": _num(row["energy"], 4),
            "danceability": _num(row["danceability"], 4),
            "tempo": _num(row["tempo"], 2),
            "acousticness": _num(row["acousticness"], 4),
            "duration_ms": _num(mood_row.get("length"), 0),
            "mood": row["mood"],
            "source": row["source"],
        }
    # spotify_tracks.csv de-duplicated the moods set by title + artist; the 56 rows it dropped are other
    # Spotify ids of the same songs, so they are left out here too (one id per song keeps lists varied).
    return sorted(rows.values(), key=lambda r: r["id"])


def build_seed_song_rows(seed_dir: Path) -> list[dict[str, str]]:
    """The prototype's song lists as (emotion, position, name, album, artist) rows."""
    out: list[dict[str, str]] = []
    for path in sorted(seed_dir.glob("*.csv")):
        emotion = normalise_emotion(path.stem)
        for position, row in enumerate(_read_csv(path)):
            out.append(
                {
                    "emotion": emotion,
                    "position": str(position),
                    "name": row["Name"].strip(),
                    "album": row["Album"].strip(),
                    "artist": row["Artist"].strip(),
                }
            )
    return out


def _csv_text(rows: list[dict[str, str]], columns: tuple[str, ...]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def main() -> int:
    """Build the three files; print what was written."""
    catalogue = build_catalogue_rows(SOURCE_DIR / "spotify_tracks.csv", SOURCE_DIR / "spotify_moods.csv")
    data = _csv_text(catalogue, CATALOGUE_COLUMNS).encode("utf-8")
    # mtime=0 so the gzip header does not change between identical builds
    config.CATALOGUE_PATH.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))

    seeds = build_seed_song_rows(SOURCE_DIR / "seed_songs")
    config.SEED_SONGS_PATH.write_text(
        _csv_text(seeds, ("emotion", "position", "name", "album", "artist")), encoding="utf-8"
    )
    playlists = [{"emotion": e, "id": i, "name": n} for e, i, n in SEED_PLAYLISTS]
    config.SEED_PLAYLISTS_PATH.write_text(_csv_text(playlists, ("emotion", "id", "name")), encoding="utf-8")

    size_kb = config.CATALOGUE_PATH.stat().st_size / 1024
    print(f"{config.CATALOGUE_PATH.name}: {len(catalogue)} tracks, {size_kb:.0f} KiB")
    print(f"{config.SEED_SONGS_PATH.name}: {len(seeds)} seed songs")
    print(f"{config.SEED_PLAYLISTS_PATH.name}: {len(playlists)} playlists")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
