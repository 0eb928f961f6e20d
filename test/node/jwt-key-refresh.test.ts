// The JWT key refresh: its HTTPS fetch against real local HTTPS servers (only the issuer's CA bundle
// is trusted; anything but a small JSON answer with status 200 is refused with a reason), and what it
// writes on a real in-process node (the end-to-end test fetches from a real issuer).

import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { after, before, describe, it, test, type TestContext } from 'node:test';
import { fromUtf8, utf8 } from '../../src/crypto/bytes.js';
import { generateKeyPair } from '../../src/crypto/signing.js';
import { decodeJson, encodeJson, Tables } from '../../src/governance/builtin-tables.js';
import { jwksPublicKeys, type JwtKeyMetadata } from '../../src/governance/gov-effects.js';
import type { Transaction } from '../../src/kv/transaction.js';
import { fetchJson, JwtKeyRefresh } from '../../src/node/jwt-key-refresh.js';
import { startInProcessNode, type InProcessNode } from '../support/in-process-node.js';
import { rsaCertificate } from '../support/idp-certificate.js';
import { createService, reply, startServer, type ServiceIdentity, type TestServer } from '../client/tls-fixture.js';

/** The keys `issuer` has, by kid. */
function issuerPublicKeys(tx: Transaction, issuer: string): Map<string, JwtKeyMetadata> {
  const found = new Map<string, JwtKeyMetadata>();
  tx.map(Tables.jwtPublicSigningKeysMetadata).forEach((value, key) => {
    const entry = decodeJson<JwtKeyMetadata[]>(value, Tables.jwtPublicSigningKeysMetadata).find((e) => e.issuer === issuer);
    if (entry !== undefined) found.set(fromUtf8(key), entry);
  });
  return found;
}

const DRIP_INTERVAL_MS = 50;
const FAST_JWK = { ...createPublicKey(generateKeyPair('P-256').publicKeyPem).export({ format: 'jwk' }), kid: 'fast' };

function drip(response: ServerResponse): void {
  response.writeHead(200, { 'content-type': 'application/json' });
  response.write('{');
  const timer = setInterval(() => response.write(' '), DRIP_INTERVAL_MS);
  response.on('close', () => clearInterval(timer));
}

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
    // A slow identity provider: its answer never ends, one byte at a time.
    if (path === '/drip' || path.startsWith('/slow/')) return drip(response);
    if (path === '/cut') {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      return void response.write('{"keys": [', () => response.socket?.destroy());
    }
    if (path === '/fast/.well-known/openid-configuration') return reply(response, 200, { jwks_uri: `${server.url}/fast/keys` });
    if (path === '/fast/keys') return reply(response, 200, { keys: [FAST_JWK] });
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

test('fetchJson gives up on an answer not complete by its deadline, however steadily it drips, and says so', { timeout: 30_000 }, async () => {
  await assert.rejects(fetchJson(`${server.url}/drip`, issuerCa.certPem, undefined, 500), /^CocoError: GET https:\/\/127\.0\.0\.1:\d+\/drip failed: no complete answer within 0\.5 s$/);
});

test('fetchJson says the fetch failed when the connection closes mid-answer, and gives up at once when its signal aborts', { timeout: 30_000 }, async () => {
  await assert.rejects(fetchJson(`${server.url}/cut`, issuerCa.certPem), /GET https:\/\/127\.0\.0\.1:\d+\/cut failed: the connection closed before the answer was complete/);
  const stopping = new AbortController();
  const fetching = fetchJson(`${server.url}/drip`, issuerCa.certPem, stopping.signal);
  stopping.abort();
  await assert.rejects(fetching, /\/drip failed: the node is stopping/);
});

