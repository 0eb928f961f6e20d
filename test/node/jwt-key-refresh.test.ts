// The JWT key refresh's HTTPS fetch, against real local HTTPS servers: only the issuer's CA bundle is
// trusted, and anything but a small JSON answer with status 200 is refused with a reason.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fetchJson } from '../../src/node/jwt-key-refresh.js';
import { createService, reply, startServer, type ServiceIdentity, type TestServer } from '../client/tls-fixture.js';

let issuerCa: ServiceIdentity;
let otherCa: ServiceIdentity;
let server: TestServer;

before(async () => {
  [issuerCa, otherCa] = await Promise.all([createService(), createService()]);
  server = await startServer(issuerCa, (request, response) => {
    const path = request.url.pathname;
    if (path === '/config') return reply(response, 200, { jwks_uri: 'https://127.0.0.1/keys' });
    if (path === '/missing') return reply(response, 404, { error: 'no' });
    if (path === '/text') return reply(response, 200, 'not json');
    if (path === '/huge') return reply(response, 200, { padding: 'x'.repeat(2 * 1024 * 1024) });
    reply(response, 500);
  });
});

after(async () => {
  await server?.close();
});

test('fetchJson reads JSON from a server whose certificate the given CA bundle issued', async () => {
  assert.deepEqual(await fetchJson(`${server.url}/config`, issuerCa.certPem), { jwks_uri: 'https://127.0.0.1/keys' });
});

test('fetchJson refuses a server the bundle does not vouch for, http://, other statuses, non-JSON and oversized answers', async () => {
  await assert.rejects(fetchJson(`${server.url}/config`, otherCa.certPem), /certificate/i);
  await assert.rejects(fetchJson(`${server.url.replace('https:', 'http:')}/config`, issuerCa.certPem), /is not an https:\/\/ URL/);
  await assert.rejects(fetchJson(`${server.url}/missing`, issuerCa.certPem), /answered 404/);
  await assert.rejects(fetchJson(`${server.url}/text`, issuerCa.certPem), /did not answer JSON/);
  await assert.rejects(fetchJson(`${server.url}/huge`, issuerCa.certPem), /more than 1048576 bytes/);
});
