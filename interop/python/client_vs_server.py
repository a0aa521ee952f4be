"""Drive an MCP stdio server with the official Python SDK client and check its answers.

Usage:
    python client_vs_server.py --era legacy|modern [options] -- <server command...>

The server is spawned by the SDK's stdio client. The era is forced:

- ``--era legacy``: ``Client(mode="legacy")``, the ``initialize`` handshake. The SDK
  client always offers its newest handshake revision (2025-11-25);
  ``--protocol-version`` makes it offer an older one instead.
- ``--era modern``: ``Client(mode="2026-07-28")``, every request carries the 2026-07-28
  ``_meta`` envelope and no handshake happens; ``server/discover`` is then sent
  explicitly. A second connection with ``mode="auto"`` (probe ``server/discover``,
  fall back to ``initialize``) must also end up on 2026-07-28.

By default the expectations are those of oxmcp's ``examples/quickstart`` (tools
``add``, ``echo`` and ``weather`` with structured output); ``--expect python-server``
switches to those of ``server.py`` next to this script (``add``, ``echo``, ``slow``),
which is how this script checks itself.

Prints one line per check and ``N passed, M failed`` at the end; exits 1 if any check
failed, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import re
import sys
import warnings
from typing import Any

import mcp_types as types
from harness import Run, expect, run_script, text_of
from mcp import Client, MCPDeprecationWarning, MCPError, StdioServerParameters
from mcp.client import session as client_session
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS

MODERN_VERSION = "2026-07-28"


def describe(result: types.CallToolResult) -> str:
    return result.model_dump_json(by_alias=True, exclude_none=True)


class Expectations:
    """What the server under test exposes."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        if kind == "quickstart":
            self.tools = {"add", "echo", "weather"}
        else:
            self.tools = {"add", "echo", "slow"}

    @property
    def has_weather(self) -> bool:
        return "weather" in self.tools


async def tool_checks(run: Run, client: Client, era: str, expected: Expectations) -> None:
    """The checks every connection runs once it is open."""
    listed: dict[str, types.Tool] = {}

    async def list_tools() -> None:
        result = await client.list_tools()
        listed.update({tool.name: tool for tool in result.tools})
        missing = expected.tools - listed.keys()
        expect(not missing, f"tools/list lacks {sorted(missing)}; listed: {sorted(listed)}")
        for name in expected.tools:
            schema = listed[name].input_schema
            expect(schema.get("type") == "object", f"tool {name!r} inputSchema is not an object schema: {schema}")
        props = listed["add"].input_schema.get("properties", {})
        expect({"a", "b"} <= props.keys(), f"tool 'add' inputSchema lacks properties a and b: {props}")
        if expected.has_weather:
            out = listed["weather"].output_schema
            expect(out is not None, "tool 'weather' has no outputSchema")
            out_props = (out or {}).get("properties", {})
            missing_props = {"city", "temperature_c", "conditions"} - out_props.keys()
            expect(not missing_props, f"weather outputSchema lacks {sorted(missing_props)}: {out}")

    await run.check(f"[{era}] tools/list", list_tools)

    async def add() -> None:
        result = await client.call_tool("add", {"a": 2, "b": 3})
        expect(not result.is_error, f"add(2, 3) failed: {describe(result)}")
        expect(text_of(result).strip() == "5", f"add(2, 3) text is {text_of(result)!r}, expected '5'")

    await run.check(f"[{era}] tools/call add", add)

    async def echo() -> None:
        text = "hello, interop \u2713 \"quoted\"\nsecond line"
        result = await client.call_tool("echo", {"text": text})
        expect(not result.is_error, f"echo failed: {describe(result)}")
        expect(text_of(result) == text, f"echo returned {text_of(result)!r}, expected {text!r}")

    await run.check(f"[{era}] tools/call echo", echo)

    if expected.has_weather:

        async def weather() -> None:
            # The SDK client also validates structuredContent against the listed outputSchema.
            result = await client.call_tool("weather", {"city": "Paris"})
            expect(not result.is_error, f"weather failed: {describe(result)}")
            data: Any = result.structured_content
            expect(isinstance(data, dict), f"weather returned no structuredContent object: {describe(result)}")
            expect(data.get("city") == "Paris", f"weather city is {data.get('city')!r}, expected 'Paris'")
            temperature = data.get("temperature_c")
            expect(
                isinstance(temperature, int | float) and not isinstance(temperature, bool),
                f"weather temperature_c is not a number: {temperature!r}",
            )
            expect(isinstance(data.get("conditions"), str), f"weather conditions is not a string: {data!r}")

        await run.check(f"[{era}] tools/call weather (structured output)", weather)

    async def bad_argument() -> None:
        version = client.protocol_version
        try:
            result = await client.call_tool("add", {"a": 2, "b": "three"})
        except MCPError as e:
            # Before 2025-11-25 an argument error may be a JSON-RPC error instead.
            expect(
                version not in ("2025-11-25", MODERN_VERSION),
                f"add with b='three' raised JSON-RPC error {e.code} {e.message!r}; at {version} an argument "
                "error must be a tool execution error (isError: true)",
            )
            expect(e.code == -32602, f"add with b='three' gave JSON-RPC error {e.code}, expected -32602")
            detail = f"{e.message} {e.data or ''}"
            expect(re.search(r"\bb\b", detail) is not None, f"the error does not name field 'b': {detail!r}")
            return
        expect(result.is_error is True, f"add with b='three' did not fail: {describe(result)}")
        expect(
            re.search(r"\bb\b", text_of(result)) is not None,
            f"the tool error does not name field 'b': {text_of(result)!r}",
        )

    await run.check(f"[{era}] tools/call add with a bad argument", bad_argument)

    async def unknown_tool() -> None:
        try:
            result = await client.call_tool("no-such-tool", {})
        except MCPError:
            return
        expect(result.is_error is True, f"calling an unknown tool did not fail: {describe(result)}")

    await run.check(f"[{era}] tools/call of an unknown tool fails", unknown_tool)


