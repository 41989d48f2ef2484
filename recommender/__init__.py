"""Moodtune's music side: the song database, choosing music for an emotion, and the Spotify sync.

Modules (the app imports from these directly; nothing here imports Streamlit):

* ``db`` – ``get_engine()``: the SQLite/SQLAlchemy database, upgraded and seeded on first use.
* ``selection`` – ``recommend()``: playlists + tracks for an emotion, "match" or "lift" mode.
* ``pacing`` – ``MusicPacer``: the music follows a new mood only when it has held (dwell, switch now, pin).
* ``moods`` – where each emotion sits in valence/energy space (the one mapping; configurable).
* ``mood_model`` – P(Sad/Calm/Energetic/Happy) per track from all its audio features (``data/mood_model.json``).
* ``mood_fit`` / ``fit_moods`` – fitting it by artist-fold cross-validation (``python -m recommender.fit_moods``).
* ``reasons`` – "why this track" in a few plain words.
* ``playlists`` – emotion playlists: list/add/remove, ``parse_playlist_id()``.
* ``catalog`` – the bundled catalogue; ``search_tracks()`` / ``count_tracks()`` for browsing.
* ``spotify`` – credentials and the spotipy client (timeouts, capped 429 handling, 5xx backoff).
* ``sync`` – ``sync_all()`` / ``last_sync_runs()``; ``python -m recommender.cli``.
* ``scheduler`` – ``start_scheduler()`` / ``run_if_due()``: the weekly sync with a lease row.
* ``authorize`` – ``python -m recommender.authorize``: one-time login that prints the refresh token.
* ``models`` – the values that travel: ``Track``, ``SeedSong``, ``Playlist``, ``Recommendation``.
* ``errors`` – ``DatabaseUnavailable`` (show its message to the user).
"""
