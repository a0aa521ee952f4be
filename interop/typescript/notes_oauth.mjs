// The official TypeScript SDK client, with an OAuthClientProvider, against oxmcp's
// `examples/notes --builtin-as --auto-approve alice`:
//
//     node notes_oauth.mjs http://127.0.0.1:PORT/mcp
//
// The transport meets the server's 401, discovers the authorization server (Protected
// Resource Metadata, then RFC 8414), registers the client (RFC 7591) and hands the
// authorization URL to `redirectToAuthorization`. The browser step is scripted: that URL
// is followed once (the auto-approving login redirects at once), and the `code` of the
// redirect goes to `transport.finishAuth`. Then `add_note` and `list_notes`.
// Prints one line per check and `N passed, M failed`; exits 1 on any failure.

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';

const url = process.argv[2];
if (!url) {
  console.error('usage: node notes_oauth.mjs URL');
  process.exit(2);
}
const REDIRECT_URI = 'http://127.0.0.1:1/callback';

let passed = 0;
let failed = 0;
function check(ok, what) {
  if (ok) {
    passed += 1;
    console.log(`ok   ${what}`);
  } else {
    failed += 1;
    console.log(`FAIL ${what}`);
  }
}

/** Keeps everything in memory; "opens" the authorization URL by following it once. */
class Provider {
  constructor() {
    this.visits = 0;
    this.code = undefined;
  }
  get redirectUrl() {
    return REDIRECT_URI;
  }
  get clientMetadata() {
    return {
      client_name: 'notes-typescript-interop',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      scope: 'notes:read notes:write',
    };
  }
  clientInformation() {
    return this.client;
  }
  saveClientInformation(client) {
    this.client = client;
  }
  tokens() {
    return this.savedTokens;
  }
  saveTokens(tokens) {
    this.savedTokens = tokens;
  }
  saveCodeVerifier(verifier) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
  async redirectToAuthorization(authorizationUrl) {
    this.visits += 1;
    const answer = await fetch(authorizationUrl, { redirect: 'manual' });
    const location = answer.headers.get('location') ?? '';
    if (answer.status !== 302 || !location.startsWith(REDIRECT_URI)) {
      throw new Error(`authorization answered ${answer.status} to ${location}: ${await answer.text()}`);
    }
    this.code = new URL(location).searchParams.get('code');
  }
}

const provider = new Provider();
let client = new Client({ name: 'notes-typescript-interop', version: '0.0.0' });
let transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider });
try {
  await client.connect(transport);
  check(false, 'the first connection meets a 401');
} catch (error) {
  check(error instanceof UnauthorizedError, `the first connection meets a 401 (${error})`);
  await transport.finishAuth(provider.code);
  client = new Client({ name: 'notes-typescript-interop', version: '0.0.0' });
  transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider });
  await client.connect(transport);
}
check(provider.visits === 1, `one authorization (visits: ${provider.visits})`);
check(provider.client?.client_id !== undefined, 'registered dynamically');
const added = await client.callTool({ name: 'add_note', arguments: { text: 'from typescript' } });
const addedText = added.content?.[0]?.text ?? '';
check(!added.isError && addedText.startsWith('added note'), `add_note: ${JSON.stringify(addedText)}`);
const listed = await client.callTool({ name: 'list_notes', arguments: {} });
const listedText = listed.content?.[0]?.text ?? '';
check(listedText.includes('from typescript (alice)'), `list_notes names alice: ${JSON.stringify(listedText)}`);
await client.close();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
