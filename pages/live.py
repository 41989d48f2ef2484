"""Live: the browser webcam, the mood it shows at once, and music that follows the mood at a musical pace.

Layout (issue 19 §1): on a computer the video sits left and the mood card with the music right, so the
music is in view while streaming; on a phone (ui/style.css) the mood card comes first, then a compact
video, then the music; the playlist plays in a mini-player pinned to the bottom of the screen. The details
(seven bars, the timeline, the session's history) fold away in the mood card.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import streamlit as st
from streamlit_webrtc import WebRtcMode, webrtc_streamer

import config
from emotion.labels import EMOTIONS
from ui.charts import probability_spec, timeline_spec
from ui.live import (
    LiveReading,
    LiveStatus,
    MOVED_NOTICE,
    LiveSession,
    camera_denied_html,
    live_status,
    moved_from_another_server,
    media_constraints,
    music_pacer,
    release_closed_tabs,
    session_holder,
    show_status,
)
from ui.live_preview import live_preview
from ui.live_device import ON_DEVICE, choose_live_path, device_live_panel, offer_device_path
from ui.live_view import PENDING_SHOW_AFTER_S, clock_text, history_csv, mood_history, music_line_html, visitor_zone
from ui.music import mode_switch, recommendation_for, render_recommendation, set_now_playing
from emotion.calibration import FaceCalibrator
from ui.resources import load_pipeline, neutral_reference
from ui.settings import rtc_configuration
from ui.shell import ensure_app_shell
from ui.stream_mount import keep_stream_through_reruns
from ui.style import emotion_headline_html, emotion_icon

ensure_app_shell()

st.title(":material/videocam: Live")
path = choose_live_path()  # "On this server" (the default) or "On this device", remembered for the session
if path == ON_DEVICE:
    st.caption("Your face is read in this browser: only the seven probabilities, the face box and the time reach "
               "the Moodtune server; the music follows your mood.")
else:
    st.caption("Your browser sends the webcam video to the Moodtune server, which reads your expression in memory "
               "(nothing is stored); the music follows your mood.")

pipeline = load_pipeline(config.LIVE_FLIP_TTA)  # before START, so the first frames never wait for the model
if pipeline is None:
    st.stop()
live: LiveSession = session_holder(config.LIVE_ANALYSIS_FPS)
pacer = music_pacer(config.MUSIC_DWELL_S)
moved_notice = st.empty()  # filled below when this browser's previous server went away
zone = visitor_zone(st.context.timezone)
music_log: list[tuple[datetime, str]] = st.session_state.setdefault("live_music_log", [])

def play_music(mood: str) -> None:
    """Give the persistent player the new mood's playlist, then redraw the whole screen with its tracks."""
    set_now_playing(recommendation_for("live", mood, st.session_state.get("music_mode", "match")))
    music_log.append((datetime.now(UTC), mood))
    if mood != st.session_state.get("live_chosen_music"):
        st.session_state.pop("live_chosen_music", None)  # the face (or "Switch now") chose this music
    st.rerun(scope="app")


def remember_correction() -> None:
    """"Not right?": keep the user's choice for the panel (it plays the music), and clear the picker."""
    st.session_state["live_chosen"] = st.session_state.get("live_correction")
    st.session_state["live_correction"] = None