def server_params(command: list[str]) -> StdioServerParameters:
    return StdioServerParameters(command=command[0], args=command[1:])


async def legacy(run: Run, command: list[str], expected: Expectations, offered: str | None) -> None:
    if offered is not None:
        # `ClientSession.initialize` offers the module-level LATEST_HANDSHAKE_VERSION.
        client_session.LATEST_HANDSHAKE_VERSION = offered
    client = Client(server_params(command), mode="legacy")
    async with client:

        async def handshake() -> None:
            version = client.protocol_version
            expect(client.session.initialize_result is not None, "no InitializeResult after the handshake")
            expect(version in HANDSHAKE_PROTOCOL_VERSIONS, f"negotiated {version!r}, not a handshake-era revision")
            if offered is not None:
                expect(version == offered, f"offered {offered}, the server settled on {version}")
            info = client.server_info
            expect(info is not None and bool(info.name), f"InitializeResult has no serverInfo name: {info}")
            print(f"     negotiated {version} with {info.name} {info.version}", flush=True)

        if not await run.check("[legacy] initialize handshake", handshake):
            return

        async def ping() -> None:
            with warnings.catch_warnings():
                # The SDK flags ping as removed in 2026-07-28; this is a legacy connection.
                warnings.simplefilter("ignore", MCPDeprecationWarning)
                await client.send_ping()

        await run.check("[legacy] ping", ping)
        await tool_checks(run, client, "legacy", expected)


async def modern(run: Run, command: list[str], expected: Expectations) -> None:
    client = Client(server_params(command), mode=MODERN_VERSION)
    async with client:

        async def pinned() -> None:
            version = client.protocol_version
            expect(version == MODERN_VERSION, f"pinned client negotiated {version!r}")
            expect(client.session.initialize_result is None, "a handshake happened on a pinned modern client")

        await run.check("[modern] client pinned to 2026-07-28", pinned)

        async def discover() -> None:
            raw = await client.session.send_discover(MODERN_VERSION)
            result = types.DiscoverResult.model_validate(raw)
            expect(
                MODERN_VERSION in result.supported_versions,
                f"server/discover supportedVersions {result.supported_versions} lacks {MODERN_VERSION}",
            )
            expect(result.capabilities.tools is not None, f"server/discover advertises no tools capability: {raw}")
            expect(raw.get("resultType") == "complete", f"server/discover resultType is {raw.get('resultType')!r}")

        await run.check("[modern] server/discover", discover)
        await tool_checks(run, client, "modern", expected)

    auto = Client(server_params(command), mode="auto")
    async with auto:

        async def negotiated() -> None:
            version = auto.protocol_version
            expect(
                version in MODERN_PROTOCOL_VERSIONS and auto.session.discover_result is not None,
                f"mode='auto' fell back to {version!r}: the server/discover probe did not succeed",
            )

        if await run.check("[modern] mode='auto' settles on 2026-07-28 via server/discover", negotiated):

            async def add_again() -> None:
                result = await auto.call_tool("add", {"a": 40, "b": 2})
                expect(text_of(result).strip() == "42", f"add(40, 2) text is {text_of(result)!r}")

            await run.check("[modern/auto] tools/call add", add_again)


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    if "--" not in argv:
        print("usage: client_vs_server.py --era legacy|modern [options] -- <server command...>", file=sys.stderr)
        sys.exit(2)
    split = argv.index("--")
    own, command = argv[:split], argv[split + 1 :]
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--era", choices=["legacy", "modern"], required=True)
    parser.add_argument(
        "--expect",
        choices=["quickstart", "python-server"],
        default="quickstart",
        help="which server's tools to expect (default: oxmcp's examples/quickstart)",
    )
    parser.add_argument(
        "--protocol-version",
        choices=list(HANDSHAKE_PROTOCOL_VERSIONS),
        help="legacy era only: the revision the client offers in initialize (default: the SDK's, 2025-11-25)",
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds for the whole run (default 60)")
    args = parser.parse_args(own)
    if not command:
        parser.error("no server command after --")
    if args.protocol_version and args.era != "legacy":
        parser.error("--protocol-version applies to --era legacy only")
    return args, command


def main() -> None:
    args, command = parse_args(sys.argv[1:])
    expected = Expectations(args.expect)

    async def body(run: Run) -> None:
        if args.era == "legacy":
            await legacy(run, command, expected, args.protocol_version)
        else:
            await modern(run, command, expected)

    run_script("Python SDK client", args.era, args.timeout, command, body)


if __name__ == "__main__":
    main()
