"""A browser whose server went away is told so on the Live screen (issue 18 §2): the app recognises that
the browser asked to resume a session this server process does not have."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import streamlit as st
import streamlit.runtime.scriptrunner as scriptrunner

from ui.live import moved_from_another_server

THIS_SESSION = "5f0c2b1e-0000-4000-8000-000000000001"


@pytest.mark.parametrize(("protocol", "moved"), [
    ("streamlit, 2|44a706b9|3467e7d6|1796289370", False),  # a fresh visit: no session to resume
    (f"streamlit, 2|44a706b9|3467e7d6|1796289370, {THIS_SESSION}", False),  # resumed here (a network blip)
    ("streamlit, 2|44a706b9|3467e7d6|1796289370, 0d9e8c7b-1111-4222-8333-444455556666", True),  # server gone
    ("streamlit, , 0d9e8c7b-1111-4222-8333-444455556666", True),  # no XSRF token: positions still count
    ("", False),
])
def test_a_session_asked_for_elsewhere_means_the_visitor_moved(monkeypatch: pytest.MonkeyPatch, protocol: str,
                                                               moved: bool) -> None:
    monkeypatch.setattr(st, "context", SimpleNamespace(headers={"Sec-Websocket-Protocol": protocol}))
    monkeypatch.setattr(scriptrunner, "get_script_run_ctx", lambda: SimpleNamespace(session_id=THIS_SESSION))
    assert moved_from_another_server() is moved


def test_outside_a_browser_session_nobody_moved() -> None:
    assert moved_from_another_server() is False  # no websocket, no script run context
