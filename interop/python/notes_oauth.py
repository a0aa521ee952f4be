"""The official Python SDK client, with its OAuth client provider (``mcp.client.auth``),
against oxmcp's ``examples/notes --builtin-as --auto-approve alice``.

Usage:
    python notes_oauth.py --url http://127.0.0.1:PORT/mcp [--mode legacy|2026-07-28] [--timeout S]

The provider discovers the authorization server from the server's 401 challenge and its
Protected Resource Metadata, registers itself (RFC 7591), and runs the authorization code
flow with PKCE. The browser step is scripted: the redirect handler follows the
authorization URL (which the auto-approving login answers with a redirect at once) and
hands the ``code``, ``state`` and ``iss`` of that redirect to the callback handler. Then
it calls ``add_note`` and ``list_notes``.

Prints one line per check and ``N passed, M failed``; exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import sys
from urllib.parse import parse_qs, urlparse

import anyio
import httpx2

from mcp.client import Client
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider, TokenStorage
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

REDIRECT_URI = "http://127.0.0.1:1/callback"


class Memory(TokenStorage):
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


class Browser:
    """Follows the authorization URL once and keeps the redirect's parameters."""

    def __init__(self) -> None:
        self.redirect: dict[str, str] = {}
        self.visits = 0

    async def open(self, url: str) -> None:
        self.visits += 1
        async with httpx2.AsyncClient(follow_redirects=False) as http:
            answer = await http.get(url)
        if answer.status_code != 302:
            raise RuntimeError(f"authorization answered {answer.status_code}: {answer.text[:300]}")
        location = answer.headers["location"]
        if not location.startswith(REDIRECT_URI):
            raise RuntimeError(f"redirected to {location}, expected {REDIRECT_URI}")
        query = parse_qs(urlparse(location).query)
        self.redirect = {k: v[0] for k, v in query.items()}

    async def callback(self) -> AuthorizationCodeResult:
        if "code" not in self.redirect:
            raise RuntimeError(f"no code in the redirect: {self.redirect}")
        return AuthorizationCodeResult(
            code=self.redirect["code"], state=self.redirect.get("state"), iss=self.redirect.get("iss")
        )


async def main(url: str, mode: str) -> int:
    passed = failed = 0

    def check(ok: bool, what: str) -> None:
        nonlocal passed, failed
        if ok:
            passed += 1
            print(f"ok   {what}")
        else:
            failed += 1
            print(f"FAIL {what}")

    browser = Browser()
    provider = OAuthClientProvider(
        server_url=url,
        client_metadata=OAuthClientMetadata(
            client_name="notes-python-interop",
            redirect_uris=[REDIRECT_URI],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
            scope="notes:read notes:write",
        ),
        storage=(storage := Memory()),
        redirect_handler=browser.open,
        callback_handler=browser.callback,
    )
    http = httpx2.AsyncClient(auth=provider, timeout=30)
    async with http, Client(streamable_http_client(url, http_client=http), mode=mode) as client:
        added = await client.call_tool("add_note", {"text": f"from python ({mode})"})
        text = added.content[0].text if added.content else ""
        check(not added.is_error and text.startswith("added note"), f"[{mode}] add_note: {text!r}")
        # 2026-07-28 has no handshake: the first call is what meets the 401.
        check(browser.visits == 1, f"[{mode}] one authorization (visits: {browser.visits})")
        check(storage.client is not None, f"[{mode}] registered dynamically")
        listed = await client.call_tool("list_notes", {})
        text = listed.content[0].text if listed.content else ""
        check(f"from python ({mode}) (alice)" in text, f"[{mode}] list_notes names alice: {text!r}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--mode", default="legacy", choices=["legacy", "2026-07-28", "auto"])
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()

    async def bounded() -> int:
        with anyio.fail_after(args.timeout):
            return await main(args.url, args.mode)

    sys.exit(anyio.run(bounded))
