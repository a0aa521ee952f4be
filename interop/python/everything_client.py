"""Drive oxmcp's ``examples/everything`` server with the official Python SDK client.

Usage:
    python everything_client.py --era legacy|modern [--timeout S] -- <server command...>
    python everything_client.py --era legacy|modern [--timeout S] --url URL
    python everything_client.py --era legacy|modern [--timeout S] --sse URL

With a command, the server is spawned over stdio by the SDK's stdio client; with ``--url``
the SDK's Streamable HTTP client transport (``streamable_http_client``, chosen by
``Client`` when given a URL string) connects to an already running server at URL (such as
``everything --http 127.0.0.1:PORT``, URL ``http://127.0.0.1:PORT/mcp``); with ``--sse``
the SDK's HTTP+SSE client transport of 2024-11-05 (``sse_client``) opens the stream at URL
(``http://127.0.0.1:PORT/sse`` on the same server) and posts to the ``endpoint`` it names.
Either way, in one forced era:

- ``--era legacy``: ``Client(mode="legacy")``, the ``initialize`` handshake (the SDK
  offers 2025-11-25). Sampling and elicitation are real server-to-client requests;
  logging is switched on with ``logging/setLevel``.
- ``--era modern``: ``Client(mode="2026-07-28")``, the per-request ``_meta`` envelope and
  no handshake. Sampling and elicitation come back as an ``InputRequiredResult`` that the
  SDK client fulfils with its callbacks and retries (multi round-trip); logging is opted
  into per request with ``_meta["io.modelcontextprotocol/logLevel"]``.

It checks resources, resource templates, prompts, completions, progress, logging, the
content-type tools, a tool error, sampling and elicitation, with the fixtures described in
``examples/everything/EXPECTATIONS.md`` section 3.

Prints one line per check (``ok ...`` or ``FAIL ...``) and ``N passed, M failed`` at the
end; exits 1 if any check failed, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
import warnings
from collections.abc import Callable
from typing import Any, TypeAlias

import anyio
import mcp_types as types
from harness import CheckFailed, Run, expect, run_script, text_of
from mcp import Client, MCPDeprecationWarning, MCPError, StdioServerParameters
from mcp.client.session import ClientRequestContext
from mcp.client.sse import sse_client
from mcp_types import LOG_LEVEL_META_KEY

MODERN_VERSION = "2026-07-28"

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SAMPLED_TEXT = "This is a test response"
ELICITED = {"username": "testuser", "email": "test@example.com"}

# JSON-RPC codes for an unknown resource: 2025-11-25 specified -32002 ("Resource not
# found"); 2026-07-28 (SEP-2164) makes it -32602 with data.uri.
RESOURCE_NOT_FOUND = {"legacy": -32002, "modern": -32602}

# The everything tool logs three messages; notifications that precede a response on the
# wire are handed to callbacks by the SDK's dispatcher on their own tasks, so give them a
# moment to land before counting.
SETTLE_SECONDS = 0.3



class SseUrl(str):
    """The URL of an HTTP+SSE stream (``--sse``), as opposed to a Streamable HTTP one."""


# What to connect to: a URL (Streamable HTTP, or HTTP+SSE when an `SseUrl`) or a command
# line to spawn (stdio).
Target: TypeAlias = str | list[str]


def dump(model: Any) -> str:
    if hasattr(model, "model_dump_json"):
        return model.model_dump_json(by_alias=True, exclude_none=True)
    return json.dumps(model, default=str)


def decode(data: str, what: str) -> bytes:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as e:
        raise CheckFailed(f"{what} is not valid base64: {e}") from None


class Peer:
    """The client side's callbacks, and what reached them."""

    def __init__(self) -> None:
        self.logs: list[types.LoggingMessageNotificationParams] = []
        self.sampling_requests: list[tuple[ClientRequestContext, types.CreateMessageRequestParams]] = []
        self.elicitation_requests: list[tuple[ClientRequestContext, types.ElicitRequestParams]] = []

    async def on_log(self, params: types.LoggingMessageNotificationParams) -> None:
        self.logs.append(params)

    async def on_sampling(
        self, context: ClientRequestContext, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult:
        self.sampling_requests.append((context, params))
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text=SAMPLED_TEXT),
            model="test-model",
            stop_reason="endTurn",
        )

    async def on_elicitation(
        self, context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult:
        self.elicitation_requests.append((context, params))
        return types.ElicitResult(action="accept", content=dict(ELICITED))

    def client(self, target: Target, mode: str, **extra: Any) -> Client:
        server: Any
        if isinstance(target, SseUrl):
            server = sse_client(str(target))  # a fresh transport per connection
        elif isinstance(target, str):
            server = target
        else:
            server = StdioServerParameters(command=target[0], args=target[1:])
        return Client(
            server,
            mode=mode,
            sampling_callback=self.on_sampling,
            elicitation_callback=self.on_elicitation,
            logging_callback=self.on_log,
            **extra,
        )


async def settle(condition: Callable[[], bool]) -> None:
    """Waits up to SETTLE_SECONDS for `condition`, then for a short grace period."""
    with anyio.move_on_after(SETTLE_SECONDS):
        while not condition():
            await anyio.sleep(0.01)
    await anyio.sleep(0.05)


# --- resources ---------------------------------------------------------------------------


async def resource_checks(run: Run, client: Client, era: str) -> None:
    async def list_resources() -> None:
        result = await client.list_resources()
        uris = [str(r.uri) for r in result.resources]
        wanted = ["test://static-text", "test://static-binary", "test://watched-resource"]
        missing = [u for u in wanted if u not in uris]
        expect(not missing, f"resources/list lacks {missing}; listed: {uris}")
        for r in result.resources:
            expect(bool(r.name), f"resource {r.uri} has no name: {dump(r)}")

    await run.check(f"[{era}] resources/list", list_resources)

    async def read_text() -> None:
        result = await client.read_resource("test://static-text")
        expect(len(result.contents) == 1, f"expected one content item: {dump(result)}")
        item = result.contents[0]
        expect(isinstance(item, types.TextResourceContents), f"not text contents: {dump(item)}")
        assert isinstance(item, types.TextResourceContents)
        expect(str(item.uri) == "test://static-text", f"uri is {item.uri!r}")
        expect(item.mime_type == "text/plain", f"mimeType is {item.mime_type!r}")
        expect(
            item.text == "This is the content of the static text resource.",
            f"text is {item.text!r}",
        )

    await run.check(f"[{era}] resources/read test://static-text", read_text)

    async def read_binary() -> None:
        result = await client.read_resource("test://static-binary")
        expect(len(result.contents) == 1, f"expected one content item: {dump(result)}")
        item = result.contents[0]
        expect(isinstance(item, types.BlobResourceContents), f"not blob contents: {dump(item)}")
        assert isinstance(item, types.BlobResourceContents)
        expect(str(item.uri) == "test://static-binary", f"uri is {item.uri!r}")
        expect(item.mime_type == "image/png", f"mimeType is {item.mime_type!r}")
        png = decode(item.blob, "blob")
        expect(png.startswith(PNG_MAGIC), f"blob does not decode to a PNG: {png[:16]!r}")

    await run.check(f"[{era}] resources/read test://static-binary (blob is a PNG)", read_binary)

    async def templates() -> None:
        result = await client.list_resource_templates()
        listed = [t.uri_template for t in result.resource_templates]
        expect("test://template/{id}/data" in listed, f"resources/templates/list lacks the template: {listed}")

    await run.check(f"[{era}] resources/templates/list", templates)

    async def read_template() -> None:
        uri = "test://template/123/data"
        result = await client.read_resource(uri)
        expect(len(result.contents) >= 1, f"no contents: {dump(result)}")
        item = result.contents[0]
        expect(isinstance(item, types.TextResourceContents), f"not text contents: {dump(item)}")
        assert isinstance(item, types.TextResourceContents)
        expect(str(item.uri) == uri, f"uri is {item.uri!r}, expected {uri!r}")
        try:
            data = json.loads(item.text)
        except ValueError:
            raise CheckFailed(f"text is not JSON: {item.text!r}") from None
        expect("123" in item.text, f"text does not contain 123: {item.text!r}")
        expect(isinstance(data, dict) and data.get("id") == "123", f"JSON id is not '123': {item.text!r}")

    await run.check(f"[{era}] resources/read test://template/123/data", read_template)

    async def unknown() -> None:
        uri = "test://no-such-resource"
        try:
            result = await client.read_resource(uri, cache_mode="bypass")
        except MCPError as e:
            wanted = RESOURCE_NOT_FOUND[era]
            expect(e.code == wanted, f"reading {uri} gave error {e.code} {e.message!r}, expected {wanted}")
            if era == "modern":
                data = e.data if isinstance(e.data, dict) else {}
                expect(data.get("uri") == uri, f"-32602 data.uri is not {uri!r}: data={e.data!r}")
            return
        raise CheckFailed(f"reading {uri} did not fail: {dump(result)}")

    await run.check(f"[{era}] resources/read of an unknown URI fails ({RESOURCE_NOT_FOUND[era]})", unknown)


# --- prompts -------------------------------------------------------------------------------


async def prompt_checks(run: Run, client: Client, era: str) -> None:
    names = [
        "test_simple_prompt",
        "test_prompt_with_arguments",
        "test_prompt_with_embedded_resource",
        "test_prompt_with_image",
    ]

    async def list_prompts() -> None:
        result = await client.list_prompts()
        listed = {p.name: p for p in result.prompts}
        missing = [n for n in names if n not in listed]
        expect(not missing, f"prompts/list lacks {missing}; listed: {sorted(listed)}")
        for name in names:
            expect(bool(listed[name].description), f"prompt {name} has no description")
        args = {a.name: a for a in listed["test_prompt_with_arguments"].arguments or []}
        expect({"arg1", "arg2"} <= args.keys(), f"test_prompt_with_arguments arguments: {sorted(args)}")
        expect(
            args["arg1"].required is True and args["arg2"].required is True,
            f"arg1/arg2 are not both required: {dump(listed['test_prompt_with_arguments'])}",
        )

    await run.check(f"[{era}] prompts/list (4 prompts with descriptions)", list_prompts)

    async def simple() -> None:
        result = await client.get_prompt("test_simple_prompt")
        expect(len(result.messages) == 1, f"expected one message: {dump(result)}")
        message = result.messages[0]
        expect(message.role == "user", f"role is {message.role!r}")
        expect(
            isinstance(message.content, types.TextContent)
            and message.content.text == "This is a simple prompt for testing.",
            f"content is {dump(message.content)}",
        )

    await run.check(f"[{era}] prompts/get test_simple_prompt", simple)

    async def with_arguments() -> None:
        result = await client.get_prompt("test_prompt_with_arguments", {"arg1": "testValue1", "arg2": "testValue2"})
        texts = [m.content.text for m in result.messages if isinstance(m.content, types.TextContent)]
        wanted = "Prompt with arguments: arg1='testValue1', arg2='testValue2'"
        expect(texts == [wanted], f"messages are {dump(result)}, expected one text {wanted!r}")

    await run.check(f"[{era}] prompts/get test_prompt_with_arguments (arg1/arg2 echoed)", with_arguments)

    async def embedded() -> None:
        uri = "test://example-resource"
        result = await client.get_prompt("test_prompt_with_embedded_resource", {"resourceUri": uri})
        resources = [m.content for m in result.messages if isinstance(m.content, types.EmbeddedResource)]
        expect(len(resources) == 1, f"expected one embedded resource: {dump(result)}")
        inner = resources[0].resource
        expect(str(inner.uri) == uri, f"embedded uri is {inner.uri!r}, expected {uri!r}")
        expect(
            isinstance(inner, types.TextResourceContents) and bool(inner.text),
            f"embedded resource has no text: {dump(inner)}",
        )

    await run.check(f"[{era}] prompts/get test_prompt_with_embedded_resource", embedded)

    async def image() -> None:
        result = await client.get_prompt("test_prompt_with_image")
        images = [m.content for m in result.messages if isinstance(m.content, types.ImageContent)]
        expect(len(images) == 1, f"expected one image: {dump(result)}")
        expect(images[0].mime_type == "image/png", f"mimeType is {images[0].mime_type!r}")
        expect(decode(images[0].data, "image data").startswith(PNG_MAGIC), "image data is not a PNG")

    await run.check(f"[{era}] prompts/get test_prompt_with_image", image)

    async def missing_argument() -> None:
        try:
            result = await client.get_prompt("test_prompt_with_arguments", {"arg1": "only-one"})
        except MCPError as e:
            expect(e.code == -32602, f"missing arg2 gave error {e.code} {e.message!r}, expected -32602")
            detail = f"{e.message} {e.data or ''}"
            expect("arg2" in detail, f"the error does not name the missing argument arg2: {detail!r}")
            return
        raise CheckFailed(f"prompts/get without the required arg2 did not fail: {dump(result)}")

    await run.check(
        f"[{era}] prompts/get with a missing required argument fails (-32602 naming arg2)", missing_argument
    )


# --- completions ---------------------------------------------------------------------------


async def completion_checks(run: Run, client: Client, era: str) -> None:
    async def prompt_argument() -> None:
        ref = types.PromptReference(type="ref/prompt", name="test_prompt_with_arguments")
        result = await client.complete(ref, {"name": "arg1", "value": "te"})
        values = result.completion.values
        expect({"test", "testValue1"} <= set(values), f"completion values are {values}")

    await run.check(f"[{era}] completion/complete ref/prompt arg1='te'", prompt_argument)

    async def template_variable() -> None:
        ref = types.ResourceTemplateReference(type="ref/resource", uri="test://template/{id}/data")
        result = await client.complete(ref, {"name": "id", "value": "1"})
        values = result.completion.values
        expect({"1", "123"} <= set(values), f"completion values are {values}")

    await run.check(f"[{era}] completion/complete ref/resource id='1'", template_variable)


# --- progress and logging ------------------------------------------------------------------


async def progress_check(run: Run, client: Client, era: str) -> None:
    async def progress() -> None:
        seen: list[tuple[float, float | None, str | None]] = []

        async def on_progress(done: float, total: float | None, message: str | None) -> None:
            seen.append((done, total, message))

        result = await client.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
        expect(not result.is_error, f"the tool failed: {dump(result)}")
        await settle(lambda: len(seen) >= 3)
        expect(len(seen) >= 3, f"{len(seen)} progress notifications, expected at least 3: {seen}")
        values = [done for done, _, _ in seen]
        expect(values == sorted(values), f"progress values decrease: {values}")
        totals = {total for _, total, _ in seen}
        expect(totals == {100}, f"totals are {sorted(totals, key=str)}, expected 100")

    await run.check(f"[{era}] tools/call test_tool_with_progress (progress callback)", progress)


def log_texts(peer: Peer, since: int) -> list[str]:
    return [str(p.data) for p in peer.logs[since:]]


async def legacy_logging_check(run: Run, client: Client, peer: Peer) -> None:
    async def logging() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MCPDeprecationWarning)  # deprecated in 2026-07-28 only
            await client.set_logging_level("debug")
        before = len(peer.logs)
        result = await client.call_tool("test_tool_with_logging", {})
        expect(not result.is_error, f"the tool failed: {dump(result)}")
        await settle(lambda: len(peer.logs) - before >= 3)
        texts = log_texts(peer, before)
        expect(len(texts) >= 3, f"{len(texts)} log messages reached the logging callback, expected 3: {texts}")
        wanted = ["Tool execution started", "Tool processing data", "Tool execution completed"]
        expect(all(any(w in t for t in texts) for w in wanted), f"log messages are {texts}, expected {wanted}")

    await run.check("[legacy] logging/setLevel debug, then test_tool_with_logging logs 3 messages", logging)


