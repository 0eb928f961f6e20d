// `/node/ledger-chunk` and `/node/snapshot` over real TLS on a node in this process, on an
// interface where both operator features are enabled: which seqnos a chunk request may name, and
// where each answer sends the caller.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CocoClient } from '../../src/client/coco-client.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { decodeJson, encodeJson, Tables, type NodeInfo } from '../../src/governance/builtin-tables.js';
import { startInProcessNode, type InProcessNode } from '../support/in-process-node.js';
import { until } from '../support/until.js';
import { builtinEndpointsServer, type BuiltinEndpointsServer } from './rpc-server-fixture.js';

let inProcess: InProcessNode;
let service: BuiltinEndpointsServer;
/** Redirects off: the answers themselves; `following` follows them. */
let client: CocoClient;
let following: CocoClient;
let origin: string;

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
  inProcess = startInProcessNode({ snapshotTxCount: 5 });
  service = await builtinEndpointsServer(inProcess, { operatorFeatures: new Set(['LedgerChunkRead', 'SnapshotRead']) });
  origin = service.origin;
  publish(inProcess.node.nodeId, new URL(origin).host);
  client = new CocoClient({ url: origin, caCertPem: service.tls.certPem, redirectsMax: 0 });
  following = service.client;
});

after(async () => {
  client?.close();
  await service?.close();
});

const errorCode = (answer: { json<T>(): T }) => answer.json<{ error: { code: string } }>().error.code;

test("as CCF, a chunk or snapshot this node holds is a plain 308 to its name at the node's published address, no error", async () => {
  // Past one ledger chunk (4 KiB in this node) and a snapshot (every 5 transactions), committed.
  for (let i = 0; i < 12; i++) {
    const { txId } = inProcess.node.execute((tx) => {
      tx.map('records').set(utf8(String(i)), new Uint8Array(1024));
      return { result: undefined, applyWrites: true };
    });
    await inProcess.node.waitForCommit(txId!.seqno);
  }
  const expected: [string, RegExp][] = [
    ['/node/ledger-chunk?since=1', /^\/node\/ledger-chunk\/ledger_1-\d+\.committed$/],
    ['/node/snapshot', /^\/node\/snapshot\/snapshot_\d+_\d+\.committed$/],
  ];
  for (const [path, named] of expected) {
    const answer = await until(`a 308 for ${path}`, 10_000, async () => {
      const found = await client.request('GET', path, { allowError: true });
      return found.status === 308 ? found : undefined;
    });
    const location = new URL(String(answer.headers.location));
    assert.equal(location.origin, origin, path);
    assert.match(location.pathname, named, path);
    assert.equal(answer.headers['x-ms-error-code'], undefined, path);
    assert.equal(answer.body.length, 0, path);
    const followed = await following.request('GET', path);
    assert.equal(followed.url, location.href, path);
  }
});

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
