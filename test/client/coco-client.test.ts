// Specification of CocoClient against real TLS servers on 127.0.0.1: it trusts only the service
// certificate, presents the client identity, keeps connections alive, turns CCF error bodies into
// CocoRequestError, follows 307/308 within a limit, and reports TLS, connection and timeout failures
// as CocoErrors with stable codes.

import assert from 'node:assert/strict';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { before, describe, it, type TestContext } from 'node:test';
import { fromUtf8, utf8 } from '../../src/crypto/bytes.js';
import { CONNECTIONS_PER_NODE_DEFAULT, CocoClient, type CocoClientOptions } from '../../src/client/coco-client.js';
import { CocoRequestError } from '../../src/client/request-error.js';
import { CocoError } from '../../src/errors.js';
import { GovernanceClient } from '../../src/client/governance-client.js';
import { certificateId } from '../../src/crypto/entity-id.js';
import { openssl, withTempFiles } from '../support/openssl.js';
import { until } from '../support/until.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ccfError,
  createIdentity,
  createService,
  reply,
  startServer,
  type Handler,
  type Identity,
  type ServerOptions,
  type ServiceIdentity,
  type TestServer,
} from './tls-fixture.js';

let service: ServiceIdentity;
let otherService: ServiceIdentity;
let member: Identity;
let stranger: Identity;

before(async () => {
  [service, otherService, member, stranger] = await Promise.all([
    createService(),
    createService(),
    createIdentity('member0'),
    createIdentity('stranger', 'P-256'),
  ]);
});

async function serve(t: TestContext, handler: Handler, options: ServerOptions & { of?: ServiceIdentity } = {}): Promise<TestServer> {
  const server = await startServer(options.of ?? service, handler, options);
  t.after(() => server.close());
  return server;
}

function connect(t: TestContext, server: TestServer, options: Partial<CocoClientOptions> = {}): CocoClient {
  const client = new CocoClient({ url: server.url, caCertPem: service.certPem, certPem: member.certPem, keyPem: member.keyPem, ...options });
  t.after(() => client.close());
  return client;
}