async def modern_logging_checks(run: Run, client: Client, peer: Peer) -> None:
    async def call_logging(meta: dict[str, Any] | None) -> list[str]:
        before = len(peer.logs)
        result = await client.call_tool("test_tool_with_logging", {}, meta=meta)  # type: ignore[arg-type]
        expect(not result.is_error, f"the tool failed: {dump(result)}")
        await settle(lambda: len(peer.logs) - before >= 3)
        return log_texts(peer, before)

    async def no_opt_in() -> None:
        texts = await call_logging(None)
        expect(not texts, f"log messages arrived without {LOG_LEVEL_META_KEY}: {texts}")

    await run.check(f"[modern] test_tool_with_logging without {LOG_LEVEL_META_KEY} sends no logs", no_opt_in)

    async def opt_in() -> None:
        texts = await call_logging({LOG_LEVEL_META_KEY: "debug"})
        expect(len(texts) >= 3, f"{len(texts)} log messages with logLevel=debug, expected 3: {texts}")

    await run.check(f"[modern] test_tool_with_logging with {LOG_LEVEL_META_KEY}=debug sends 3 logs", opt_in)

    async def above_level() -> None:
        texts = await call_logging({LOG_LEVEL_META_KEY: "warning"})
        expect(not texts, f"info log messages arrived with logLevel=warning: {texts}")

    await run.check(f"[modern] {LOG_LEVEL_META_KEY}=warning filters out the info logs", above_level)


