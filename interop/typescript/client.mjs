// Drive oxmcp's `examples/everything` server with the official MCP TypeScript SDK client
// (`@modelcontextprotocol/sdk`, pinned in package.json) over Streamable HTTP, or over the
// HTTP+SSE transport of 2024-11-05 (`SSEClientTransport`) or WebSocket
// (`WebSocketClientTransport`, subprotocol `mcp`, Node's global WebSocket, or the `ws`
// package's where Node has none: Node 20 keeps it behind --experimental-websocket).
//
// Usage:
//     node client.mjs http://127.0.0.1:PORT/mcp [--timeout SECONDS]
//     node client.mjs --transport sse http://127.0.0.1:PORT/sse
//     node client.mjs --transport websocket ws://127.0.0.1:PORT/ws
//
// The server is started separately (`everything --http 127.0.0.1:PORT`). The TS SDK 1.x
// speaks the handshake era only (its SUPPORTED_PROTOCOL_VERSIONS end at 2025-11-25; it has
// no `server/discover` nor the 2026-07-28 `_meta` envelope), so this is a legacy session:
// `initialize`, then `Mcp-Session-Id` on every POST.
//
// Prints one line per check (`ok ...` or `FAIL ...`) and `N passed, M failed` at the end;
// exits 1 if any check failed, 2 on bad usage. With OXMCP_INTEROP_TRACE=1 every JSON-RPC
// message sent and received is printed to stderr.

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { WebSocketClientTransport } from '@modelcontextprotocol/sdk/client/websocket.js';
import { WebSocket as WsWebSocket } from 'ws';
import {
    CreateMessageRequestSchema,
    ElicitRequestSchema,
    LATEST_PROTOCOL_VERSION,
    LoggingMessageNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';

const ELICITED = { username: 'testuser', email: 'test@example.com' };
const SAMPLED_TEXT = 'This is a test response';

function usage() {
    console.error('usage: node client.mjs [--transport streamable-http|sse|websocket] URL [--timeout SECONDS]');
    process.exit(2);
}

const argv = process.argv.slice(2);
let url;
let timeoutSeconds = 60;
let kind = 'streamable-http';
for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--transport') {
        kind = argv[++i];
        if (!['streamable-http', 'sse', 'websocket'].includes(kind)) usage();
    } else if (argv[i] === '--timeout') {
        timeoutSeconds = Number(argv[++i]);
        if (!(timeoutSeconds > 0)) usage();
    } else if (url === undefined && !argv[i].startsWith('-')) {
        url = argv[i];
    } else {
        usage();
    }
}
if (url === undefined) usage();

class CheckFailed extends Error {}

function expect(condition, message) {
    if (!condition) throw new CheckFailed(message);
}

const dump = (value) => JSON.stringify(value);
const textOf = (result) =>
    (result.content ?? [])
        .filter((c) => c.type === 'text')
        .map((c) => c.text)
        .join('');

let passed = 0;
let failed = 0;

async function check(name, body) {
    try {
        await body();
    } catch (e) {
        failed++;
        if (e instanceof CheckFailed) {
            console.log(`FAIL ${name}: ${e.message}`);
        } else {
            const code = e && e.code !== undefined ? ` (code ${e.code}, data ${dump(e.data)})` : '';
            console.log(`FAIL ${name}: ${e && e.name}: ${e && e.message}${code}`);
            if (e && e.stack) console.error(e.stack);
        }
        return false;
    }
    passed++;
    console.log(`ok   ${name}`);
    return true;
}

// Notifications that precede a response on the wire may be handled after it resolves.
async function settle(condition, ms = 300) {
    const deadline = Date.now() + ms;
    while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50));
}

const elicitations = [];
const samplings = [];
const logs = [];

