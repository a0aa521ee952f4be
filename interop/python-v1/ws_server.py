"""A small MCP server over WebSocket, written with the official Python SDK 1.x (`mcp<2`).

Usage:
    python ws_server.py --port PORT     # ws://127.0.0.1:PORT/ws, subprotocol `mcp`

The SDK's `mcp.server.websocket.websocket_server` (an ASGI transport) runs a FastMCP
server's low-level server, mounted with starlette at `/ws` and served by uvicorn.
oxmcp's WebSocket client (`connect_ws`) is checked against it by
`cargo test -p oxmcp --test interop` (see ../python/README.md).

Tools (the same as ../python/server.py):
- `add(a: int, b: int) -> int`: the sum; a non-integer argument is a tool error.
- `echo(text: str) -> str`: the same text back.
- `slow(seconds: float) -> str`: sleeps in ten steps, reporting progress when asked.

`GET /mcp` answers 404 over plain HTTP (the Rust test polls it to know the server is up).
Diagnostics go to stderr.
"""

import argparse
import warnings

import anyio
import uvicorn
from mcp.server.fastmcp import Context, FastMCP
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

# The SDK marks its WebSocket transport deprecated (it was never in the specification).
warnings.simplefilter("ignore", DeprecationWarning)
from mcp.server.websocket import websocket_server  # noqa: E402

server = FastMCP(name="oxmcp-interop-python-v1-ws-server", log_level="WARNING")


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


async def ws_endpoint(websocket: WebSocket) -> None:
    lowlevel = server._mcp_server
    async with websocket_server(websocket.scope, websocket.receive, websocket.send) as (read, write):
        await lowlevel.run(read, write, lowlevel.create_initialization_options())


def main() -> None:
    parser = argparse.ArgumentParser(description="oxmcp interop WebSocket server (Python SDK 1.x)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    app = Starlette(routes=[WebSocketRoute("/ws", ws_endpoint)])
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", ws="websockets-sansio")


if __name__ == "__main__":
    main()
