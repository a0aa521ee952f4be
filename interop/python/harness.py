"""What the interop scripts share: checks that count and report, and the run's frame.

Each script prints `ok <check>` / `FAIL <check>: why` lines, then `N passed, M failed`,
and exits non-zero when anything failed (or nothing ran).
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Awaitable, Callable

import anyio
import mcp_types as types
from mcp import MCPError


class CheckFailed(Exception):
    """An expectation about the server's behaviour did not hold."""


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def text_of(result: types.CallToolResult) -> str:
    """The concatenated text content of a tool result."""
    return "".join(block.text for block in result.content if isinstance(block, types.TextContent))


class Run:
    """Counts and reports checks."""

    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    async def check(self, name: str, body: Callable[[], Awaitable[None]]) -> bool:
        try:
            await body()
        except CheckFailed as e:
            self.failed += 1
            print(f"FAIL {name}: {e}", flush=True)
            return False
        except Exception as e:  # an SDK error is a failed check too, with its trace
            self.failed += 1
            detail = f" (code {e.code}, data {e.data!r})" if isinstance(e, MCPError) else ""
            print(f"FAIL {name}: {type(e).__name__}: {e}{detail}", flush=True)
            traceback.print_exc(file=sys.stderr)
            return False
        self.passed += 1
        print(f"ok   {name}", flush=True)
        return True


def run_script(title: str, era: str, timeout: float, command: list[str], body: Callable[[Run], Awaitable[None]]) -> None:
    """Runs `body` within `timeout` seconds, prints the summary and exits."""
    print(f"interop: {title}, era {era}, server: {' '.join(command)}", flush=True)

    async def guarded() -> Run:
        run = Run()
        try:
            with anyio.fail_after(timeout):
                await body(run)
        except TimeoutError:
            run.failed += 1
            print(f"FAIL [{era}] the run did not finish within {timeout} seconds", flush=True)
        except Exception as e:  # connecting or the server going away
            run.failed += 1
            print(f"FAIL [{era}] connection to {' '.join(command)!r}: {type(e).__name__}: {e}", flush=True)
            if not isinstance(e, OSError):  # a server that cannot start needs no trace
                traceback.print_exc(file=sys.stderr)
        return run

    run = anyio.run(guarded)
    if run.passed == 0 and run.failed == 0:
        run.failed = 1
        print("FAIL no check ran", flush=True)
    print(f"{run.passed} passed, {run.failed} failed", flush=True)
    sys.exit(1 if run.failed else 0)
