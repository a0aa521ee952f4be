"""An OAuth-protected MCP server written with the official Python SDK (`mcp.server.auth`),
for oxmcp's OAuth client to authorize against.

Usage:
    python oauth_server.py --http PORT [--token-ttl SECONDS]

Serves Streamable HTTP at http://127.0.0.1:PORT/mcp with:
- a token verifier (`TokenVerifier`): bearer tokens are looked up in the tokens this
  process issued, with their scopes, expiry and resource (RFC 8707);
- the SDK's authorization-server routes (`create_auth_routes`: RFC 8414 metadata,
  `/authorize`, `/token`, `/register`, `/revoke`) around an in-memory provider that
  approves every authorization at once (the browser step needs no login), issues access
  tokens living `--token-ttl` seconds (default 3600) and rotating refresh tokens;
- the SDK's Protected Resource Metadata naming that authorization server, and 401
  challenges for requests without a valid token; every request needs scope `mcp:use`.

Tools:
- `whoami() -> str`: "client CLIENT_ID, scopes S1 S2" of the caller's token;
- `token_count() -> str`: how many access tokens were issued so far (a refresh adds one);
- `expire_access_tokens() -> str`: ends every access token now (refresh tokens stay), so
  the next request meets a 401 and the client must refresh.

Diagnostics go to stderr.
"""

from __future__ import annotations

import argparse
import secrets
import time

import uvicorn
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    RefreshToken,
    TokenVerifier,
    construct_redirect_uri,
)
from mcp.server.auth.routes import create_auth_routes
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from mcp.server.mcpserver import MCPServer
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

SCOPE = "mcp:use"


class Provider:
    """An in-memory authorization server that approves at once."""

    def __init__(self, ttl: int) -> None:
        self.ttl = ttl
        self.clients: dict[str, OAuthClientInformationFull] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.refresh: dict[str, RefreshToken] = {}
        self.access: dict[str, AccessToken] = {}
        self.issued = 0

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        return self.clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        assert client_info.client_id is not None
        self.clients[client_info.client_id] = client_info

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        code = secrets.token_urlsafe(32)
        self.codes[code] = AuthorizationCode(
            code=code,
            scopes=params.scopes or [SCOPE],
            expires_at=time.time() + 300,
            client_id=client.client_id or "",
            code_challenge=params.code_challenge,
            redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            resource=params.resource,
            subject="alice",
        )
        return construct_redirect_uri(str(params.redirect_uri), code=code, state=params.state)

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> AuthorizationCode | None:
        return self.codes.get(authorization_code)

    def _issue(self, client_id: str, scopes: list[str], resource: str | None, subject: str | None) -> OAuthToken:
        self.issued += 1
        access = secrets.token_urlsafe(32)
        refresh = secrets.token_urlsafe(32)
        self.access[access] = AccessToken(
            token=access,
            client_id=client_id,
            scopes=scopes,
            expires_at=int(time.time()) + self.ttl,
            resource=resource,
            subject=subject,
        )
        self.refresh[refresh] = RefreshToken(
            token=refresh, client_id=client_id, scopes=scopes, resource=resource, subject=subject
        )
        return OAuthToken(
            access_token=access,
            token_type="Bearer",
            expires_in=self.ttl,
            refresh_token=refresh,
            scope=" ".join(scopes),
        )

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: AuthorizationCode
    ) -> OAuthToken:
        del self.codes[authorization_code.code]
        return self._issue(
            authorization_code.client_id,
            authorization_code.scopes,
            authorization_code.resource,
            authorization_code.subject,
        )

    async def load_refresh_token(self, client: OAuthClientInformationFull, refresh_token: str) -> RefreshToken | None:
        token = self.refresh.get(refresh_token)
        return token if token is not None and token.client_id == client.client_id else None

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        # Rotation: the refresh token used is spent.
        del self.refresh[refresh_token.token]
        return self._issue(
            refresh_token.client_id, scopes or refresh_token.scopes, refresh_token.resource, refresh_token.subject
        )

    async def load_access_token(self, token: str) -> AccessToken | None:
        return self.access.get(token)

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        self.access.pop(token.token, None)
        self.refresh.pop(token.token, None)


class Verifier(TokenVerifier):
    """Accepts the tokens the provider issued, until they expire."""

    def __init__(self, provider: Provider) -> None:
        self.provider = provider

    async def verify_token(self, token: str) -> AccessToken | None:
        found = self.provider.access.get(token)
        if found is None or (found.expires_at is not None and found.expires_at < time.time()):
            return None
        return found


def main() -> None:
    parser = argparse.ArgumentParser(description="OAuth-protected MCP server (official Python SDK)")
    parser.add_argument("--http", type=int, required=True, metavar="PORT")
    parser.add_argument("--token-ttl", type=int, default=3600, metavar="SECONDS")
    args = parser.parse_args()

    base = f"http://127.0.0.1:{args.http}"
    provider = Provider(args.token_ttl)
    registration = ClientRegistrationOptions(enabled=True, valid_scopes=[SCOPE], default_scopes=[SCOPE])
    server = MCPServer(
        name="oxmcp-interop-python-oauth",
        token_verifier=Verifier(provider),
        auth=AuthSettings(
            issuer_url=base,
            resource_server_url=f"{base}/mcp",
            required_scopes=[SCOPE],
            client_registration_options=registration,
            revocation_options=RevocationOptions(enabled=True),
            validate_token_resource=True,
        ),
        log_level="WARNING",
    )

    @server.tool()
    def whoami() -> str:
        """The caller's client id and scopes."""
        token = get_access_token()
        if token is None:
            return "anonymous"
        return f"client {token.client_id}, scopes {' '.join(token.scopes)}"

    @server.tool()
    def expire_access_tokens() -> str:
        """Ends every access token now (refresh tokens stay): the next request meets a 401."""
        ended = len(provider.access)
        provider.access.clear()
        return f"ended {ended}"

    @server.tool()
    def token_count() -> str:
        """How many access tokens were issued so far."""
        return str(provider.issued)

    assert server.settings.auth is not None
    app = server.streamable_http_app()
    app.router.routes.extend(
        create_auth_routes(
            provider=provider,
            # The settings' URL keeps the empty path: the issuer is exactly `base`.
            issuer_url=server.settings.auth.issuer_url,
            client_registration_options=registration,
            revocation_options=RevocationOptions(enabled=True),
        )
    )
    uvicorn.run(app, host="127.0.0.1", port=args.http, log_level="warning")


if __name__ == "__main__":
    main()
