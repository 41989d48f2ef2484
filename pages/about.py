"""About: how Moodtune works, what happens to your camera images, and whose work it builds on."""

from __future__ import annotations

import streamlit as st
from ui.shell import ensure_app_shell

ensure_app_shell()

st.title("ℹ️ About Moodtune")

with st.container(key="card-how"):
    st.subheader("How it works")
    st.markdown(
        """
1. Your **browser** sends the webcam video to the Moodtune server over WebRTC (or you take a snapshot).
2. On the server, each frame goes through a face detector (YuNet) and a small emotion network trained on
   FER2013, which gives seven probabilities: angry, disgust, fear, happy, sad, surprise, neutral.
3. About a second of frames is averaged; when a different emotion has clearly led for a moment, it becomes
   the **stable emotion** — and only then does the music change.
4. Each emotion sits at a point of valence (how positive) and energy (how intense) on Russell's circumplex.
   **Match** picks tracks nearest that point; **lift** starts there and walks step by step toward calm,
   positive music. Playback is Spotify's own embedded player.
"""
    )

with st.container(key="card-privacy"):
    st.subheader("🔒 Privacy")
    st.markdown(
        """
- Camera frames and uploaded photos are processed **in memory** and then dropped: they are **never stored,
  logged or sent anywhere** else. Only the seven numbers and the stable emotion stay in your browser session,
  and they are gone when you close the tab.
- Nothing identifies you: there are no accounts and no face recognition — only the expression is read.
- The Spotify players are loaded from open.spotify.com by your browser, under Spotify's own privacy terms.
"""
    )

with st.container(key="card-credits"):
    st.subheader("Credits and licences")
    st.markdown(
        """
- **FER2013** facial expression data set — Goodfellow et al., *Challenges in Representation Learning: A
  report on three machine learning contests*, ICML 2013 workshop; released for research use. The model was
  trained on it.
- **YuNet** face detector — OpenCV model zoo (opencv/opencv_zoo), **MIT licence**.
- **Track catalogue** — TidyTuesday 2020-01-21 "Spotify Songs" (rfordatascience/tidytuesday, **MIT licence**,
  values collected from the Spotify Web API with spotifyr) and the "music moods" set from
  DerrickLJH/EmotionBasedMusicRecommender (**MIT licence**).
- **Seed songs and playlists** — the original prototype, aj-naik/Emotion-Music-Recommendation (**MIT licence**).
- Music, track metadata and the embedded players are Spotify's. Built with Streamlit, streamlit-webrtc,
  aiortc, OpenCV, LiteRT and SQLAlchemy.
"""
    )