def controls(mood_shown: bool, music_pending: bool, pinned: bool, streaming_now: bool = False) -> None:
    """The small row under the headline: "Not right?", "Calibrate", and the music's buttons when they apply.

    The row keeps its height whether or not buttons show (ui/style.css), so nothing below it moves.
    """
    with st.container(key="live-controls", horizontal=True, wrap=False, gap="small"):
        if mood_shown:
            with st.popover("Not right?", icon=":material/edit:",
                            help="Tell Moodtune your mood: its music plays and stays until you let it follow "
                                 "your face again."):
                st.pills("Your mood is", EMOTIONS, key="live_correction", on_change=remember_correction,
                         format_func=lambda mood: f":material/{emotion_icon(mood)}: {mood}")
                count = st.session_state.get("live_corrections", 0)
                st.caption(f"Corrected {count} time{'s' if count != 1 else ''} this session "
                           "(counted here only, never stored).")
        reference = neutral_reference()
        if streaming_now and reference is not None and not music_pending:
            calibrated = live.calibration(time.monotonic()).kind == "on"
            if st.button("Recalibrate" if calibrated else "Calibrate", key="live_calibrate", icon=":material/tune:",
                         help="Calibrate to my face: look at the camera with a relaxed, neutral face for "
                              "3 seconds, so a resting face that reads sad or angry reads neutral. "
                              "This session only, never stored."):
                live.start_calibration(FaceCalibrator(reference), time.monotonic())
                st.rerun(scope="fragment")
        if music_pending:
            if st.button("Switch now", key="music_switch", icon=":material/skip_next:"):
                play_music(pacer.switch_now().playing)
            if not pinned and st.button("Keep music", key="music_keep", icon=":material/push_pin:",
                                        help="Keep this music: it stays until you let it follow your mood again."):
                pacer.keep()
                st.rerun(scope="fragment")
        if pinned and st.button("Follow my mood", key="music_unpin", icon=":material/sync:",
                                help="The music is pinned: it stays until you press this."):
            if pacer.unpin().changed:
                play_music(pacer.state.playing)
            st.session_state.pop("live_chosen_music", None)
            st.rerun(scope="fragment")


def calibration_line(state: object) -> None:
    """"Calibrate to my face": a progress line while looking, then what is in force (with a way back)."""
    if state.kind == "looking":
        st.progress(state.progress, text=state.message)
    elif state.kind == "failed":
        st.caption(f":material/error: {state.message}")
    elif state.kind == "on":
        with st.container(horizontal=True, vertical_alignment="center", gap="small"):
            st.caption(f":material/tune: {state.message}", width="content")
            if st.button("Undo", key="live_calibration_clear", type="tertiary",
                         help="Forget the calibration: back to the model's own reading"):
                live.clear_calibration()
                st.rerun(scope="fragment")


def details(reading: object, streaming_now: bool) -> None:
    """The seven bars, the timeline and the session's history, folded away and drawn only while unfolded: the
    history table alone was half of a streaming session's 1-s refresh (bench/session_cost.py)."""
    box = st.expander("Details: all seven moods, your mood over time, this session's history",
                      icon=":material/insights:", key="live_details", on_change="rerun")
    with box:
        if not box.open:
            return
        if streaming_now and reading.probs is not None:
            st.vega_lite_chart(spec=probability_spec(reading.probs), width="stretch")  # altair's spec, made once
        if not reading.timeline:
            return
        st.markdown("**Your mood over time**")
        st.vega_lite_chart(spec=timeline_spec(reading.timeline, datetime.now(UTC)), width="stretch")
        rows = mood_history(reading.timeline, music_log)
        st.markdown("**This session** (kept in this session only)")
        st.dataframe(
            [{"from": clock_text(row.start, zone), "for": f"{row.seconds:.0f} s", "mood": row.mood,
              "music": row.music or "–"} for row in rows[-12:]],
            hide_index=True, width="stretch",
        )
        st.download_button("Save as CSV", history_csv(rows, zone), file_name="moodtune-session.csv",
                           mime="text/csv", icon=":material/download:", on_click="ignore", key="live_history_csv")


