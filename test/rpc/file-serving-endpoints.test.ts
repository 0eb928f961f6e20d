// `/node/ledger-chunk` and `/node/snapshot` over real TLS on a node in this process, on an
// interface where both operator features are enabled: which seqnos a chunk request may name, and
// where each answer sends the caller.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CocoClient } from '../../src/client/coco-client.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { decodeJson, encodeJson, Tables, type NodeInfo } from '../../src/governance/builtin-tables.js';
import { AppRuntime } from '../../src/rpc/app-runtime.js';
import type { RpcServer } from '../../src/rpc/rpc-server.js';
import { createService } from '../client/tls-fixture.js';
import { startInProcessNode, type InProcessNode } from '../support/in-process-node.js';
import { addTestBuiltinEndpoints, testRpcServer } from './rpc-server-fixture.js';

let inProcess: InProcessNode;
let server: RpcServer;
let client: CocoClient;

/** Sets the `primary` interface's published address in the record of `nodeId` (a Trusted node, created if absent). */
function publish(nodeId: string, address: string): void {
  inProcess.node.execute((tx) => {
    const nodes = tx.map(Tables.nodesInfo);
    const current = nodes.get(utf8(nodeId));
    const info = current === undefined ? ({ status: 'Trusted', node_data: {} } as unknown as NodeInfo) : decodeJson<NodeInfo>(current, Tables.nodesInfo);
    nodes.set(utf8(nodeId), encodeJson({ ...info, rpc_interfaces: { primary: { bind_address: address, published_address: address } } }));
    return { result: undefined, applyWrites: true };
  });
}

before(async () => {
  inProcess = startInProcessNode();
  const tls = await createService();
  const built = testRpcServer(tls, { currentTxId: () => inProcess.node.lastTxId });
  server = built.server;
  addTestBuiltinEndpoints(server, inProcess.node, built.sessions, new AppRuntime(), new Set(['LedgerChunkRead', 'SnapshotRead']));
  const { port } = await server.listen('127.0.0.1', 0);
  publish(inProcess.node.nodeId, `127.0.0.1:${port}`);
  client = new CocoClient({ url: `https://127.0.0.1:${port}`, caCertPem: tls.certPem, redirectsMax: 0 });
});

after(async () => {
  client?.close();
  await server?.close();
  await inProcess?.close();
});

const errorCode = (answer: { json<T>(): T }) => answer.json<{ error: { code: string } }>().error.code;

// Last: another Trusted node changes the configuration, and this node alone commits no more.
test('a node that started from no snapshot never sends a chunk request on; since must be a seqno from 1', async () => {
  publish('ff'.repeat(32), '127.0.0.1:8499');
  for (const since of ['0', 'x', '-1']) {
    const answer = await client.request('GET', `/node/ledger-chunk?since=${since}`, { allowError: true });
    assert.deepEqual([answer.status, errorCode(answer)], [400, 'InvalidQueryParameterValue'], since);
  }
  const beyond = await client.request('GET', '/node/ledger-chunk?since=1000000', { allowError: true });
  assert.deepEqual([beyond.status, errorCode(beyond)], [404, 'ResourceNotFound']);
});
