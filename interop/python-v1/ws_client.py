"""Drive oxmcp's ``examples/everything`` over WebSocket with the official Python SDK 1.x.

Usage:
    python ws_client.py [--timeout S] URL      # e.g. ws://127.0.0.1:PORT/ws

The SDK 1.x's ``mcp.client.websocket.websocket_client`` (subprotocol ``mcp``, one
JSON-RPC message per text frame) carries a ``ClientSession``: the ``initialize``
handshake (the SDK 1.x speaks the handshake era only), then tools, resources, prompts,
progress, logging, a tool error, sampling and elicitation (server-to-client requests on
the same socket), with the fixtures of ``examples/everything/EXPECTATIONS.md`` section 3.

Prints ``ok``/``FAIL`` per check and ``N passed, M failed``; exits 1 if any check failed.
"""

from __future__ import annotations

import argparse
import sys
import traceback
import warnings
from collections.abc import Awaitable, Callable

import anyio
import mcp.types as types
from mcp import ClientSession

warnings.simplefilter("ignore", DeprecationWarning)
from mcp.client.websocket import websocket_client  # noqa: E402

SAMPLED_TEXT = "This is a test response"


class Checks:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    async def check(self, name: str, body: Callable[[], Awaitable[None]]) -> None:
        try:
            await body()
        except Exception as e:
            self.failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
            traceback.print_exc(file=sys.stderr)
            return
        self.passed += 1
        print(f"ok   {name}", flush=True)


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def text_of(result: types.CallToolResult) -> str:
    return "".join(b.text for b in result.content if isinstance(b, types.TextContent))


async def sampling(_context, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
    return types.CreateMessageResult(
        role="assistant",
        content=types.TextContent(type="text", text=SAMPLED_TEXT),
        model="interop-model",
        stopReason="endTurn",
    )


async def elicitation(_context, params: types.ElicitRequestParams) -> types.ElicitResult:
    return types.ElicitResult(action="accept", content={"username": "testuser", "email": "test@example.com"})


async def drive(url: str, checks: Checks) -> None:
    logs: list[types.LoggingMessageNotificationParams] = []

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        logs.append(params)

    async with websocket_client(url) as (read, write):
        async with ClientSession(
            read,
            write,
            sampling_callback=sampling,
            elicitation_callback=elicitation,
            logging_callback=on_log,
        ) as session:
            init = await session.initialize()
            print(f"initialized: {init.protocolVersion} {init.serverInfo.name}", flush=True)

            async def tools() -> None:
                listed = await session.list_tools()
                names = [t.name for t in listed.tools]
                expect("test_simple_text" in names, f"tools: {names}")

            async def simple_text() -> None:
                result = await session.call_tool("test_simple_text", {})
                expect(text_of(result) == "This is a simple text response for testing.", text_of(result))

            async def tool_error() -> None:
                result = await session.call_tool("test_error_handling", {})
                expect(result.isError is True, f"isError {result.isError}")

            async def static_text() -> None:
                result = await session.read_resource("test://static-text")
                item = result.contents[0]
                expect(isinstance(item, types.TextResourceContents), f"{item!r}")
                expect(item.text == "This is the content of the static text resource.", item.text)

            async def prompt() -> None:
                result = await session.get_prompt("test_prompt_with_arguments", {"arg1": "testValue1", "arg2": "testValue2"})
                dumped = result.model_dump_json()
                expect("testValue1" in dumped and "testValue2" in dumped, dumped)

            async def progress() -> None:
                seen: list[float] = []

                async def on_progress(value: float, total: float | None, message: str | None) -> None:
                    seen.append(value)

                await session.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
                await anyio.sleep(0.3)
                expect(len(seen) == 3, f"progress seen: {seen}")

            async def logging() -> None:
                await session.set_logging_level("info")
                await session.call_tool("test_tool_with_logging", {})
                await anyio.sleep(0.3)
                expect(len(logs) == 3, f"{len(logs)} log messages")

            async def sample() -> None:
                result = await session.call_tool("test_sampling", {"prompt": "Hello"})
                expect(SAMPLED_TEXT in text_of(result), text_of(result))

            async def elicit() -> None:
                result = await session.call_tool("test_elicitation", {"message": "Who?"})
                expect("testuser" in text_of(result) and "accept" in text_of(result), text_of(result))

            for name, body in [
                ("tools/list", tools),
                ("tools/call test_simple_text", simple_text),
                ("tools/call test_error_handling", tool_error),
                ("resources/read test://static-text", static_text),
                ("prompts/get test_prompt_with_arguments", prompt),
                ("progress", progress),
                ("logging", logging),
                ("sampling (server-to-client request)", sample),
                ("elicitation (server-to-client request)", elicit),
            ]:
                await checks.check(name, body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    print(f"interop: Python SDK 1.x websocket_client vs {args.url}", flush=True)
    checks = Checks()

    async def guarded() -> None:
        try:
            with anyio.fail_after(args.timeout):
                await drive(args.url, checks)
        except Exception as e:
            checks.failed += 1
            print(f"FAIL connection to {args.url}: {type(e).__name__}: {e}", flush=True)
            traceback.print_exc(file=sys.stderr)

    anyio.run(guarded)
    if checks.passed == 0 and checks.failed == 0:
        checks.failed = 1
    print(f"{checks.passed} passed, {checks.failed} failed", flush=True)
    sys.exit(1 if checks.failed else 0)


if __name__ == "__main__":
    main()
