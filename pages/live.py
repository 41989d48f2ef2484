"""Live: the browser webcam, the emotion it shows, and music that fits — changing only with the mood."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import streamlit as st
from streamlit_webrtc import WebRtcMode, webrtc_streamer

import config
from ui.charts import probability_chart, timeline_chart
from ui.live import LiveSession, live_status, session_holder, show_status
from ui.music import mode_switch, recommendation_for, render_recommendation
from ui.resources import load_pipeline
from ui.settings import ice_servers
from ui.style import emotion_headline_html
from ui.shell import ensure_app_shell

ensure_app_shell()

st.title(":material/videocam: Live")
st.caption("Your face, read in your browser's video stream; music that follows your mood.")

pipeline = load_pipeline()  # before START, so the first frames never wait for the model
if pipeline is None:
    st.stop()
live: LiveSession = session_holder()
servers, _source = ice_servers()

video_col, status_col = st.columns([3, 2], gap="large")
with video_col, st.container(key="card-video"):
    ctx = webrtc_streamer(
        key="live",
        mode=WebRtcMode.SENDRECV,
        rtc_configuration={"iceServers": servers},
        media_stream_constraints={"video": True, "audio": False},
        video_frame_callback=live.frame_callback(pipeline, time.monotonic),
        async_processing=True,
        sendback_audio=False,
    )


@st.fragment(run_every=config.LIVE_REFRESH_S)
def live_panel() -> None:
    """Re-read the video thread's results; a change of the stable emotion reruns the whole page."""
    now = time.monotonic()
    reading = live.reading()
    age = live.observe_connection(ctx.state.playing, ctx.state.signalling, now)
    status = live_status(reading, ctx.state.playing, ctx.state.signalling, age, now,
                         config.LIVE_CONNECT_TIMEOUT_S)
    st.html(emotion_headline_html(reading.stable, reading.confidence if reading.stable else None))
    show_status(status)
    if reading.probs is not None:
        st.altair_chart(probability_chart(reading.probs), width="stretch")
    st.session_state["live_timeline"] = reading.timeline
    if reading.stable != st.session_state.get("live_emotion"):
        st.session_state["live_emotion"] = reading.stable
        st.rerun()  # the music below changes only now, with the stable emotion


with status_col, st.container(key="card-status"):
    live_panel()

emotion = st.session_state.get("live_emotion")
with st.container(key="card-music"):
    mode = mode_switch("live_mode")
    if emotion is None:
        st.markdown("🎧 Music appears here once your expression has been steady for a moment.")
    else:
        rec = recommendation_for("live", emotion, mode)
        if rec is not None:
            render_recommendation(rec)

timeline = st.session_state.get("live_timeline") or ()
if timeline:
    with st.container(key="card-timeline"):
        st.subheader("Your mood this session")
        st.altair_chart(timeline_chart(timeline, datetime.now(UTC)), width="stretch")