/** A loopback port nothing listens on: connections to it are refused. */
async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function rejectsWith(promise: Promise<unknown>, code: string, mentions?: RegExp): Promise<CocoError> {
  let caught: unknown;
  await assert.rejects(promise, (error: unknown) => {
    caught = error;
    return true;
  });
  assert.ok(caught instanceof CocoError, `expected a CocoError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (mentions !== undefined) assert.match(caught.message, mentions);
  return caught;
}

const ok: Handler = (_request, res) => reply(res, 200, { ok: true }, { 'x-ms-ccf-transaction-id': '2.15' });

/** An RSA-2048 self-signed certificate and its key, made by the openssl CLI (Coco issues none). */
function rsaIdentity(): { certPem: string; keyPem: string } {
  return withTempFiles({}, (dir) => {
    const made = openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '1', '-subj', '/CN=rsa user'], dir);
    assert.equal(made.status, 0, made.stderr);
    return { certPem: readFileSync(join(dir, 'cert.pem'), 'utf8'), keyPem: readFileSync(join(dir, 'key.pem'), 'utf8') };
  });
}

describe('CocoClient TLS', () => {
  it('presents the client certificate, which a server requiring client certificates sees', async (t) => {
    const server = await serve(t, ok, { requireClientCertFrom: [member.certPem] });
    const response = await connect(t, server).request('GET', '/app/commit');
    assert.equal(response.status, 200);
    assert.equal(server.requests[0]?.clientCertId, member.id);
  });

  it('presents an RSA client certificate too: a TLS identity signs no request (QA: the SDK refused RSA users)', async (t) => {
    const rsa = rsaIdentity();
    const server = await serve(t, ok, { requireClientCertFrom: [rsa.certPem] });
    const response = await connect(t, server, { certPem: rsa.certPem, keyPem: rsa.keyPem }).request('GET', '/app/commit');
    assert.equal(response.status, 200);
    assert.equal(server.requests[0]?.clientCertId, certificateId(rsa.certPem));
    assert.throws(() => new CocoClient({ url: server.url, caCertPem: service.certPem, certPem: rsa.certPem, keyPem: rsaIdentity().keyPem }), (e: unknown) => e instanceof CocoError && e.code === 'InvalidKey' && /is not the private key of certPem/.test(e.message));
    // A member signs every governance request: an RSA member is refused at once, saying why.
    const client = connect(t, server, { certPem: rsa.certPem, keyPem: rsa.keyPem });
    assert.throws(() => new GovernanceClient(client, { member: rsa }), (e: unknown) => e instanceof CocoError && e.code === 'InvalidKey' && /only ECDSA signatures on requests .* and this key is RSA/.test(e.message));
  });

  it('connects without a client identity where the server does not require one', async (t) => {
    const server = await serve(t, ok);
    const response = await connect(t, server, { certPem: undefined, keyPem: undefined }).request('GET', '/node/state');
    assert.equal(response.status, 200);
    assert.equal(server.requests[0]?.clientCertId, undefined);
  });

  it('fails with TlsError when a server requiring client certificates gets none', async (t) => {
    const server = await serve(t, ok, { requireClientCertFrom: [member.certPem] });
    const noIdentity = connect(t, server, { certPem: undefined, keyPem: undefined });
    await rejectsWith(noIdentity.request('GET', '/app/commit'), 'TlsError', /client certificate/);
    assert.equal(server.requests.length, 0);
  });

  it('fails with ConnectionLost when a TLS 1.3 server closes the connection over the client certificate', async (t) => {
    // TLS 1.3 completes the client's handshake first, so the request may have left: the client
    // cannot tell this from a node that failed while handling it.
    const server = await serve(t, ok, { requireClientCertFrom: [member.certPem] });
    const wrongIdentity = connect(t, server, { certPem: stranger.certPem, keyPem: stranger.keyPem });
    await rejectsWith(wrongIdentity.request('GET', '/app/commit'), 'ConnectionLost', /may have run/);
    assert.equal(server.requests.length, 0);
  });

  it('fails with ConnectionFailed, nothing sent, when the node closes the connection during the TLS handshake', async (t) => {
    const server = createNetServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise((resolve) => server.close(resolve)));
    const client = connect(t, { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}` } as TestServer);
    await rejectsWith(client.request('POST', '/app/log', { body: { id: 1 } }), 'ConnectionFailed', /during the TLS handshake .*nothing was sent\. Either the node refused the connection \(at its limit of open sessions, or too busy .* if it requires a client certificate, it refused this one: check certPem and keyPem$/);
  });

  it('fails with ConnectionLost, without the certificate hint, when the node closes the connection while it handles the request', async (t) => {
    const server = await serve(t, (_request, res) => void res.socket?.destroy());
    const error = await rejectsWith(connect(t, server).request('POST', '/app/log', { body: { id: 1 } }), 'ConnectionLost', /after the request was sent.*may have run/);
    assert.doesNotMatch(error.message, /certificate/);
    assert.equal(server.requests.length, 1);
  });

  it('fails with TlsError naming caCertPem when the node is not endorsed by the trusted service certificate', async (t) => {
    const server = await serve(t, ok, { of: otherService });
    const error = await rejectsWith(connect(t, server).request('GET', '/app/commit'), 'TlsError', /caCertPem/);
    assert.doesNotMatch(error.message, /\n\s+at /, 'a clear line, not a stack');
    assert.equal(server.requests.length, 0);
  });

  it('fails with TlsError saying the service certificate file is out of date, not the node certificate, when caCertPem is expired or not yet valid', async (t) => {
    const dayMs = 86_400_000;
    for (const [from, says] of [
      [new Date(Date.now() - 10 * dayMs), /expired on/],
      [new Date(Date.now() + 10 * dayMs), /valid only from/],
    ] as const) {
      const outOfDate = await createService(from);
      const server = await serve(t, ok, { of: outOfDate });
      const error = await rejectsWith(connect(t, server, { caCertPem: outOfDate.certPem }).request('GET', '/app/commit'), 'TlsError', /service certificate.*GET \/node\/network/);
      assert.match(error.message, says);
      assert.doesNotMatch(error.message, /renew the node certificates/);
    }
  });

  it('fails with TlsError when the node certificate does not name the host', async (t) => {
    const server = await serve(t, ok);
    const client = connect(t, server, { url: server.url.replace('127.0.0.1', 'localhost') });
    await rejectsWith(client.request('GET', '/app/commit'), 'TlsError', /does not name this host/);
  });

  it('fails with ConnectionFailed when nothing listens on the port', async (t) => {
    const server = await serve(t, ok);
    await server.close();
    await rejectsWith(connect(t, server).request('GET', '/app/commit'), 'ConnectionFailed', /ECONNREFUSED/);
  });

  it('reuses one kept-alive connection for consecutive requests', async (t) => {
    const server = await serve(t, ok);
    const client = connect(t, server);
    for (let i = 0; i < 3; i++) assert.equal((await client.request('GET', '/app/commit')).status, 200);
    assert.equal(server.requests.length, 3);
    assert.equal(server.connections, 1);
  });
});

