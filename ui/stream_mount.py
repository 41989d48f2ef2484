"""Whether the Live screen's WebRTC component stayed on screen since the last script run that drew it.

streamlit-webrtc 0.79 stops a component's stream (its ``_reset_context``: worker stopped, state "not playing")
when Streamlit's count of finished script runs has moved more than one past the run that last drew the
component: its sign that the visitor went to another screen and came back, so the browser's component was
mounted afresh. Streamlit counts a run when its event loop *sends* the run's "finished" message, not when the
script ends. On a busy server the next run can start before that message went out and read a stale count;
the run after it then sees a jump of two and stops a stream the browser is still sending. The visitor sees the
video freeze and "Camera paused" seconds after Start. Measured on the 2-core machine under the test suite's
load (a debug log of every run's page and count), a stream stopped 4 s after Start with no other screen in
between: the run that started 0.06 s after the last one finished still read that one's count. The browser
tests that had to run twice showed the same screen.

So the app keeps its own record, which does not depend on when messages are sent: every full run starts by
moving "drawn by this run" to "drawn by the previous run" (``start_run``), and Live's server path marks the
component just before drawing it. When the previous run drew it, no other screen ran in between and the
browser still holds the same component, so the library's check is skipped for this run. Otherwise (a return
from another screen, the on-device path, a run cut short before the draw) the check runs as designed.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

DRAWN = "live_stream_drawn"  # session state: this run drew the component
DRAWN_BEFORE = "live_stream_drawn_before"  # session state: the previous full run drew it


def start_run(session: MutableMapping[str, Any]) -> None:
    """Call once at the top of every full script run (app.py): what this run draws is not known yet."""
    session[DRAWN_BEFORE] = session.pop(DRAWN, False)


def keep_stream_through_reruns(session: MutableMapping[str, Any], key: str) -> None:
    """Call just before ``webrtc_streamer(key=key)``: mark the component drawn by this run, and where the
    previous run drew it too, keep the library from taking it for orphaned by a stale run count."""
    context = session.get(key)
    if session.get(DRAWN_BEFORE) and context is not None and hasattr(context, "_last_rendered_run_count"):
        context._last_rendered_run_count = None  # the library skips its orphan check, then records this run
    session[DRAWN] = True