describe('JwtKeyRefresh on a node', () => {
  const ISSUER = 'https://issuer.example';
  const keyPair = generateKeyPair('P-256');
  const jwk = { ...createPublicKey(keyPair.publicKeyPem).export({ format: 'jwk' }), kid: 'k1' };

  function withIssuer(): InProcessNode {
    const instance = startInProcessNode();
    instance.node.execute((tx) => {
      tx.map(Tables.caCertBundles).set(utf8('roots'), encodeJson('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'));
      tx.map(Tables.jwtIssuers).set(utf8(ISSUER), encodeJson({ auto_refresh: true, ca_cert_bundle_name: 'roots' }));
      return { result: undefined, applyWrites: true };
    });
    return instance;
  }

  /** A fetch that serves a discovery document (naming `configured` as its issuer, if given) and then `keys`, as an issuer would. */
  const serving = (keys: unknown, configured?: string) => async (url: string) =>
    url.endsWith('/.well-known/openid-configuration') ? { jwks_uri: `${ISSUER}/keys`, ...(configured !== undefined && { issuer: configured }) } : keys;

  /**
   * A node with the issuer and a refresh fetching from an issuer that serves `served.keys` (which a
   * test changes between refreshes), its log lines in `logs`.
   */
  function refreshing(t: TestContext, keys: unknown) {
    const instance = withIssuer();
    t.after(() => instance.close());
    const logs: string[] = [];
    const served = { keys };
    const refresh = new JwtKeyRefresh(instance.node, 60_000, (_, line) => logs.push(line), (url) => serving(served.keys)(url));
    /** The issuer's keys as stored now. */
    const stored = () => instance.node.execute((tx) => ({ result: issuerPublicKeys(tx, ISSUER), applyWrites: false })).result;
    return { instance, logs, served, refresh, stored };
  }

  it('stores the keys once, writes nothing when they have not changed, and keeps them when a key set is unusable', async (t) => {
    const { instance, logs, served, refresh, stored } = refreshing(t, { keys: [jwk] });
    await refresh.refreshOnce();
    assert.deepEqual([...stored().keys()], ['k1']);
    const written = instance.node.lastTxId.seqno;
    await refresh.refreshOnce();
    assert.equal(instance.node.lastTxId.seqno, written, 'unchanged keys: no transaction');
    served.keys = { keys: [jwk, jwk] };
    await refresh.refreshOnce();
    assert.deepEqual(refresh.metrics, { attempts: 3, successes: 2, failures: 1 });
    assert.match(logs.at(-1)!, /kid "k1" appears twice/);
    assert.deepEqual([...stored().keys()], ['k1']);
    // An issuer that serves no keys (as CCF: "JWKS has no keys") does not take its keys away.
    served.keys = { keys: [] };
    await refresh.refreshOnce();
    assert.deepEqual(refresh.metrics, { attempts: 4, successes: 2, failures: 2 });
    assert.match(logs.at(-1)!, /JWKS has no keys/);
    assert.deepEqual([...stored().keys()], ['k1']);
  });

  it('keeps a JWK\'s issuer as CCF\'s issuer constraint, and refuses a constraint off the issuer\'s domain', async (t) => {
    const { logs, served, refresh, stored: read } = refreshing(t, { keys: [{ ...jwk, issuer: 'https://issuer.example/t1' }] });
    await refresh.refreshOnce();
    assert.equal(read().get('k1')?.constraint, 'https://issuer.example/t1');
    served.keys = { keys: [{ ...jwk, issuer: 'https://elsewhere.example' }] };
    await refresh.refreshOnce();
    assert.match(logs.at(-1)!, /issuer constraint "https:\/\/elsewhere.example" is not on the domain of issuer https:\/\/issuer.example/);
    assert.equal(read().get('k1')?.constraint, 'https://issuer.example/t1', 'the keys stay as they were');
  });

  it('fetches at once the keys of an issuer governance added, set again or gave another CA bundle, as CCF refreshes on an issuer\'s write, and not again until it changes or the round comes', async (t) => {
    const instance = withIssuer();
    t.after(() => instance.close());
    const fetched: string[] = [];
    const refresh = new JwtKeyRefresh(instance.node, 60_000, () => {}, async (url) => {
      fetched.push(url);
      return serving({ keys: [jwk] })(url);
    });
    const discoveries = () => fetched.filter((url) => url.endsWith('/.well-known/openid-configuration')).length;
    await refresh.refreshChanged();
    assert.equal(discoveries(), 1, 'an issuer this primary has not fetched');
    assert.deepEqual([...instance.node.execute((tx) => ({ result: issuerPublicKeys(tx, ISSUER), applyWrites: false })).result.keys()], ['k1']);
    await refresh.refreshChanged();
    assert.equal(discoveries(), 1, 'nothing changed: nothing fetched');
    instance.node.execute((tx) => {
      tx.map(Tables.caCertBundles).set(utf8('roots'), encodeJson('-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n'));
      tx.map(Tables.jwtIssuers).set(utf8('https://second.example'), encodeJson({ auto_refresh: true, ca_cert_bundle_name: 'roots' }));
      return { result: undefined, applyWrites: true };
    });
    await refresh.refreshChanged();
    assert.equal(discoveries(), 3, 'the issuer whose bundle changed, and the new one');
    await refresh.refreshOnce();
    assert.equal(discoveries(), 5, 'a round fetches every issuer');
    // A proposal that removes the issuer (its keys with it) and sets it again, arguments unchanged.
    instance.node.execute((tx) => {
      tx.map(Tables.jwtIssuers).delete(utf8(ISSUER));
      tx.map(Tables.jwtIssuers).set(utf8(ISSUER), encodeJson({ auto_refresh: true, ca_cert_bundle_name: 'roots' }));
      return { result: undefined, applyWrites: true };
    });
    await refresh.refreshChanged();
    assert.equal(discoveries(), 6, 'an issuer set again, even as it was');
  });

  it('tries an issuer whose fetch failed again after 5 s, then 10, 20..., up to the interval, and no more once it succeeds, as CCF retries', async (t) => {
    const instance = withIssuer();
    t.after(() => instance.close());
    let now = 0;
    let failing = 2;
    const logs: string[] = [];
    const fetched: string[] = [];
    const refresh = new JwtKeyRefresh(instance.node, 60_000, (_, line) => logs.push(line), async (url) => {
      fetched.push(url);
      if (url.endsWith('/.well-known/openid-configuration') && failing-- > 0) throw new Error('the issuer answered 503');
      return serving({ keys: [jwk] })(url);
    }, 1_000, () => now);
    const discoveries = () => fetched.filter((url) => url.endsWith('/.well-known/openid-configuration')).length;
    await refresh.refreshChanged();
    assert.equal(discoveries(), 1);
    assert.match(logs.at(-1)!, /failed; its keys stay as they were, and it is tried again in 5 s: the issuer answered 503$/);
    now = 4_999;
    await refresh.refreshChanged();
    assert.equal(discoveries(), 1, 'not before its time');
    now = 5_000;
    await refresh.refreshChanged();
    assert.equal(discoveries(), 2);
    assert.match(logs.at(-1)!, /tried again in 10 s/);
    now = 15_000;
    await refresh.refreshChanged();
    assert.equal(discoveries(), 3, 'the third attempt succeeds');
    assert.deepEqual([...instance.node.execute((tx) => ({ result: issuerPublicKeys(tx, ISSUER), applyWrites: false })).result.keys()], ['k1']);
    now = 1_000_000;
    await refresh.refreshChanged();
    assert.equal(discoveries(), 3, 'no retry after a success');
    assert.deepEqual(refresh.metrics, { attempts: 3, successes: 1, failures: 2 });
  });

  it('gives the OpenID configuration\'s issuer, as CCF does, to each key that names no constraint of its own (keys shared between tenants admit only this tenant\'s tokens)', async (t) => {
    const instance = withIssuer();
    t.after(() => instance.close());
    const other = { ...createPublicKey(generateKeyPair('P-256').publicKeyPem).export({ format: 'jwk' }), kid: 'k2', issuer: 'https://issuer.example/t2' };
    const logs: string[] = [];
    let configured = 'https://issuer.example/tenant-a/v2.0';
    const refresh = new JwtKeyRefresh(instance.node, 60_000, (_, line) => logs.push(line), (url) => serving({ keys: [jwk, other] }, configured)(url));
    const stored = () => instance.node.execute((tx) => ({ result: issuerPublicKeys(tx, ISSUER), applyWrites: false })).result;
    await refresh.refreshOnce();
    assert.equal(stored().get('k1')?.constraint, 'https://issuer.example/tenant-a/v2.0');
    assert.equal(stored().get('k2')?.constraint, 'https://issuer.example/t2', 'a key\'s own constraint stands');
    // A configuration naming an issuer off the registered issuer's domain: the set is refused whole.
    configured = 'https://evil.example';
    await refresh.refreshOnce();
    assert.match(logs.at(-1)!, /JWK k1's issuer constraint "https:\/\/evil.example" is not on the domain of issuer https:\/\/issuer.example/);
    assert.equal(stored().get('k1')?.constraint, 'https://issuer.example/tenant-a/v2.0', 'the keys stay as they were');
  });

  it('refuses, whole, a key set with a key no proposal could register (Ed25519, RSA under 2048 bits), and keeps the keys', async (t) => {
    const { logs, served, refresh, stored } = refreshing(t, { keys: [jwk] });
    await refresh.refreshOnce();
    const read = () => [...stored().keys()];
    const refused: [unknown, RegExp][] = [
      [{ ...generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }), kid: 'okp' }, /JWK okp \(kty "OKP"\) has neither an RSA or EC public key/],
      [{ kty: 'RSA', kid: 'weak', x5c: [rsaCertificate(1024).x5c] }, /JWK weak is a 1024-bit RSA key: at least 2048 bits are required/],
    ];
    for (const [key, reason] of refused) {
      served.keys = { keys: [{ ...jwk, kid: 'k2' }, key] };
      await refresh.refreshOnce();
      assert.match(logs.at(-1)!, reason);
      assert.deepEqual(read(), ['k1'], 'the keys stay as they were');
    }
    assert.deepEqual(refresh.metrics, { attempts: 3, successes: 1, failures: 2 });
  });

  it('refreshes each issuer on its own: a slow issuer delays no other, is not started twice, and stop() aborts it', { timeout: 60_000 }, async (t) => {
    const instance = startInProcessNode();
    t.after(() => instance.close());
    const [slow, fast] = [`${server.url}/slow`, `${server.url}/fast`];
    instance.node.execute((tx) => {
      tx.map(Tables.caCertBundles).set(utf8('idp'), encodeJson(issuerCa.certPem));
      for (const issuer of [slow, fast]) tx.map(Tables.jwtIssuers).set(utf8(issuer), encodeJson({ auto_refresh: true, ca_cert_bundle_name: 'idp' }));
      return { result: undefined, applyWrites: true };
    });
    const logs: string[] = [];
    let logged = () => {};
    const refresh = new JwtKeyRefresh(instance.node, 60_000, (_, line) => {
      logs.push(line);
      logged();
    });
    const fastRefreshed = (times: number) =>
      new Promise<void>((resolve) => {
        logged = () => logs.filter((line) => line === `JWT key refresh of ${fast}: 1 key(s)`).length === times && resolve();
        logged();
      });
    const firstRound = refresh.refreshOnce();
    await fastRefreshed(1);
    assert.deepEqual([...instance.node.execute((tx) => ({ result: issuerPublicKeys(tx, fast), applyWrites: false })).result.keys()], ['fast']);
    void refresh.refreshOnce();
    await fastRefreshed(2);
    const discoveries = (issuer: string) => server.requests.filter((r) => `${server.url}${r.path}` === `${issuer}/.well-known/openid-configuration`).length;
    assert.equal(discoveries(slow), 1, 'the slow issuer, still running, is not started again');
    assert.equal(discoveries(fast), 2);
    await refresh.stop();
    await firstRound;
    assert.deepEqual(refresh.metrics, { attempts: 3, successes: 2, failures: 1 });
    assert.match(logs.at(-1)!, new RegExp(`^JWT key refresh of ${slow} failed; its keys stay as they were: GET ${slow}/.well-known/openid-configuration failed: the node is stopping$`));
  });

  it('an issuer whose CA bundle governance removed is a failure that names the bundle, and fetches nothing', async (t) => {
    const instance = withIssuer();
    t.after(() => instance.close());
    instance.node.execute((tx) => {
      tx.map(Tables.caCertBundles).delete(utf8('roots'));
      return { result: undefined, applyWrites: true };
    });
    const logs: string[] = [];
    const fetched: string[] = [];
    const refresh = new JwtKeyRefresh(instance.node, 60_000, (_, line) => logs.push(line), async (url) => {
      fetched.push(url);
      return serving({ keys: [jwk] })(url);
    });
    await refresh.refreshOnce();
    assert.deepEqual(refresh.metrics, { attempts: 1, successes: 0, failures: 1 });
    assert.deepEqual(logs, ['JWT key refresh of https://issuer.example: its CA bundle "roots" does not exist']);
    assert.deepEqual(fetched, []);
  });

  it('a refresh on a stopped node is logged, never an unhandled rejection', async () => {
    const instance = withIssuer();
    await instance.close();
    const logs: string[] = [];
    const refresh = new JwtKeyRefresh(instance.node, 60_000, (_, line) => logs.push(line), serving({ keys: [jwk] }));
    await refresh.refreshOnce();
    assert.equal(refresh.metrics.attempts, 0);
    assert.match(logs.join('\n'), /JWT key refresh did not run/);
  });
});

test("a JWKS key given by an RSA x5c certificate, as Entra ID publishes them, is taken with the certificate's key", () => {
  const { x5c, spkiBase64 } = rsaCertificate(2048);
  const keys = jwksPublicKeys({ keys: [{ kty: 'RSA', kid: 'entra-like', use: 'sig', x5t: 'abc', x5c: [x5c] }] }, 'https://login.example');
  assert.equal(keys.get('entra-like')!.public_key, spkiBase64);
  assert.throws(() => jwksPublicKeys({ keys: [{ kty: 'RSA', kid: 'bad', x5c: ['bm90IGEgY2VydA'] }] }, 'https://login.example'), /JWK bad's x5c\[0\] is not a base64 DER certificate/);
});