describe('CocoClient options', () => {
  const cases: [string, () => Partial<CocoClientOptions>, string][] = [
    ['an http: URL', () => ({ url: 'http://127.0.0.1:8000' }), 'InvalidArgument'],
    ['a URL with a path', () => ({ url: 'https://127.0.0.1:8000/app' }), 'InvalidArgument'],
    ['text that is no URL', () => ({ url: 'node0:8000' }), 'InvalidArgument'],
    ['a CA that is not a certificate', () => ({ caCertPem: 'not a pem' }), 'InvalidCertificate'],
    ['a certificate without its key', () => ({ keyPem: undefined }), 'InvalidArgument'],
    ['a key that is not the certificate\'s', () => ({ keyPem: stranger.keyPem }), 'InvalidKey'],
    ['a zero request timeout', () => ({ requestTimeoutMs: 0 }), 'InvalidArgument'],
    ['a fractional redirect limit', () => ({ redirectsMax: 1.5 }), 'InvalidArgument'],
    ['no connections per node', () => ({ connectionsPerNode: 0 }), 'InvalidArgument'],
  ];
  for (const [what, options, code] of cases) {
    it(`rejects ${what} with ${code}`, () => {
      assert.throws(
        () => new CocoClient({ url: 'https://127.0.0.1:8000', caCertPem: service.certPem, certPem: member.certPem, keyPem: member.keyPem, ...options() }),
        (error: unknown) => error instanceof CocoError && error.code === code,
      );
    });
  }

  it('takes a URL without a port as HTTPS\'s 443, and names that port when the node cannot be reached', async (t) => {
    const client = new CocoClient({ url: 'https://127.0.0.1', caCertPem: service.certPem });
    t.after(() => client.close());
    assert.equal(client.url, 'https://127.0.0.1');
    // Nothing listens there, or not with this service's certificate: either way, the error says where it went.
    let caught: unknown;
    await assert.rejects(client.request('GET', '/node/state', { timeoutMs: 5_000 }), (error: unknown) => (caught = error) instanceof CocoError);
    assert.match((caught as CocoError).message, /\b127\.0\.0\.1:443\b/);
  });

  it('rejects a path that is not absolute, a header value with a line break, and requests after close', async (t) => {
    const server = await serve(t, ok);
    const client = connect(t, server);
    await rejectsWith(client.request('GET', 'app/commit'), 'InvalidArgument');
    await rejectsWith(client.request('GET', '//evil.example/app'), 'InvalidArgument');
    await rejectsWith(client.request('GET', '/app/commit', { headers: { 'x-split': 'a\r\nb' } }), 'InvalidArgument');
    client.close();
    await rejectsWith(client.request('GET', '/app/commit'), 'ClientClosed');
    assert.equal(server.requests.length, 0);
  });
});

