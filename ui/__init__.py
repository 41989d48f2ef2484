"""Streamlit-side helpers for Moodtune's screens (the only package besides the pages that imports Streamlit).

* ``style`` – the one stylesheet (neumorphism cards) and small HTML fragments, always escaped.
* ``settings`` – secrets and environment: Spotify credentials, WebRTC ICE servers.
* ``turn`` – TURN with coturn's time-limited credentials (plain Python: made from a secret that stays here).
* ``resources`` – process-wide heavy objects (the emotion pipeline), loaded once.
* ``music`` – the database, recommendations per session and screen, and the players that show them.
* ``charts`` – the probability bars and the session's emotion timeline.
* ``live`` – the webcam glue: a per-session holder fed by the WebRTC frame callback, and the status it implies.
* ``snapshot`` – one photo through the pipeline, with upload checks.
* ``library`` / ``model_info`` – what the Library and Model screens read and show.
"""