async def modern_client_log_level_check(run: Run, target: Target) -> None:
    """`Client(log_level=...)` stamps the opt-in on every request of a connection."""
    peer = Peer()
    client = peer.client(target, MODERN_VERSION, log_level="info")
    async with client:

        async def client_level() -> None:
            result = await client.call_tool("test_tool_with_logging", {})
            expect(not result.is_error, f"the tool failed: {dump(result)}")
            await settle(lambda: len(peer.logs) >= 3)
            texts = log_texts(peer, 0)
            expect(len(texts) >= 3, f"{len(texts)} log messages with Client(log_level='info'): {texts}")

        await run.check("[modern] Client(log_level='info') receives the 3 logs", client_level)


# --- tools ---------------------------------------------------------------------------------


async def tool_checks(run: Run, client: Client, era: str) -> None:
    async def simple_text() -> None:
        result = await client.call_tool("test_simple_text", {})
        expect(not result.is_error, f"failed: {dump(result)}")
        expect(
            text_of(result) == "This is a simple text response for testing.",
            f"text is {text_of(result)!r}",
        )

    await run.check(f"[{era}] tools/call test_simple_text", simple_text)

    async def image() -> None:
        result = await client.call_tool("test_image_content", {})
        images = [c for c in result.content if isinstance(c, types.ImageContent)]
        expect(len(images) == 1, f"expected one image: {dump(result)}")
        expect(images[0].mime_type == "image/png", f"mimeType is {images[0].mime_type!r}")
        expect(decode(images[0].data, "image data").startswith(PNG_MAGIC), "image data is not a PNG")

    await run.check(f"[{era}] tools/call test_image_content (image/png)", image)

    async def audio() -> None:
        result = await client.call_tool("test_audio_content", {})
        clips = [c for c in result.content if isinstance(c, types.AudioContent)]
        expect(len(clips) == 1, f"expected one audio clip: {dump(result)}")
        expect(clips[0].mime_type == "audio/wav", f"mimeType is {clips[0].mime_type!r}")
        wav = decode(clips[0].data, "audio data")
        expect(wav[:4] == b"RIFF" and wav[8:12] == b"WAVE", f"audio data is not a WAV: {wav[:12]!r}")

    await run.check(f"[{era}] tools/call test_audio_content (audio/wav)", audio)

    async def embedded() -> None:
        result = await client.call_tool("test_embedded_resource", {})
        resources = [c for c in result.content if isinstance(c, types.EmbeddedResource)]
        expect(len(resources) == 1, f"expected one embedded resource: {dump(result)}")
        inner = resources[0].resource
        expect(str(inner.uri) == "test://embedded-resource", f"uri is {inner.uri!r}")
        expect(inner.mime_type == "text/plain", f"mimeType is {inner.mime_type!r}")
        expect(
            isinstance(inner, types.TextResourceContents) and inner.text == "This is an embedded resource content.",
            f"resource is {dump(inner)}",
        )

    await run.check(f"[{era}] tools/call test_embedded_resource", embedded)

    async def mixed() -> None:
        result = await client.call_tool("test_multiple_content_types", {})
        kinds = [c.type for c in result.content]
        expect(kinds == ["text", "image", "resource"], f"content types are {kinds}, expected text, image, resource")
        resource = result.content[2]
        assert isinstance(resource, types.EmbeddedResource)
        inner = resource.resource
        expect(
            isinstance(inner, types.TextResourceContents) and json.loads(inner.text) == {"test": "data", "value": 123},
            f"resource is {dump(inner)}",
        )

    await run.check(f"[{era}] tools/call test_multiple_content_types", mixed)

    async def error_handling() -> None:
        try:
            result = await client.call_tool("test_error_handling", {})
        except MCPError as e:
            raise CheckFailed(f"a JSON-RPC error {e.code} {e.message!r} instead of a result with isError") from None
        expect(result.is_error is True, f"isError is not true: {dump(result)}")
        expect(
            text_of(result) == "This tool intentionally returns an error for testing",
            f"text is {text_of(result)!r}",
        )

    await run.check(f"[{era}] tools/call test_error_handling (isError, not an exception)", error_handling)


