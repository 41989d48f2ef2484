"""Live: the browser webcam, the mood it shows at once, and music that follows the mood at a musical pace."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import streamlit as st
from streamlit_webrtc import WebRtcMode, webrtc_streamer

import config
from ui.charts import probability_spec, timeline_spec
from ui.live import (
    LiveReading,
    LiveSession,
    LiveStatus,
    camera_denied_html,
    live_status,
    music_pacer,
    pending_change_text,
    release_closed_tabs,
    session_holder,
    show_status,
)
from ui.live_device import ON_DEVICE, choose_live_path, device_live_panel, offer_device_path
from ui.music import mode_switch, recommendation_for, render_recommendation, set_now_playing
from ui.resources import load_pipeline
from ui.settings import ice_servers
from ui.shell import ensure_app_shell
from ui.style import emotion_headline_html

ensure_app_shell()

st.title(":material/videocam: Live")
st.caption("Your face, read in your browser's video stream; music that follows your mood.")

pipeline = load_pipeline()  # before START, so the first frames never wait for the model
if pipeline is None:
    st.stop()
live: LiveSession = session_holder(config.LIVE_ANALYSIS_FPS)
pacer = music_pacer(config.MUSIC_DWELL_S)
servers, _source = ice_servers()
path = choose_live_path()  # "On this server" (the default) or "On this device", remembered for the session


def play_music(mood: str) -> None:
    """Give the persistent player the new mood's playlist, then redraw the whole screen with its tracks."""
    set_now_playing(recommendation_for("live", mood, st.session_state.get("music_mode", "match")))
    st.rerun(scope="app")


def show_reading(reading: LiveReading, status: LiveStatus) -> None:
    """The mood at once (headline, bars, timeline); the music only when the pacer says so (both paths)."""
    if reading.mood is not None:
        last = "" if status.streaming else f"last reading, {reading.read_at:%H:%M:%S} UTC" if reading.read_at else ""
        st.html(emotion_headline_html(reading.mood, reading.confidence, last))
    show_status(status)
    if status.streaming:
        st.caption(f"{reading.analysed_fps:.1f} frames analysed per second")

    music = pacer.observe(reading.stable if status.streaming else None)
    if music.changed:
        play_music(music.playing)
    if music.pending is not None:
        st.info(pending_change_text(music), icon=":material/music_note:")
        switch, keep = st.columns(2)
        if switch.button("Switch now", key="music_switch", width="stretch"):
            play_music(pacer.switch_now().playing)
        if not music.pinned and keep.button("Keep this music", key="music_keep", width="stretch"):
            pacer.keep()
            st.rerun(scope="fragment")
    if music.pinned and st.button("Follow my mood again", key="music_unpin",
                                  help="The music is pinned: it stays until you press this."):
        pacer.unpin()
        st.rerun(scope="fragment")
    if status.streaming and reading.probs is not None:
        st.vega_lite_chart(spec=probability_spec(reading.probs), width="stretch")  # altair's spec, made once
    if reading.timeline:
        st.markdown("**Your mood over time**")
        st.vega_lite_chart(spec=timeline_spec(reading.timeline, datetime.now(UTC)), width="stretch")


if path == ON_DEVICE:
    device_live_panel(live, show_reading)  # a fragment of its own: the browser's readings rerun only it
else:
    video_col, status_col = st.columns([3, 2], gap="large")
    with video_col, st.container(key="card-video"):
        ctx = webrtc_streamer(
            key="live",
            mode=WebRtcMode.SENDRECV,
            rtc_configuration={"iceServers": servers},
            media_stream_constraints={"video": True, "audio": False},
            video_frame_callback=live.frame_callback(pipeline, time.monotonic, config.LIVE_RETURN_WIDTH),
            async_processing=True,
            sendback_audio=False,
        )
        st.html(camera_denied_html(), unsafe_allow_javascript=True)
    release_closed_tabs(ctx)
    streaming = ctx.state.playing or ctx.state.signalling

    # Only a streaming page refreshes itself: an idle Live screen costs the server nothing.
    @st.fragment(run_every=config.LIVE_REFRESH_S if streaming else None)
    def live_panel() -> None:
        """The server path's reading: the WebRTC state and the video thread's results."""
        now = time.monotonic()
        age = live.observe_connection(ctx.state.playing, ctx.state.signalling, now)
        reading = live.reading(now)
        status = live_status(reading, ctx.state.playing, ctx.state.signalling, age, now,
                             config.LIVE_CONNECT_TIMEOUT_S)
        live.log_problem(status)
        show_reading(reading, status)
        offer_device_path(status)  # the connection failed: the on-device path in one click

    with status_col, st.container(key="card-status"):
        live_panel()

playing = pacer.state.playing
with st.container(key="card-music"):
    mode = mode_switch("live_mode")
    if playing is None:
        st.markdown(":material/headphones: Music appears here once your expression has been steady for a moment.")
    else:
        rec = recommendation_for("live", playing, mode)
        if rec is not None:
            st.caption("The mood's playlist plays in the side panel (the » button at the top left on a phone) "
                       "and keeps playing while you visit other screens.")
            render_recommendation(rec, show_playlists=False)
