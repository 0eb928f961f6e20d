// DELETE /node/network/nodes/{node_id} is a write: like CCF, which sends it to the primary before
// its handler reads the node's record, a backup redirects it (307) whatever its own, possibly
// stale, copy of the record says, and a node whose retirement committed answers 503 NodeRetired
// (its state stopped at its removal) rather than 400 NodeNotRetiredCommitted for ever.

import assert from 'node:assert/strict';
import test from 'node:test';
import { CocoClient } from '../../src/client/coco-client.js';
import { virtualQuote } from '../../src/attestation/virtual-attestation.js';
import { generateKeyPair } from '../../src/crypto/signing.js';
import type { Node } from '../../src/node/node.js';
import { AppRuntime } from '../../src/rpc/app-runtime.js';
import { addBuiltinEndpoints } from '../../src/rpc/builtin-endpoints.js';
import { createService } from '../client/tls-fixture.js';
import { InProcessNetwork } from '../support/in-process-network.js';
import { testRpcServer } from './rpc-server-fixture.js';

const PRIMARY_URL = 'https://primary.example:8000';

/** A client of `node`'s built-in endpoints, served as on an interface whose primary is at PRIMARY_URL; redirects are not followed. */
async function serve(node: Node): Promise<{ client: CocoClient; close: () => Promise<void> }> {
  const tls = await createService();
  const { server, sessions } = testRpcServer(tls, { currentTxId: () => node.lastTxId, primaryUrl: () => PRIMARY_URL });
  addBuiltinEndpoints(server, node, {
    version: 'test',
    primaryUrl: () => PRIMARY_URL,
    interfaceName: 'primary',
    operatorFeatures: new Set(),
    sessions,
    appRuntime: new AppRuntime(),
    selfSignedCertPem: '',
    quoteInfo: virtualQuote(generateKeyPair('P-384').publicKeyPem, new Uint8Array(32)),
    jwtRefreshMetrics: { attempts: 0, successes: 0, failures: 0 },
  });
  const { port } = await server.listen('127.0.0.1', 0);
  const client = new CocoClient({ url: `https://127.0.0.1:${port}`, caCertPem: tls.certPem, redirectsMax: 0 });
  return { client, close: async () => (client.close(), await server.close()) };
}

test('a backup redirects DELETE /node/network/nodes/{id} to the primary before it reads its own copy of the record', { timeout: 60_000 }, async (t) => {
  const network = await InProcessNetwork.start(3);
  t.after(() => network.close());
  const primary = network.primary().node;
  const backup = network.nodes.find(({ node }) => node !== primary)!.node;
  const { client, close } = await serve(backup);
  t.after(close);
  // The backup's copy says the node is Trusted (or holds no such node): the primary's may say otherwise.
  for (const id of [primary.nodeId, 'a'.repeat(64)]) {
    const answer = await client.request('DELETE', `/node/network/nodes/${id}`, { allowError: true });
    assert.equal(answer.status, 307, answer.text());
    assert.equal(answer.headers.location, `${PRIMARY_URL}/node/network/nodes/${id}`);
    assert.equal(answer.json<{ error: { code: string } }>().error.code, 'NotPrimary');
  }
});

test('a node whose retirement committed answers DELETE /node/network/nodes/{id} with 503 NodeRetired, even for itself', { timeout: 60_000 }, async (t) => {
  const network = await InProcessNetwork.start(3);
  t.after(() => network.close());
  const retired = network.nodes.find(({ node }) => node !== network.primary().node)!.node;
  // What the service tells a node once its retirement committed; its own record stays as it was.
  retired.retire('test');
  const { client, close } = await serve(retired);
  t.after(close);
  const answer = await client.request('DELETE', `/node/network/nodes/${retired.nodeId}`, { allowError: true });
  assert.equal(answer.status, 503, answer.text());
  assert.equal(answer.json<{ error: { code: string } }>().error.code, 'NodeRetired');
});
