// `coco ledger fetch` against nodes that cannot serve what it asks (here, nodes that all started
// from snapshots after the seqno asked for, which send the request round each other), and what it
// says to do with what it fetched: `coco ledger verify` audits a ledger from seqno 1 only.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { ledgerFetch } from '../../src/cli/ledger-fetch.js';
import { CocoError } from '../../src/errors.js';
import { ccfError, createService, reply, startServer, type ServiceIdentity } from '../client/tls-fixture.js';
import { runCocoAsync } from '../support/run-cli.js';

let service: ServiceIdentity;
before(async () => {
  service = await createService();
});

test('a seqno no node holds (all started from later snapshots) is said so, with where their ledgers start and what to do', async (t) => {
  const server = await startServer(service, (request, res) => {
    if (request.url.pathname === '/node/state') return reply(res, 200, { startup_seqno: 251 });
    // As a node that started from a snapshot: on to the next node, which (a circle of one) is itself.
    res.setHeader('location', `${server.url}/node/ledger-chunk?since=1`);
    ccfError(res, 308, 'NodeCannotHandleRequest', `this node has no committed ledger chunk holding seqno 1, before the snapshot at seqno 251 it started from; redirecting to the next node`);
  });
  t.after(() => server.close());
  const directory = join(mkdtempSync(join(tmpdir(), 'coco-fetch-')), 'audit');
  t.after(() => rmSync(join(directory, '..'), { recursive: true, force: true }));
  await assert.rejects(ledgerFetch({ url: server.url, caCertPem: service.certPem }, directory, 1, () => undefined), (error: unknown) => {
    assert.ok(error instanceof CocoError && error.code === 'ResourceNotFound', String(error));
    assert.match(error.message, /^no node of the service holds seqno 1: each started from a snapshot after it/);
    assert.match(error.message, /starts after seqno 251: --since 252 fetches what it holds/);
    assert.match(error.message, /coco ledger verify, which needs every chunk from seqno 1$/);
    return true;
  });
  assert.equal(existsSync(directory), false, 'no directory for nothing');
});

test('a fetch from seqno 1 is told to verify; one from a later chunk, what verify needs first', { timeout: 60_000 }, async (t) => {
  // Two committed chunks, 1-33 and 34-50: as a node, ?since= redirects to the one holding it; past them, 404.
  const chunks = [{ name: 'ledger_1-33.committed', first: 1, last: 33 }, { name: 'ledger_34-50.committed', first: 34, last: 50 }];
  const bytes = new Uint8Array([1, 2, 3, 4]);
  const server = await startServer(service, (request, res) => {
    const named = chunks.find((c) => request.url.pathname === `/node/ledger-chunk/${c.name}`);
    if (named !== undefined && request.method === 'HEAD') return reply(res, 200, bytes, { 'x-ms-ccf-ledger-chunk-name': named.name });
    if (named !== undefined) return reply(res, 206, bytes, { 'content-range': `bytes 0-3/${bytes.length}` });
    const since = Number(request.url.searchParams.get('since'));
    const holding = chunks.find((c) => c.first <= since && since <= c.last);
    if (holding === undefined) return ccfError(res, 404, 'ResourceNotFound', `no committed chunk holds seqno ${since}`);
    reply(res, 308, undefined, { location: `${server.url}/node/ledger-chunk/${holding.name}` });
  });
  t.after(() => server.close());
  const dir = mkdtempSync(join(tmpdir(), 'coco-fetch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'service_cert.pem'), service.certPem);
  const fetch = async (directory: string, since: string) =>
    (await runCocoAsync(['ledger', 'fetch', join(dir, directory), '--url', server.url, '--cacert', join(dir, 'service_cert.pem'), '--since', since])).stdout;

  assert.equal(await fetch('all', '1'), `fetched 2 chunk(s), seqno 1 to 50, into ${join(dir, 'all')}; audit them with: coco ledger verify ${join(dir, 'all')}\n`);
  const later = join(dir, 'later');
  assert.equal(
    await fetch('later', '40'),
    `fetched 1 chunk(s), seqno 34 to 50, into ${later}. coco ledger verify needs every chunk from seqno 1: to audit them, fetch from seqno 1 (without --since) into ${later}, ` +
      `or copy the chunks before seqno 34 there (from a node's ledger directory or a backup of it); then run coco ledger verify ${later}\n`,
  );
  assert.deepEqual(readdirSync(later), ['ledger_34-50.committed']);
});
