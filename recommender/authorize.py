"""One-time Spotify authorisation: ``python -m recommender.authorize`` prints a refresh token.

Since February 2026 an app in Development Mode may read the items of a playlist only for playlists its
user owns or collaborates on, so the sync acts as that user (the owner of the emotion playlists):

1. Create an app at https://developer.spotify.com/dashboard and add the redirect URI
   ``http://127.0.0.1:8888/callback`` (or set ``SPOTIPY_REDIRECT_URI`` to the one you registered).
2. ``export SPOTIPY_CLIENT_ID=...`` and ``SPOTIPY_CLIENT_SECRET=...`` (leave the secret out to use PKCE).
3. ``python -m recommender.authorize`` opens the consent page; after "Agree" the browser returns to the
   local redirect and the command prints ``MOODTUNE_SPOTIFY_REFRESH_TOKEN = "..."`` for
   ``.streamlit/secrets.toml`` (or the environment). ``--no-browser`` prints the URL to open elsewhere
   and asks for the address you were redirected to (useful over SSH).

It also lists your playlists with their ids, to add them to emotions in the app.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from dataclasses import replace

import requests
import spotipy
from spotipy.exceptions import SpotifyOauthError

import config
from recommender.spotify import (
    ENV_REFRESH_TOKEN,
    SCOPE,
    SpotifyCredentials,
    create_spotify,
    load_credentials,
    make_auth_manager,
)


def authorization_url(credentials: SpotifyCredentials) -> tuple[str, object]:
    """The consent-page URL and the auth manager that must exchange the code it leads to."""
    manager = make_auth_manager(credentials, requests.Session(), 10.0, interactive=True)
    return manager.get_authorize_url(), manager


def exchange_code(manager: object, redirected_to: str) -> str:
    """Trade the code in ``redirected_to`` (the full redirect URL, or the bare code) for a refresh token."""
    code = manager.parse_response_code(redirected_to)  # type: ignore[attr-defined]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # spotipy's as_dict notice
        manager.get_access_token(code=code, check_cache=False)  # type: ignore[attr-defined]
    token = manager.cache_handler.get_cached_token() or {}  # type: ignore[attr-defined]
    if not token.get("refresh_token"):
        raise SpotifyOauthError("Spotify returned no refresh token", error="no_refresh_token")
    return str(token["refresh_token"])


def main(argv: list[str] | None = None) -> int:
    """Run the interactive authorisation; print the refresh token. Returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m recommender.authorize", description=__doc__.split("\n")[0])
    parser.add_argument("--no-browser", action="store_true", help="print the URL instead of opening a browser")
    args = parser.parse_args(argv)
    config.exit_on_settings_problems("python -m recommender.authorize")

    # A client id alone is enough to log in with PKCE, but from_mapping wants a usable flow: give it a
    # placeholder refresh token, then drop it (this run is what creates the real one).
    base = load_credentials(extra={ENV_REFRESH_TOKEN: "pending"})
    base = replace(base, refresh_token=None) if base else None
    if base is None:
        print("Set SPOTIPY_CLIENT_ID first (and SPOTIPY_CLIENT_SECRET, unless you use PKCE).", file=sys.stderr)
        return 2
    url, manager = authorization_url(base)
    print(f"Scopes requested: {SCOPE}\nRedirect URI (must be registered for the app): {base.redirect_uri}\n")
    try:
        if args.no_browser:
            print(f"Open this page, agree, then paste the address you were sent to:\n{url}\n")
            redirected = input("Redirected URL: ").strip()
        else:
            # spotipy opens the browser and catches the redirect on the redirect URI's local port
            redirected = manager.get_authorization_code()  # type: ignore[attr-defined]
        refresh_token = exchange_code(manager, redirected)
    except SpotifyOauthError as error:
        print(f"Spotify refused the authorisation: {error}", file=sys.stderr)
        return 1
    print("\nAdd this to .streamlit/secrets.toml (or export it):\n")
    print(f'MOODTUNE_SPOTIFY_REFRESH_TOKEN = "{refresh_token}"\n')

    client = create_spotify(replace(base, refresh_token=refresh_token))
    try:
        page = client.current_user_playlists(limit=50)
    except spotipy.SpotifyException as error:
        print(f"(Could not list your playlists: {error.http_status})", file=sys.stderr)
        return 0
    print("Your playlists (add them to emotions on the app's Playlists page):")
    for playlist in page.get("items") or []:
        print(f"  {playlist['id']}  {playlist.get('name', '')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
