"""A small MCP server over stdio or Streamable HTTP, written with the official Python SDK (`mcp`).

Usage:
    python server.py                 # stdio
    python server.py --http PORT     # Streamable HTTP at http://127.0.0.1:PORT/mcp
                                     # (--host ADDR to bind elsewhere)

The Rust client tests spawn it (`python server.py`) to check that oxmcp's client
interoperates with the reference implementation, in both protocol eras: the SDK's
stdio server serves the legacy `initialize` handshake or the 2026-07-28 per-request
envelope, whichever the client opens the connection with (see README.md).

Tools:
- `add(a: int, b: int) -> int`: the sum (text "5" and structuredContent {"result": 5});
  a non-integer argument gives a tool error (`isError: true`) naming the field.
- `echo(text: str) -> str`: the same text back.
- `slow(seconds: float) -> str`: sleeps `seconds` in ten steps, reporting progress
  (`progress` 1..10 of `total` 10) when the request carries a progress token; cancel
  it to check cancellation.

Over HTTP the SDK's `MCPServer.run("streamable-http")` serves (uvicorn + starlette):
the handshake era with sessions (`Mcp-Session-Id`), and 2026-07-28 requests (with the
`_meta` envelope) one POST at a time.

Diagnostics go to stderr; stdout carries protocol messages only.
"""

import argparse

import anyio
from mcp.server.mcpserver import Context, MCPServer

server = MCPServer(
    name="oxmcp-interop-python-server",
    version="1.0.0",
    instructions="Test server for oxmcp interoperability checks.",
    # WARNING keeps the SDK's per-request INFO logs off stderr during test runs.
    log_level="WARNING",
)


@server.tool(description="Adds two integers.")
def add(a: int, b: int) -> int:
    return a + b


@server.tool(description="Returns the text it is given.")
def echo(text: str) -> str:
    return text


@server.tool(description="Sleeps for `seconds`, reporting progress in ten steps.")
async def slow(seconds: float, ctx: Context) -> str:
    steps = 10
    for step in range(1, steps + 1):
        await anyio.sleep(seconds / steps)
        await ctx.report_progress(step, steps, f"step {step} of {steps}")
    return f"slept {seconds} seconds"


def main() -> None:
    parser = argparse.ArgumentParser(description="oxmcp interop server (official Python SDK)")
    parser.add_argument("--http", type=int, metavar="PORT", help="serve Streamable HTTP on PORT instead of stdio")
    parser.add_argument("--sse", type=int, metavar="PORT", help="serve HTTP+SSE (2024-11-05) on PORT: /sse, /messages/")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind with --http or --sse (default 127.0.0.1)")
    args = parser.parse_args()
    if args.http is not None:
        server.run("streamable-http", host=args.host, port=args.http)
    elif args.sse is not None:
        server.run("sse", host=args.host, port=args.sse)
    else:
        server.run("stdio")


if __name__ == "__main__":
    main()