def show_reading(reading: LiveReading, status: LiveStatus) -> None:
    """The mood at once (headline, controls, music line, folded details); the music only when the pacer says
    so. Both paths (server and device) show their reading through this."""
    now = time.monotonic()
    chosen = st.session_state.pop("live_chosen", None)
    if chosen in EMOTIONS:
        st.session_state["live_corrections"] = st.session_state.get("live_corrections", 0) + 1
        st.session_state["live_chosen_music"] = chosen
        if pacer.choose(chosen).changed:
            play_music(chosen)
        st.rerun(scope="fragment")

    if reading.mood is not None:
        if status.streaming:
            caption = ""
        else:
            caption = "camera paused" + (f" · last reading {clock_text(reading.read_at, zone)}"
                                         if reading.read_at else "")
        st.html(emotion_headline_html(reading.mood, reading.confidence, caption))
    music = pacer.observe(reading.stable if status.streaming else None)
    if music.changed:
        play_music(music.playing)
    announced = music.pending is not None and music.pending_for_s >= PENDING_SHOW_AFTER_S
    controls(reading.mood is not None, announced, music.pinned, status.streaming)
    calibration_line(live.calibration(now))
    if reading.mood is not None or music.playing is not None:
        st.html(music_line_html(music, pacer.dwell_s, chosen=st.session_state.get("live_chosen_music") is not None
                                and music.pinned))
    show_status(status)
    if status.streaming:
        st.caption(f"{reading.analysed_fps:.1f} frames analysed per second")
    if reading.timeline or reading.probs is not None:
        details(reading, status.streaming)


def music_card() -> None:
    """The music for the mood the pacer plays: the mode switch and the tracks (the playlist is in the panel)."""
    playing = pacer.state.playing
    mode = mode_switch("live_mode")
    if playing is None:
        st.markdown(":material/headphones: Music appears here once your expression has been steady for a moment.")
        return
    rec = recommendation_for("live", playing, mode)
    if rec is not None:
        # one line: with a caption above each player, the first player still ends above a 900-px fold
        st.caption("The mood's playlist plays in Now playing, on every screen.")
        # the mood card says "Music for …" already; one track per row fits the narrow card
        render_recommendation(rec, show_playlists=False, heading=False, columns=1)


if path == ON_DEVICE:
    device_live_panel(live, show_reading, music_card)  # a fragment of its own: the browser's readings rerun it
else:
    with st.container(key="live-layout"):
        video_col, mood_col = st.columns([2, 3], gap="medium")
    with video_col, st.container(key="card-video"):
        # no video back: the browser's own camera picture, filled by live_panel on each refresh (ui/live_preview)
        preview_slot = None if config.LIVE_VIDEO_BACK else st.container(key="live-preview")
        keep_stream_through_reruns(st.session_state, "live")  # a busy server must not stop it (ui/stream_mount)
        ctx = webrtc_streamer(
            key="live",
            # SENDONLY (MOODTUNE_LIVE_VIDEO_BACK=0): no video back; the page shows the browser's own camera
            mode=WebRtcMode.SENDRECV if config.LIVE_VIDEO_BACK else WebRtcMode.SENDONLY,
            rtc_configuration=rtc_configuration(),  # TURN: this session's own credentials
            media_stream_constraints=media_constraints(config.LIVE_CAPTURE_WIDTH, config.LIVE_CAPTURE_FPS),
            video_frame_callback=(live.frame_callback(pipeline, time.monotonic, config.LIVE_RETURN_WIDTH)
                                  if config.LIVE_VIDEO_BACK else live.reading_callback(pipeline, time.monotonic)),
            async_processing=True,
            sendback_audio=False,
        )
        st.html(camera_denied_html(), unsafe_allow_javascript=True)
    release_closed_tabs(ctx)
    streaming = ctx.state.playing or ctx.state.signalling
    if not streaming and moved_from_another_server():
        moved_notice.warning(MOVED_NOTICE, icon=":material/sync_problem:")

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
        if preview_slot is not None:
            with preview_slot:
                live_preview("live_preview", status.streaming, reading.boxes if status.streaming else (),
                             reading.mood, reading.confidence, config.LIVE_SENT_FPS)
        show_reading(reading, status)
        offer_device_path(status)  # the connection failed: the on-device path in one click

    with mood_col, st.container(key="card-mood"):
        live_panel()
    with mood_col, st.container(key="card-music"):
        music_card()