# --- sampling and elicitation --------------------------------------------------------------


async def interaction_checks(run: Run, client: Client, era: str, peer: Peer) -> None:
    if era == "modern":

        async def raw_input_required() -> None:
            # Driven by hand: the first answer must be an InputRequiredResult.
            first = await client.session.call_tool(
                "test_elicitation", {"message": "Please provide your information"}, allow_input_required=True
            )
            expect(isinstance(first, types.InputRequiredResult), f"not an InputRequiredResult: {dump(first)}")
            assert isinstance(first, types.InputRequiredResult)
            requests = first.input_requests or {}
            expect(len(requests) == 1, f"expected one input request: {dump(first)}")
            (request,) = requests.values()
            expect(
                isinstance(request, types.ElicitRequest),
                f"the input request is not elicitation/create: {dump(request)}",
            )

        await run.check("[modern] tools/call test_elicitation answers an InputRequiredResult", raw_input_required)

    async def elicitation() -> None:
        before = len(peer.elicitation_requests)
        result = await client.call_tool("test_elicitation", {"message": "Please provide your information"})
        expect(len(peer.elicitation_requests) - before == 1, "the elicitation callback did not run exactly once")
        context, params = peer.elicitation_requests[-1]
        expect(
            isinstance(params, types.ElicitRequestFormParams),
            f"not a form elicitation: {dump(params)}",
        )
        assert isinstance(params, types.ElicitRequestFormParams)
        expect(params.message == "Please provide your information", f"message is {params.message!r}")
        properties = dict(params.requested_schema.get("properties", {}))
        expect({"username", "email"} <= properties.keys(), f"requestedSchema is {params.requested_schema}")
        text = text_of(result)
        expect(not result.is_error, f"the tool failed: {dump(result)}")
        expect("action=accept" in text and "testuser" in text, f"result text is {text!r}")
        if era == "modern":
            # An MRTR input request is keyed by the server's string key, not a JSON-RPC id.
            expect(isinstance(context.request_id, str), f"request id {context.request_id!r} looks like a JSON-RPC id")

    how = "InputRequiredResult, retried by the SDK" if era == "modern" else "elicitation/create"
    await run.check(f"[{era}] tools/call test_elicitation round trip ({how})", elicitation)

    async def sampling() -> None:
        before = len(peer.sampling_requests)
        result = await client.call_tool("test_sampling", {"prompt": "hi"})
        expect(len(peer.sampling_requests) - before == 1, "the sampling callback did not run exactly once")
        _, params = peer.sampling_requests[-1]
        expect(params.max_tokens == 100, f"maxTokens is {params.max_tokens}")
        contents = [block for m in params.messages for block in m.content_as_list]
        expect(
            len(params.messages) == 1
            and params.messages[0].role == "user"
            and any(isinstance(c, types.TextContent) and c.text == "hi" for c in contents),
            f"messages are {[dump(m) for m in params.messages]}",
        )
        expect(not result.is_error, f"the tool failed: {dump(result)}")
        wanted = f"LLM response: {SAMPLED_TEXT}"
        expect(wanted in text_of(result), f"result text is {text_of(result)!r}, expected {wanted!r}")

    how = "InputRequiredResult, retried by the SDK" if era == "modern" else "sampling/createMessage"
    await run.check(f"[{era}] tools/call test_sampling round trip ({how})", sampling)


