"""About: how Moodtune works, what happens to your camera images, and whose work it builds on."""

from __future__ import annotations

import streamlit as st
from ui.shell import ensure_app_shell

ensure_app_shell()

st.title(":material/info: About Moodtune")

with st.container(key="card-how"):
    st.subheader(":material/route: How it works")
    st.markdown(
        """
1. Your **browser** sends the webcam video to the Moodtune server over WebRTC (or you take a snapshot). Or,
   with **On this device** on the Live screen, the video never leaves your browser: the same two models
   run there (WebAssembly) and only the readings go to the server — see below.
2. On the server (or in your browser), each frame goes through a face detector (YuNet) and a small emotion
   network trained on FER2013, which gives seven probabilities: angry, disgust, fear, happy, sad, surprise, neutral.
3. About a second of frames is averaged; when a different emotion has clearly led for a moment, it becomes
   the **stable emotion** — and only then does the music change.
4. Each emotion sits at a point of valence (how positive) and energy (how intense) on Russell's circumplex.
   **Match** picks tracks nearest that point; **lift** starts there and walks step by step toward calm,
   positive music. Playback is Spotify's own embedded player.
"""
    )

with st.container(key="card-privacy"):
    st.subheader(":material/lock: What is kept, where, and for how long")
    st.markdown(
        """
- **Where your camera's frames go** depends on the Live screen's choice:
  - **On this server** (the default): the video travels from your browser to the Moodtune server over
    WebRTC (through a TURN relay where the network needs one), is analysed in the server's memory as it
    arrives and dropped straight away — never written to disk, logged or sent anywhere else — and comes
    back to your browser as the small annotated picture you see.
  - **On this device**: the frames stay in your browser. The face detector and the emotion network are
    downloaded from the Moodtune server itself (no other site) and run in the page; once a second your
    browser sends the server only, per analysed frame, the seven emotion probabilities, the face's box
    (its position in the picture) and the time. No image and no video reach the server.
  - **Snapshot**: the one photo you take or upload goes to the server (see below).
- **Your readings** — the latest seven emotion probabilities, the stable emotion, its timeline and the music
  chosen for it — are kept **in the server's memory, in your session only**. They go when the session ends:
  about two minutes after you close the tab (Streamlit keeps a session that long in case you reconnect),
  or when the server restarts. Nothing is saved in a database or a file.
- **A snapshot photo** stays in the server's memory while it is on the Snapshot screen (with its reading),
  and goes when you remove it, choose another, or your session ends.
- **The server's log** records technical events only (a video stream started or ended, frames dropped,
  errors): never an image, a reading or an emotion.
- **Nothing identifies you:** there are no accounts and no face recognition — only the expression is read. The music database holds the song catalogue and playlists, nothing about visitors.
- **Spotify's players** are loaded from open.spotify.com by your browser, under Spotify's own privacy terms.
"""
    )

with st.container(key="card-credits"):
    st.subheader(":material/favorite: Credits and licences")
    st.markdown(
        """
- **FER2013** facial expression data set (35,887 labelled 48×48 faces) — Goodfellow, Erhan, Carrier et al.,
  *Challenges in Representation Learning: A report on three machine learning contests*, ICML 2013 workshop
  (arXiv:1307.0414); released for research use. The emotion model was trained and tested on it; no FER2013
  image ships with the app.
- **YuNet** face detector — OpenCV model zoo (opencv/opencv_zoo), **MIT licence**.
- **Track catalogue** — TidyTuesday 2020-01-21 "Spotify Songs" (rfordatascience/tidytuesday, **MIT licence**,
  values collected from the Spotify Web API with spotifyr) and the "music moods" set from
  DerrickLJH/EmotionBasedMusicRecommender (**MIT licence**).
- **Seed songs and playlists** — the original prototype, aj-naik/Emotion-Music-Recommendation (**MIT licence**).
- Music, track metadata and the embedded players are Spotify's. Built with Streamlit, streamlit-webrtc,
  aiortc, OpenCV, LiteRT and SQLAlchemy.
"""
    )