const client = new Client(
    { name: 'oxmcp-interop-typescript', version: '1.0.0' },
    { capabilities: { elicitation: { form: {} }, sampling: {} } },
);
client.setRequestHandler(ElicitRequestSchema, async (request) => {
    elicitations.push(request.params);
    return { action: 'accept', content: { ...ELICITED } };
});
client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
    samplings.push(request.params);
    return {
        role: 'assistant',
        content: { type: 'text', text: SAMPLED_TEXT },
        model: 'test-model',
        stopReason: 'endTurn',
    };
});
client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
    logs.push(notification.params);
});
// The SDK dispatches a response at once but a notification a microtask later, so a
// progress notification that arrives in the same chunk as its response (adjacent on an
// HTTP+SSE stream) finds its handler retired and is reported here instead of to
// `onprogress` (typescript-sdk issue #2580, "a race servers cannot avoid"). Such late
// notifications still prove the server sent them, in order, before the response.
const lateProgress = [];
const LATE = 'Received a progress notification for an unknown token: ';
client.onerror = (error) => {
    const message = String(error?.message ?? error);
    if (message.startsWith(LATE)) {
        lateProgress.push(JSON.parse(message.slice(LATE.length)).params);
    } else {
        console.error(`client error: ${message}`);
    }
};

// The SDK's WebSocketClientTransport calls the global `WebSocket` (browser API); `ws`
// has the same interface.
globalThis.WebSocket ??= WsWebSocket;

const streamable = kind === 'streamable-http';
const transportName = { 'streamable-http': 'Streamable HTTP', sse: 'HTTP+SSE', websocket: 'WebSocket' }[kind];
const transport = streamable
    ? new StreamableHTTPClientTransport(new URL(url))
    : kind === 'sse'
      ? new SSEClientTransport(new URL(url))
      : new WebSocketClientTransport(new URL(url));
if (process.env.OXMCP_INTEROP_TRACE) {
    const send = transport.send.bind(transport);
    transport.send = (message, options) => {
        console.error(`--> ${dump(message)}`);
        return send(message, options);
    };
    // Client.connect installs transport.onmessage; wrap it once it is set.
    const start = transport.start.bind(transport);
    transport.start = async () => {
        const onmessage = transport.onmessage;
        transport.onmessage = (message, extra) => {
            console.error(`<-- ${dump(message)}`);
            onmessage?.(message, extra);
        };
        return start();
    };
}