# --- the two eras --------------------------------------------------------------------------


async def legacy(run: Run, target: Target) -> None:
    peer = Peer()
    client = peer.client(target, "legacy")
    async with client:

        async def handshake() -> None:
            version = client.protocol_version
            expect(client.session.initialize_result is not None, "no InitializeResult after the handshake")
            caps = client.server_capabilities
            wanted = ("tools", "resources", "prompts", "logging", "completions")
            missing = [name for name in wanted if getattr(caps, name) is None]
            expect(not missing, f"InitializeResult capabilities lack {missing}: {dump(caps)}")
            info = client.server_info
            print(f"     negotiated {version} with {info.name if info else '?'}", flush=True)

        if not await run.check("[legacy] initialize handshake", handshake):
            return
        await resource_checks(run, client, "legacy")
        await prompt_checks(run, client, "legacy")
        await completion_checks(run, client, "legacy")
        await progress_check(run, client, "legacy")
        await legacy_logging_check(run, client, peer)
        await tool_checks(run, client, "legacy")
        await interaction_checks(run, client, "legacy", peer)


async def modern(run: Run, target: Target) -> None:
    peer = Peer()
    client = peer.client(target, MODERN_VERSION)
    async with client:

        async def discover() -> None:
            raw = await client.session.send_discover(MODERN_VERSION)
            result = types.DiscoverResult.model_validate(raw)
            expect(MODERN_VERSION in result.supported_versions, f"supportedVersions is {result.supported_versions}")
            caps = result.capabilities
            missing = [name for name in ("tools", "resources", "prompts", "completions") if getattr(caps, name) is None]
            expect(not missing, f"server/discover capabilities lack {missing}: {raw.get('capabilities')}")

        await run.check("[modern] server/discover", discover)
        await resource_checks(run, client, "modern")
        await prompt_checks(run, client, "modern")
        await completion_checks(run, client, "modern")
        await progress_check(run, client, "modern")
        await modern_logging_checks(run, client, peer)
        await tool_checks(run, client, "modern")
        await interaction_checks(run, client, "modern", peer)
    await modern_client_log_level_check(run, target)


