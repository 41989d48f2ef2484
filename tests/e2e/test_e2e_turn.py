"""The Live screen through a real TURN relay with time-limited credentials (issue 23 §3).

Debian's coturn runs on 127.0.0.1 with ``--use-auth-secret`` and a secret made here; the app gets the same
secret (MOODTUNE_TURN_SECRET) and relay-only mode, so the browser may use nothing but relay candidates.
The face must be read through the relay, coturn's log must show the session's own time-limited user,
and the secret must appear nowhere the visitor can see: the page, its frames, the websocket data.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from browser import (ARTIFACTS, browser_page, ensure_ice_address, press, serve_app, webcam_flags, webrtc_frame,
                     write_y4m)
from faces import clear_face
from tests.turn_server import turn_server

# Runs in every frame before its scripts: keep each RTCPeerConnection so the test can read its stats.
RECORD_PEER_CONNECTIONS = """(() => {
  const Original = window.RTCPeerConnection;
  if (!Original) return;
  window.__mtPeerConnections = [];
  window.RTCPeerConnection = function (...args) {
    const pc = new Original(...args);
    window.__mtPeerConnections.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Original.prototype;
})();"""

# What each peer connection is doing: its policy, and the candidate pair that carries the media.
PATHS = """async () => {
  const out = [];
  for (const pc of window.__mtPeerConnections || []) {
    const stats = await pc.getStats();
    const byId = new Map();
    let pairId = null;
    stats.forEach((r) => { byId.set(r.id, r); if (r.type === 'transport' && r.selectedCandidatePairId)
      pairId = r.selectedCandidatePairId; });
    const pair = pairId ? byId.get(pairId) : null;
    const local = pair ? byId.get(pair.localCandidateId) : null;
    out.push({policy: pc.getConfiguration().iceTransportPolicy, state: pc.connectionState,
              local: local ? local.candidateType : null, relayProtocol: local ? local.relayProtocol : null,
              bytesSent: pair ? pair.bytesSent : 0,
              users: (pc.getConfiguration().iceServers || []).map((s) => s.username).filter(Boolean)});
  }
  return out;
}"""


def test_live_reads_a_face_through_a_relay_only_turn_with_time_limited_credentials(tmp_path: Path) -> None:
    pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package (pip install playwright)")
    ensure_ice_address()
    video = tmp_path / "happy.y4m"
    write_y4m(video, [(clear_face("happy"), 4)], fps=10)
    with turn_server(tmp_path) as turn:
        env = {"MOODTUNE_TURN_URLS": turn.url, "MOODTUNE_TURN_SECRET": turn.secret, "MOODTUNE_TURN_RELAY_ONLY": "1",
               "MOODTUNE_TURN_TTL_HOURS": "2"}
        with serve_app(tmp_path, env) as url, browser_page(tmp_path, webcam_flags(video)) as page:
            received: list[str] = []

            def keep(payload: str | bytes) -> None:
                received.append(payload if isinstance(payload, str) else payload.decode("latin-1"))

            page.on("websocket", lambda ws: ws.on("framereceived", keep))
            page.context.add_init_script(RECORD_PEER_CONNECTIONS)
            page.goto(url, wait_until="domcontentloaded")
            press(page, "START")
            page.locator(".mt-emotion-name", has_text="happy").wait_for(timeout=60_000)
            paths = webrtc_frame(page).evaluate(PATHS)
            time.sleep(1.0)
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "e2e_turn_live.png"))
            page_html = page.content() + "".join(f.content() for f in page.frames if not f.is_detached())
            data = "".join(received)
        server_log = (tmp_path / "streamlit.log").read_text(errors="replace")
        turn_log = turn.log_text()

    carried = [p for p in paths if p["state"] == "connected" and p["bytesSent"] > 0]
    assert carried, paths
    assert all(p["policy"] == "relay" and p["local"] == "relay" for p in carried), paths  # only the relay
    users = {user for p in carried for user in p["users"]}
    assert len(users) == 1, paths
    user = users.pop()
    expiry, name = user.split(":")
    assert name == "moodtune" and 2 * 3600 - 120 < int(expiry) - time.time() <= 2 * 3600, user
    # coturn recomputed the credential from its secret and let this user allocate a relay
    assert f"user <{user}>: incoming packet ALLOCATE processed, success" in turn_log, turn_log[-3000:]
    assert user in data  # the page's data stream carries the session's credentials...
    for where, text in (("page", page_html), ("websocket data", data), ("server log", server_log)):
        assert turn.secret not in text, f"the TURN secret is in the {where}"  # ...never the secret