async function run() {
    const connected = await check(`[legacy] connect (initialize over ${transportName})`, async () => {
        await client.connect(transport);
        const caps = client.getServerCapabilities() ?? {};
        const missing = ['tools', 'resources', 'prompts', 'completions', 'logging'].filter((k) => caps[k] === undefined);
        expect(missing.length === 0, `server capabilities lack ${missing}: ${dump(caps)}`);
        const info = client.getServerVersion();
        if (!streamable) {
            console.log(`     offered ${LATEST_PROTOCOL_VERSION} to ${info?.name} over ${transportName}`);
            return;
        }
        expect(transport.sessionId, 'the server gave no Mcp-Session-Id');
        console.log(
            `     offered ${LATEST_PROTOCOL_VERSION}, negotiated ${transport.protocolVersion} with ${info?.name}, session ${transport.sessionId}`,
        );
        expect(transport.protocolVersion === LATEST_PROTOCOL_VERSION, `negotiated ${transport.protocolVersion}`);
    });
    if (!connected) return;

    await check('[legacy] tools/list', async () => {
        const { tools } = await client.listTools();
        const names = tools.map((t) => t.name);
        const wanted = [
            'test_simple_text',
            'test_tool_with_progress',
            'test_error_handling',
            'test_elicitation',
            'test_sampling',
        ];
        const missing = wanted.filter((n) => !names.includes(n));
        expect(missing.length === 0, `tools/list lacks ${missing}; listed: ${names}`);
        for (const t of tools) expect(t.inputSchema?.type === 'object', `tool ${t.name} inputSchema: ${dump(t.inputSchema)}`);
    });

    await check('[legacy] resources/list', async () => {
        const { resources } = await client.listResources();
        const uris = resources.map((r) => r.uri);
        const wanted = ['test://static-text', 'test://static-binary', 'test://watched-resource'];
        const missing = wanted.filter((u) => !uris.includes(u));
        expect(missing.length === 0, `resources/list lacks ${missing}; listed: ${uris}`);
    });

    await check('[legacy] resources/templates/list', async () => {
        const { resourceTemplates } = await client.listResourceTemplates();
        const listed = resourceTemplates.map((t) => t.uriTemplate);
        expect(listed.includes('test://template/{id}/data'), `templates: ${listed}`);
    });

    await check('[legacy] prompts/list', async () => {
        const { prompts } = await client.listPrompts();
        const names = prompts.map((p) => p.name);
        const wanted = [
            'test_simple_prompt',
            'test_prompt_with_arguments',
            'test_prompt_with_embedded_resource',
            'test_prompt_with_image',
        ];
        const missing = wanted.filter((n) => !names.includes(n));
        expect(missing.length === 0, `prompts/list lacks ${missing}; listed: ${names}`);
    });

    await check('[legacy] tools/call test_simple_text', async () => {
        const result = await client.callTool({ name: 'test_simple_text', arguments: {} });
        expect(!result.isError, `failed: ${dump(result)}`);
        expect(textOf(result) === 'This is a simple text response for testing.', `text is ${dump(textOf(result))}`);
    });

    await check('[legacy] tools/call test_tool_with_progress (onprogress, >= 3 notifications)', async () => {
        const seen = [];
        lateProgress.length = 0;
        const result = await client.callTool({ name: 'test_tool_with_progress', arguments: {} }, undefined, {
            onprogress: (p) => seen.push(p),
        });
        expect(!result.isError, `the tool failed: ${dump(result)}`);
        await settle(() => seen.length + lateProgress.length >= 3);
        // Those the SDK reported late (see `lateProgress`) came after the ones it delivered.
        seen.push(...lateProgress.map(({ progressToken, ...p }) => p));
        expect(seen.length >= 3, `${seen.length} progress notifications, expected at least 3: ${dump(seen)}`);
        const values = seen.map((p) => p.progress);
        expect(
            values.every((v, i) => i === 0 || v >= values[i - 1]),
            `progress values decrease: ${values}`,
        );
        expect(
            seen.every((p) => p.total === 100),
            `totals are ${seen.map((p) => p.total)}, expected 100`,
        );
    });

    await check('[legacy] tools/call test_error_handling (isError, not a JSON-RPC error)', async () => {
        const result = await client.callTool({ name: 'test_error_handling', arguments: {} });
        expect(result.isError === true, `isError is not true: ${dump(result)}`);
        expect(
            textOf(result) === 'This tool intentionally returns an error for testing',
            `text is ${dump(textOf(result))}`,
        );
    });

    await check('[legacy] resources/read test://static-text', async () => {
        const { contents } = await client.readResource({ uri: 'test://static-text' });
        expect(contents.length === 1, `expected one content item: ${dump(contents)}`);
        const [item] = contents;
        expect(item.uri === 'test://static-text', `uri is ${item.uri}`);
        expect(item.mimeType === 'text/plain', `mimeType is ${item.mimeType}`);
        expect(item.text === 'This is the content of the static text resource.', `text is ${dump(item.text)}`);
    });

    await check('[legacy] prompts/get test_prompt_with_arguments', async () => {
        const result = await client.getPrompt({
            name: 'test_prompt_with_arguments',
            arguments: { arg1: 'testValue1', arg2: 'testValue2' },
        });
        const texts = result.messages.filter((m) => m.content.type === 'text').map((m) => m.content.text);
        const wanted = "Prompt with arguments: arg1='testValue1', arg2='testValue2'";
        expect(texts.length === 1 && texts[0] === wanted, `messages are ${dump(result.messages)}`);
    });

    await check("[legacy] completion/complete ref/prompt arg1='te'", async () => {
        const result = await client.complete({
            ref: { type: 'ref/prompt', name: 'test_prompt_with_arguments' },
            argument: { name: 'arg1', value: 'te' },
        });
        const values = result.completion.values;
        expect(values.includes('test') && values.includes('testValue1'), `completion values are ${dump(values)}`);
    });

    await check('[legacy] tools/call test_elicitation round trip (elicitation/create)', async () => {
        const before = elicitations.length;
        const result = await client.callTool({
            name: 'test_elicitation',
            arguments: { message: 'Please provide your information' },
        });
        expect(elicitations.length - before === 1, 'the elicitation handler did not run exactly once');
        const params = elicitations[elicitations.length - 1];
        expect(params.message === 'Please provide your information', `message is ${dump(params.message)}`);
        const properties = Object.keys(params.requestedSchema?.properties ?? {});
        expect(
            properties.includes('username') && properties.includes('email'),
            `requestedSchema is ${dump(params.requestedSchema)}`,
        );
        expect(!result.isError, `the tool failed: ${dump(result)}`);
        const text = textOf(result);
        expect(text.includes('action=accept') && text.includes('testuser'), `result text is ${dump(text)}`);
    });

    await check('[legacy] tools/call test_sampling round trip (sampling/createMessage)', async () => {
        const before = samplings.length;
        const result = await client.callTool({ name: 'test_sampling', arguments: { prompt: 'hi' } });
        expect(samplings.length - before === 1, 'the sampling handler did not run exactly once');
        expect(!result.isError, `the tool failed: ${dump(result)}`);
        const wanted = `LLM response: ${SAMPLED_TEXT}`;
        expect(textOf(result).includes(wanted), `result text is ${dump(textOf(result))}, expected ${dump(wanted)}`);
    });

    await check('[legacy] logging/setLevel debug, then test_tool_with_logging logs 3 messages', async () => {
        await client.setLoggingLevel('debug');
        const before = logs.length;
        const result = await client.callTool({ name: 'test_tool_with_logging', arguments: {} });
        expect(!result.isError, `the tool failed: ${dump(result)}`);
        await settle(() => logs.length - before >= 3);
        const texts = logs.slice(before).map((p) => (typeof p.data === 'string' ? p.data : dump(p.data)));
        expect(texts.length >= 3, `${texts.length} log messages, expected 3: ${dump(texts)}`);
    });

    if (!streamable) {
        await check(`[legacy] close the ${transportName} connection`, async () => {
            await client.close();
        });
        return;
    }
    await check('[legacy] close (DELETE ends the session; the old session id then gets 404)', async () => {
        const session = transport.sessionId;
        await transport.terminateSession();
        await client.close();
        const response = await fetch(url, {
            method: 'POST',
            headers: {
                'content-type': 'application/json',
                accept: 'application/json, text/event-stream',
                'mcp-session-id': session,
                'mcp-protocol-version': LATEST_PROTOCOL_VERSION,
            },
            body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
        });
        const body = await response.text();
        expect(response.status === 404, `POST with the terminated session id: HTTP ${response.status} ${body}`);
    });
}

console.log(`interop: TypeScript SDK client vs everything, ${transportName}, server: ${url}`);
let timer;
const timedOut = new Promise((resolve) => {
    timer = setTimeout(() => resolve(true), timeoutSeconds * 1000);
});
try {
    const outcome = await Promise.race([run().then(() => false), timedOut]);
    if (outcome) {
        failed++;
        console.log(`FAIL the run did not finish within ${timeoutSeconds} seconds`);
    }
} catch (e) {
    failed++;
    console.log(`FAIL connection to ${url}: ${e && e.name}: ${e && e.message}`);
}
clearTimeout(timer);
if (passed === 0 && failed === 0) {
    failed = 1;
    console.log('FAIL no check ran');
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