USAGE = (
    "usage: everything_client.py --era legacy|modern [--timeout S] -- <server command...>\n"
    "       everything_client.py --era legacy|modern [--timeout S] --url URL\n"
    "       everything_client.py --era legacy|modern [--timeout S] --sse URL"
)


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, Target]:
    split = argv.index("--") if "--" in argv else len(argv)
    own, command = argv[:split], argv[split + 1 :]
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--era", choices=["legacy", "modern"], required=True)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds for the whole run (default 60)")
    parser.add_argument("--url", help="connect over Streamable HTTP to this URL instead of spawning a command")
    parser.add_argument("--sse", help="connect over HTTP+SSE (2024-11-05) to this stream URL instead")
    args = parser.parse_args(own)
    if args.url is not None or args.sse is not None:
        if "--" in argv or (args.url is not None and args.sse is not None):
            parser.error("give one of --url, --sse or a server command after --")
        return args, args.url if args.url is not None else SseUrl(args.sse)
    if "--" not in argv:
        print(USAGE, file=sys.stderr)
        sys.exit(2)
    if not command:
        parser.error("no server command after --")
    return args, command


def main() -> None:
    args, target = parse_args(sys.argv[1:])

    async def body(run: Run) -> None:
        await (legacy(run, target) if args.era == "legacy" else modern(run, target))

    shown = [target] if isinstance(target, str) else target
    run_script("Python SDK client vs everything", args.era, args.timeout, shown, body)


if __name__ == "__main__":
    main()