describe('CocoClient requests and responses', () => {
  it('sends objects as JSON, strings as UTF-8 text and bytes as they are, with their content types', async (t) => {
    const server = await serve(t, ok);
    const client = connect(t, server);
    await client.request('POST', '/app/log?id=1', { body: { msg: 'héllo' } });
    await client.request('POST', '/app/log', { body: 'plain text' });
    await client.request('POST', '/app/raw', { body: Uint8Array.of(0, 255, 1), headers: { 'X-Custom': 'yes' } });
    await client.request('POST', '/gov/x', { body: Uint8Array.of(9), contentType: 'application/cose' });
    const [json, text, bytes, cose] = server.requests;
    assert.equal(json?.path, '/app/log?id=1');
    assert.equal(json?.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(fromUtf8(json?.body ?? new Uint8Array())), { msg: 'héllo' });
    assert.equal(text?.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(fromUtf8(text?.body ?? new Uint8Array()), 'plain text');
    assert.equal(bytes?.headers['content-type'], 'application/octet-stream');
    assert.equal(bytes?.headers['x-custom'], 'yes');
    assert.deepEqual(bytes?.body, Uint8Array.of(0, 255, 1));
    assert.equal(cose?.headers['content-type'], 'application/cose');
  });

  it('returns status, headers, body, text, JSON and the TxID of x-ms-ccf-transaction-id', async (t) => {
    const server = await serve(t, ok);
    const response = await connect(t, server).request('GET', '/app/commit');
    assert.equal(response.status, 200);
    assert.equal(response.headers['content-type'], 'application/json');
    assert.deepEqual(response.txId, { view: 2, seqno: 15 });
    assert.equal(response.text(), '{"ok":true}');
    assert.deepEqual(response.json(), { ok: true });
    assert.deepEqual(response.body, utf8('{"ok":true}'));
  });

  it('has no txId when the header is absent, and rejects a malformed one with InvalidResponse', async (t) => {
    const server = await serve(t, (request, res) =>
      request.path === '/bad' ? reply(res, 200, 'x', { 'x-ms-ccf-transaction-id': '2-15' }) : reply(res, 200, 'x'),
    );
    const client = connect(t, server);
    assert.equal((await client.request('GET', '/none')).txId, undefined);
    await rejectsWith(client.request('GET', '/bad'), 'InvalidResponse', /x-ms-ccf-transaction-id/);
  });

  it('reports a body that is not JSON, or not UTF-8, with InvalidResponse when read as such', async (t) => {
    const server = await serve(t, (request, res) => reply(res, 200, request.path === '/bytes' ? Uint8Array.of(0xff, 0xfe) : 'not json'));
    const client = connect(t, server);
    const text = await client.request('GET', '/text');
    assert.throws(() => text.json(), (error: unknown) => error instanceof CocoError && error.code === 'InvalidResponse');
    const bytes = await client.request('GET', '/bytes');
    assert.throws(() => bytes.text(), (error: unknown) => error instanceof CocoError && error.code === 'InvalidResponse');
  });

  it("throws CocoRequestError with CCF's code and message for an error body", async (t) => {
    const server = await serve(t, (_request, res) => ccfError(res, 404, 'ProposalNotFound', 'Could not find proposal abc.'));
    const error = await rejectsWith(connect(t, server).request('GET', '/gov/members/proposals/abc'), 'ProposalNotFound');
    assert.ok(error instanceof CocoRequestError);
    assert.equal(error.status, 404);
    assert.equal(error.serviceMessage, 'Could not find proposal abc.');
    assert.equal(error.method, 'GET');
    assert.equal(error.path, '/gov/members/proposals/abc');
    assert.match(error.message, /404 ProposalNotFound: Could not find proposal abc\./);
  });

  it('names other error bodies by x-ms-error-code or HttpError, with an excerpt of the body', async (t) => {
    const server = await serve(t, (request, res) =>
      request.path === '/coded' ? reply(res, 503, 'busy', { 'x-ms-error-code': 'ServiceUnavailable' }) : reply(res, 500, `${'x'.repeat(1000)}`),
    );
    const client = connect(t, server);
    const coded = await rejectsWith(client.request('GET', '/coded'), 'ServiceUnavailable');
    assert.equal((coded as CocoRequestError).serviceMessage, 'busy');
    const plain = await rejectsWith(client.request('GET', '/plain'), 'HttpError');
    assert.ok((plain as CocoRequestError).serviceMessage.length < 400);
  });

  it('returns error responses as they are with allowError', async (t) => {
    const server = await serve(t, (_request, res) => ccfError(res, 400, 'InvalidQueryParameterValue', 'bad id'));
    const response = await connect(t, server).request('GET', '/app/tx?transaction_id=x', { allowError: true });
    assert.equal(response.status, 400);
    assert.deepEqual(response.json(), { error: { code: 'InvalidQueryParameterValue', message: 'bad id' } });
  });

  it('fails with Timeout when the node does not answer in time, then serves the next request', async (t) => {
    const server = await serve(t, (request, res) => {
      if (request.path !== '/hang') ok(request, res);
    });
    const client = connect(t, server, { requestTimeoutMs: 100 });
    await rejectsWith(client.request('GET', '/hang'), 'Timeout');
    // The next request needs a new connection (the hung one is dropped): on a loaded machine its
    // TLS handshake alone can take longer than the 100 ms the hung request was given.
    assert.equal((await client.request('GET', '/fine', { timeoutMs: 10_000 })).status, 200);
  });

  it('fails with Timeout saying it could not connect, so the request was never sent, when no TLS handshake finishes in time', async (t) => {
    // Accepts the TCP connection and never answers the client's hello: a node too busy to handshake.
    const silent = createNetServer();
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    t.after(() => {
      silent.close();
      silent.unref();
    });
    const { port } = silent.address() as AddressInfo;
    const client = new CocoClient({ url: `https://127.0.0.1:${port}`, caCertPem: service.certPem, requestTimeoutMs: 300 });
    t.after(() => client.close());
    await rejectsWith(client.request('GET', '/app/commit'), 'Timeout', new RegExp(`^GET /app/commit: could not connect to 127\\.0\\.0\\.1:${port} within 300 ms .*so it was never sent`));
  });

  it('opens at most connectionsPerNode connections to a node; a request that waited for one until its timeout fails with Timeout saying it was never sent', async (t) => {
    const server = await serve(t, (request, res) => {
      if (request.path !== '/hang') ok(request, res);
    });
    const client = connect(t, server, { connectionsPerNode: 2, requestTimeoutMs: 10_000 });
    const hung = [client.request('GET', '/hang'), client.request('GET', '/hang')];
    await rejectsWith(client.request('GET', '/app/commit', { timeoutMs: 200 }), 'Timeout', /still waiting for one of the client's 2 connections .* never sent/);
    client.close();
    for (const request of hung) await rejectsWith(request, 'ClientClosed');
    assert.deepEqual(server.requests.map((request) => request.path), ['/hang', '/hang']);
    assert.equal(server.connections, 2);

    const wider = connect(t, server, { connectionsPerNode: 3 });
    void wider.request('GET', '/hang').catch(() => {});
    void wider.request('GET', '/hang').catch(() => {});
    assert.equal((await wider.request('GET', '/app/commit')).status, 200, 'served on a third connection');
  });

  it('sends other binary bodies as bytes, and refuses a body with no JSON form with InvalidArgument', async (t) => {
    const server = await serve(t, ok);
    const client = connect(t, server);
    await client.request('POST', '/bytes', { body: new Uint8Array([1, 2, 3, 4]).buffer });
    await client.request('POST', '/view', { body: new DataView(new Uint8Array([9, 5, 6, 9]).buffer, 1, 2) });
    assert.deepEqual(server.requests.map((request) => [...request.body]), [[1, 2, 3, 4], [5, 6]]);
    await rejectsWith(client.request('POST', '/big', { body: { id: 1n } }), 'InvalidArgument', /cannot be sent as JSON/);
    await rejectsWith(client.request('POST', '/fn', { body: () => 1 }), 'InvalidArgument', /no JSON form/);
    assert.equal(server.requests.length, 2, 'nothing sent for a body that cannot be');
  });

  it('fails with ClientClosed when closed while a request is under way', async (t) => {
    const server = await serve(t, (request, res) => {
      if (request.path !== '/hang') ok(request, res);
    });
    const client = connect(t, server);
    const pending = client.request('GET', '/hang');
    await until('the request to arrive', 5_000, async () => (server.requests.length > 0 ? true : undefined));
    client.close();
    await rejectsWith(pending, 'ClientClosed', /closed while the request was under way, after it was sent: it may have run$/);
  });

  it('ends every request with ClientClosed on close(), sends none of those waiting for a connection, and leaves no connection open', async (t) => {
    const server = await serve(t, () => {});
    const client = connect(t, server, { requestTimeoutMs: 10_000 });
    const pending = Array.from({ length: CONNECTIONS_PER_NODE_DEFAULT + 4 }, (_, id) => client.request('POST', '/app/log', { body: { id } }));
    await until('a request on every connection', 5_000, async () => (server.requests.length === CONNECTIONS_PER_NODE_DEFAULT ? true : undefined));
    client.close();
    // Each says whether it was sent, so that the caller knows which may have run (QA: all said the same).
    const failures = await Promise.all(pending.map((request) => request.then(() => undefined, (error: unknown) => error as CocoError)));
    assert.ok(failures.every((error) => error?.code === 'ClientClosed'));
    const said = (ending: string) => failures.filter((error) => error!.message.endsWith(ending)).length;
    assert.deepEqual([said('after it was sent: it may have run'), said('before it was sent: it did not run')], [CONNECTIONS_PER_NODE_DEFAULT, 4]);
    await until('every connection to close', 5_000, async () => (server.openConnections === 0 ? true : undefined));
    assert.equal(server.requests.length, CONNECTIONS_PER_NODE_DEFAULT, 'no request that waited for a connection was sent');
    assert.equal(server.connections, CONNECTIONS_PER_NODE_DEFAULT);
  });

  it('sends nothing more when closed while it waits to ask again during an election', async (t) => {
    let answered: () => void = () => {};
    const firstAnswer = new Promise<void>((resolve) => (answered = resolve));
    const server = await serve(t, (_request, res) => {
      res.on('finish', answered);
      ccfError(res, 503, 'NotPrimary', 'no primary yet');
    });
    const client = connect(t, server);
    const pending = client.request('POST', '/app/log', { body: { id: 1 } });
    await firstAnswer;
    // Within the client's wait before it asks again (ELECTION_RETRY_MS).
    await new Promise((resolve) => setTimeout(resolve, 50));
    client.close();
    await rejectsWith(pending, 'ClientClosed');
    assert.equal(server.requests.length, 1);
  });

  it('fails with ResponseTooLarge past the response size limit', async (t) => {
    const server = await serve(t, (_request, res) => reply(res, 200, new Uint8Array(4096)));
    await rejectsWith(connect(t, server, { responseBodyBytesMax: 1024 }).request('GET', '/node/snapshot'), 'ResponseTooLarge');
  });
});

describe('CocoClient redirects', () => {
  for (const status of [307, 308]) {
    it(`follows ${status} to another node of the service with the same method, body and client certificate`, async (t) => {
      const primary = await serve(t, ok);
      const backup = await serve(t, (request, res) => reply(res, status, undefined, { location: `${primary.url}${request.path}` }));
      const response = await connect(t, backup).request('POST', '/app/log?id=7', { body: { msg: 'redirected' } });
      assert.equal(response.status, 200);
      assert.deepEqual(response.txId, { view: 2, seqno: 15 });
      assert.equal(backup.requests.length, 1);
      const forwarded = primary.requests[0];
      assert.equal(forwarded?.method, 'POST');
      assert.equal(forwarded?.path, '/app/log?id=7');
      assert.deepEqual(JSON.parse(fromUtf8(forwarded?.body ?? new Uint8Array())), { msg: 'redirected' });
      assert.equal(forwarded?.clientCertId, member.id);
    });
  }

  it('follows a relative Location on the same node', async (t) => {
    const server = await serve(t, (request, res) => (request.path === '/old' ? reply(res, 307, undefined, { location: '/new' }) : ok(request, res)));
    await connect(t, server).request('GET', '/old');
    assert.deepEqual(server.requests.map((request) => request.path), ['/old', '/new']);
  });

  it('asks again while a backup knows no primary (503 NotPrimary), but not after other 503s', async (t) => {
    let calls = 0;
    const electing = await serve(t, (request, res) => (++calls <= 2 ? ccfError(res, 503, 'NotPrimary', 'no primary yet') : ok(request, res)));
    const response = await connect(t, electing).request('POST', '/app/log', { body: { msg: 'after the election' } });
    assert.equal(response.status, 200);
    assert.equal(electing.requests.length, 3);
    const busy = await serve(t, (_request, res) => ccfError(res, 503, 'TooManyPendingTransactions', 'busy'));
    await rejectsWith(connect(t, busy).request('POST', '/app/log', { body: {} }), 'TooManyPendingTransactions');
    assert.equal(busy.requests.length, 1);
  });

  it('asks the node again when the primary it redirected to has retired (503 NodeRetired), but answers a retired node of its own at once', async (t) => {
    const successor = await serve(t, ok);
    const retired = await serve(t, (_request, res) => ccfError(res, 503, 'NodeRetired', 'this node has retired from the service'));
    let calls = 0;
    // The backup still follows the primary that just handed over, then hears of its successor.
    const backup = await serve(t, (request, res) => reply(res, 307, undefined, { location: `${++calls === 1 ? retired.url : successor.url}${request.path}` }));
    const response = await connect(t, backup).request('POST', '/app/log', { body: { msg: 'after the handover' } });
    assert.equal(response.status, 200);
    assert.deepEqual([backup.requests.length, retired.requests.length, successor.requests.length], [2, 1, 1]);
    await rejectsWith(connect(t, retired).request('POST', '/app/log', { body: {} }), 'NodeRetired');
    assert.equal(retired.requests.length, 2, 'its own node retired: asked once');
  });

  it('with redirects off, answers the node\'s own 503 NotPrimary without asking again', async (t) => {
    const electing = await serve(t, (_request, res) => ccfError(res, 503, 'NotPrimary', 'no primary yet'));
    const response = await connect(t, electing, { redirectsMax: 0 }).request('POST', '/app/log', { body: {}, allowError: true });
    assert.equal(response.status, 503);
    assert.equal(electing.requests.length, 1);
  });

  it('asks again until its deadline while there is no primary, then answers 503 NotPrimary or says how often it asked', async (t) => {
    const electing = await serve(t, (_request, res) => ccfError(res, 503, 'NotPrimary', 'no primary yet'));
    await rejectsWith(connect(t, electing).request('POST', '/app/log', { body: {}, timeoutMs: 1_000 }), 'NotPrimary');
    assert.ok(electing.requests.length >= 2, `asked ${electing.requests.length} times`);
    // The answer that never comes after a few refusals: the timeout names the refusals before it.
    let calls = 0;
    const stalls = await serve(t, (_request, res) => (++calls <= 2 ? ccfError(res, 503, 'NotPrimary', 'no primary yet') : undefined));
    await rejectsWith(connect(t, stalls).request('POST', '/app/log', { body: {}, timeoutMs: 1_000 }), 'Timeout', /within 1000 ms \(asked 3 times while the service had no primary\)/);
  });

  it('with redirects off, hands back the redirect itself', async (t) => {
    const backup = await serve(t, (request, res) => reply(res, 307, undefined, { location: `https://127.0.0.1:1${request.path}` }));
    const client = connect(t, backup, { redirectsMax: 0 });
    const response = await client.request('POST', '/app/log', { body: {}, allowError: true });
    assert.deepEqual([response.status, response.headers.location], [307, 'https://127.0.0.1:1/app/log']);
    await rejectsWith(client.request('POST', '/app/log', { body: {} }), 'HttpError', /307/);
  });

  it('asks the node again while the primary it redirected to refuses connections (it died; another is being elected)', async (t) => {
    const primary = await serve(t, ok);
    const deadPort = await closedPort();
    let calls = 0;
    // The backup still names the dead primary twice, then the new one.
    const backup = await serve(t, (request, res) => reply(res, 307, undefined, { location: `${++calls <= 2 ? `https://127.0.0.1:${deadPort}` : primary.url}${request.path}` }));
    const response = await connect(t, backup).request('POST', '/app/log', { body: { msg: 'after the failover' }, timeoutMs: 5_000 });
    assert.equal(response.status, 200);
    assert.equal(backup.requests.length, 3);
    assert.equal(primary.requests.length, 1);
    // Until the deadline, then the failure names where the request was sent from.
    const stuck = await serve(t, (request, res) => reply(res, 307, undefined, { location: `https://127.0.0.1:${deadPort}${request.path}` }));
    await rejectsWith(connect(t, stuck).request('POST', '/app/log', { body: {}, timeoutMs: 3_000 }), 'ConnectionFailed', /had redirected the request there, and asked again until the deadline/);
    assert.ok(stuck.requests.length >= 2, `asked ${stuck.requests.length} times`);
  });

  it('asks the node again while the primary it redirected to resets connections during the handshake (it is being killed)', async (t) => {
    const primary = await serve(t, ok);
    // A process being killed: the kernel still accepts on its socket, then resets the connection.
    const dying = createNetServer((socket) => socket.resetAndDestroy());
    await new Promise<void>((resolve) => dying.listen(0, '127.0.0.1', resolve));
    t.after(() => dying.close());
    const dyingUrl = `https://127.0.0.1:${(dying.address() as AddressInfo).port}`;
    let calls = 0;
    const backup = await serve(t, (request, res) => reply(res, 307, undefined, { location: `${++calls <= 2 ? dyingUrl : primary.url}${request.path}` }));
    const response = await connect(t, backup).request('POST', '/app/log', { body: { msg: 'after the failover' }, timeoutMs: 5_000 });
    assert.equal(response.status, 200);
    assert.deepEqual([backup.requests.length, primary.requests.length], [3, 1]);
  });

  it('gives up with TooManyRedirects after the limit, with the last reason, and says when the nodes sent it round in a circle', async (t) => {
    const server = await serve(t, (request, res) => reply(res, 307, undefined, { location: request.path }));
    await rejectsWith(connect(t, server, { redirectsMax: 2 }).request('GET', '/loop'), 'TooManyRedirects', /2 redirects .*round in a circle: none of them can answer it$/);
    assert.equal(server.requests.length, 3);
    // Nodes that each send the request on to the next, as nodes started from snapshots do for an early ledger chunk.
    const circle = await serve(t, (request, res) => {
      res.setHeader('location', request.path);
      ccfError(res, 308, 'NodeCannotHandleRequest', `this node has no committed ledger chunk holding seqno 5, before the snapshot at seqno 40 it started from; redirecting to the next node`);
    });
    await rejectsWith(connect(t, circle, { redirectsMax: 3 }).request('GET', '/node/ledger-chunk?since=5'), 'TooManyRedirects', /: this node has no committed ledger chunk holding seqno 5, before the snapshot at seqno 40 .*\); the nodes sent it round in a circle/);
    // Somewhere new each time: the service may still be electing a primary.
    let hops = 0;
    const moving = await serve(t, (_request, res) => reply(res, 307, undefined, { location: `/hop${++hops}` }));
    await rejectsWith(connect(t, moving, { redirectsMax: 2 }).request('GET', '/hop0'), 'TooManyRedirects', /electing a primary\? retry later$/);
  });

  /** A backup's answer to app writes, as Coco's and CCF's: 307 NotPrimary to the primary at `primaryUrl()`. */
  function backupOf(primaryUrl: () => string): Handler {
    return (request, res) => {
      if (request.path.startsWith('/node/') || request.method === 'GET') return ok(request, res);
      res.setHeader('location', `${primaryUrl()}${request.path}`);
      ccfError(res, 307, 'NotPrimary', 'this node is a backup; send writes to the primary');
    };
  }

  it('after a backup redirected a write, sends later app and governance reads on every connection to that primary first; writes and node requests go to the configured node', async (t) => {
    const primary = await serve(t, ok);
    const backup = await serve(t, backupOf(() => primary.url));
    const client = connect(t, backup);
    await client.request('POST', '/app/log', { body: { msg: 'write' } });
    assert.deepEqual([backup.requests.length, primary.requests.length], [1, 1]);
    // Reads at once, on several connections: none is served stale by the backup.
    await Promise.all([1, 2, 3].map((id) => client.request('GET', `/app/log?id=${id}`)));
    await client.request('GET', '/gov/members/proposals/p1');
    // A write is never sent twice, so never first to a primary that may be gone: the backup redirects it.
    await client.request('POST', '/gov/members/proposals:create', { body: {} });
    assert.deepEqual(primary.requests.map((request) => request.path), ['/app/log', '/app/log?id=1', '/app/log?id=2', '/app/log?id=3', '/gov/members/proposals/p1', '/gov/members/proposals:create']);
    await client.request('GET', '/node/state');
    assert.deepEqual(backup.requests.map((request) => request.path), ['/app/log', '/gov/members/proposals:create', '/node/state']);
  });

  it("keeps the remembered primary when it sends a to_backup endpoint's request to a backup (307 NotBackup): it is still the primary", async (t) => {
    const backup = await serve(t, (request, res) => (request.method === 'GET' ? ok(request, res) : (res.setHeader('location', `${primary.url}${request.path}`), ccfError(res, 307, 'NotPrimary', 'a backup'))));
    const primary = await serve(t, (request, res) => {
      if (!request.path.startsWith('/app/on-backup')) return ok(request, res);
      res.setHeader('location', `${backup.url}${request.path}`);
      ccfError(res, 307, 'NotBackup', 'this endpoint is served by a backup');
    });
    const client = connect(t, backup);
    await client.request('POST', '/app/log', { body: {} });
    await client.request('GET', '/app/on-backup');
    await client.request('GET', '/app/log?id=1');
    assert.deepEqual(primary.requests.map((request) => request.path), ['/app/log', '/app/on-backup', '/app/log?id=1']);
    assert.deepEqual(backup.requests.map((request) => request.path), ['/app/log', '/app/on-backup']);
  });

  it('forgets a remembered primary that refuses connections, breaks them, answers 503 NotPrimary or redirects, and reads from the configured node', async (t) => {
    let secondAnswer: Handler = ok;
    let thirdAnswer: Handler = ok;
    const [first, second, third, fourth] = await Promise.all([
      serve(t, ok),
      serve(t, (request, res) => secondAnswer(request, res)),
      serve(t, (request, res) => thirdAnswer(request, res)),
      serve(t, ok),
    ]);
    let primaryUrl = first.url;
    const backup = await serve(t, backupOf(() => primaryUrl));
    const client = connect(t, backup);
    const paths = (server: TestServer) => server.requests.map((request) => request.path);
    await client.request('POST', '/app/log', { body: {} });
    // The primary died (its port refuses connections): the read goes to the configured node.
    await first.close();
    primaryUrl = second.url;
    await client.request('GET', '/app/log?id=1');
    await client.request('POST', '/app/log', { body: {} });
    await client.request('GET', '/app/log?id=2');
    assert.deepEqual(paths(backup), ['/app/log', '/app/log?id=1', '/app/log']);
    assert.deepEqual(paths(second), ['/app/log', '/app/log?id=2']);
    // That primary lost its role and knows no successor: the configured node answers the read at once.
    secondAnswer = (_request, res) => ccfError(res, 503, 'NotPrimary', 'no primary yet');
    primaryUrl = third.url;
    await client.request('GET', '/app/log?id=3');
    await client.request('POST', '/app/log', { body: {} });
    assert.deepEqual([paths(second).length, paths(backup).slice(3), paths(third)], [3, ['/app/log?id=3', '/app/log'], ['/app/log']]);
    // A remembered primary that became a backup redirects: the client follows, and remembers where.
    thirdAnswer = (request, res) => {
      res.setHeader('location', `${fourth.url}${request.path}`);
      ccfError(res, 307, 'NotPrimary', 'a backup now');
    };
    await client.request('GET', '/app/log?id=4');
    await client.request('GET', '/app/log?id=5');
    assert.deepEqual([paths(third).slice(1), paths(fourth)], [['/app/log?id=4'], ['/app/log?id=4', '/app/log?id=5']]);
    // One that breaks the connection after the read was sent (killed as it ran it): the configured node answers it.
    const flaky = await serve(t, (request, res) => (request.method === 'GET' ? void res.socket?.destroy() : ok(request, res)));
    const flakyBackup = await serve(t, backupOf(() => flaky.url));
    const viaFlaky = connect(t, flakyBackup);
    await viaFlaky.request('POST', '/app/log', { body: {} });
    assert.equal((await viaFlaky.request('GET', '/app/log?id=6')).status, 200);
    assert.ok(paths(flaky).includes('/app/log?id=6'), 'asked the remembered primary first');
    assert.deepEqual(paths(flakyBackup), ['/app/log', '/app/log?id=6']);
  });

  it('refuses a redirect to http: or without Location with InvalidRedirect', async (t) => {
    const server = await serve(t, (request, res) =>
      reply(res, 308, undefined, request.path === '/plain' ? { location: 'http://127.0.0.1:1/app' } : {}),
    );
    const client = connect(t, server);
    await rejectsWith(client.request('GET', '/plain'), 'InvalidRedirect', /http:/);
    await rejectsWith(client.request('GET', '/nowhere'), 'InvalidRedirect', /Location/);
  });

  it('does not follow a redirect to a node that the service did not endorse', async (t) => {
    const impostor = await serve(t, ok, { of: otherService });
    const backup = await serve(t, (request, res) => reply(res, 307, undefined, { location: `${impostor.url}${request.path}` }));
    await rejectsWith(connect(t, backup).request('POST', '/app/log', { body: { secret: 1 } }), 'TlsError');
    assert.equal(impostor.requests.length, 0);
  });
});

describe('CocoClient on kept-alive connections', () => {
  /**
   * A server that, once `closing()` is called, closes each connection it answered before as a
   * request arrives on it: what a node does to connections idle for its keep-alive timeout.
   */
  async function closingIdleConnections(t: TestContext): Promise<{ server: TestServer; closing: () => void }> {
    const used = new WeakSet<object>();
    let closeReused = false;
    const server = await serve(t, (request, res) => {
      const socket = res.socket!;
      if (closeReused && used.has(socket)) return void socket.destroy();
      used.add(socket);
      ok(request, res);
    });
    return { server, closing: () => (closeReused = true) };
  }

  it('sends a GET again, once, when the kept-alive connection it left on is closed before any answer; a POST fails', async (t) => {
    const { server, closing } = await closingIdleConnections(t);
    const client = connect(t, server);
    assert.equal((await client.request('GET', '/node/state')).status, 200);
    closing();
    assert.equal((await client.request('GET', '/node/state')).status, 200, 'sent again on a new connection');
    assert.equal(server.connections, 2);
    assert.equal(server.requests.length, 3, 'the first try reached the server too');
    await rejectsWith(client.request('POST', '/app/log', { body: { id: 1 } }), 'ConnectionLost', /may have run/);
    assert.equal(server.requests.length, 4, 'a POST is not sent again');
  });

  it('a GET whose node died while running it, sent again to a closed port, fails with ConnectionLost naming both failures: it may have run', async (t) => {
    let running = 0;
    const server: TestServer = await serve(t, (request, res) => {
      if (request.path === '/first') return ok(request, res);
      running += 1;
      // The node dies while it runs the request: its connections reset, its port closed.
      void server.close();
    });
    const client = connect(t, server);
    await client.request('GET', '/first');
    const error = await rejectsWith(client.request('GET', '/second'), 'ConnectionLost');
    assert.match(error.message, /kept-alive connection it was sent on broke before any answer \(ECONNRESET: .*\), and sending it again failed \(ConnectionFailed: .*ECONNREFUSED.*\); the request may have run/);
    assert.equal(running, 1, 'the node received the request before it died');
  });

  it('does not send the GET again on another kept-alive connection of those the node closed together', async (t) => {
    const { server, closing } = await closingIdleConnections(t);
    const client = connect(t, server);
    // Two requests at once leave two kept-alive connections; the node then closes both as idle.
    await Promise.all([client.request('GET', '/node/state'), client.request('GET', '/node/state')]);
    assert.equal(server.connections, 2);
    closing();
    assert.equal((await client.request('GET', '/node/state')).status, 200, 'sent again on a new connection');
    assert.equal(server.connections, 3);
  });
});
