// `coco ledger fetch` against nodes that cannot serve what it asks: here, nodes that all started
// from snapshots after the seqno asked for, which send the request round each other.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { ledgerFetch } from '../../src/cli/ledger-fetch.js';
import { CocoError } from '../../src/errors.js';
import { ccfError, createService, reply, startServer, type ServiceIdentity } from '../client/tls-fixture.js';

let service: ServiceIdentity;
before(async () => {
  service = await createService();
});

test('a seqno no node holds (all started from later snapshots) is said so, with where their ledgers start and what to do', async (t) => {
  const server = await startServer(service, (request, res) => {
    if (request.url.pathname === '/node/state') return reply(res, 200, { startup_seqno: 251 });
    // As a node that started from a snapshot: on to the next node, which (a circle of one) is itself.
    res.setHeader('location', `${server.url}/node/ledger-chunk?since=1`);
    ccfError(res, 308, 'NodeCannotHandleRequest', 'this node started from a snapshot at seqno 251 and holds no ledger before it; redirecting to the next node');
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
