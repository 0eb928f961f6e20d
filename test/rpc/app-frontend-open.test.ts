// The application frontend over real TLS on a node in this process whose service is still Opening:
// as CCF's, every `/app` request (built-in endpoints, unknown paths and wrong methods alike) is
// answered 404 FrontendNotOpen until the service is Open, while `/node` and `/gov` serve. A node
// whose retirement committed closes it for good: 503 NodeRetired, its operator's frontends open.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CocoClient } from '../../src/client/coco-client.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { encodeJson, readServiceInfo, SINGLETON, Tables } from '../../src/governance/builtin-tables.js';
import type { Transaction } from '../../src/kv/transaction.js';
import type { Node } from '../../src/node/node.js';
import { readNodeRecords } from '../../src/node/service-nodes.js';
import { appFrontendCheck } from '../../src/rpc/app-endpoints.js';
import { createService } from '../client/tls-fixture.js';
import { InProcessNetwork } from '../support/in-process-network.js';
import { startInProcessNode, type InProcessNode } from '../support/in-process-node.js';
import { addTestBuiltinEndpoints, builtinEndpointsServer, testRpcServer, type BuiltinEndpointsServer } from './rpc-server-fixture.js';

let service: BuiltinEndpointsServer;
let client: CocoClient;
let inProcess: InProcessNode;

before(async () => {
  inProcess = startInProcessNode();
  service = await builtinEndpointsServer(inProcess, { checkAppOpen: appFrontendCheck(inProcess.node) });
  client = service.client;
});

after(() => service?.close());

const CLOSED: ['GET' | 'POST', string][] = [
  ['GET', '/app/commit'],
  ['GET', '/app/tx?transaction_id=2.1'],
  ['GET', '/app/local_tx?transaction_id=2.1'],
  ['GET', '/app/receipt?transaction_id=2.1'],
  ['GET', '/app/api'],
  ['GET', '/app/api/metrics'],
  ['GET', '/app/nope'],
  ['POST', '/app/commit'],
];

test('before the service is Open every /app request is 404 FrontendNotOpen; /node and /gov serve', async () => {
  for (const [method, path] of CLOSED) {
    const answer = await client.request(method, path, { allowError: true });
    assert.equal(answer.status, 404, `${method} ${path}`);
    const { code, message } = answer.json<{ error: { code: string; message: string } }>().error;
    assert.equal(code, 'FrontendNotOpen', `${method} ${path}`);
    assert.match(message, /^Frontend is not open: the service is Opening/);
  }
  for (const path of ['/node/commit', '/gov/commit', '/node/tx?transaction_id=2.1']) assert.equal((await client.request('GET', path)).status, 200, path);
  // As CCF's: the app is not ready, governance is; the 503 says why, with its code in x-ms-error-code too.
  const notReady = await client.request('GET', '/node/ready/app', { allowError: true });
  assert.equal(notReady.status, 503);
  assert.equal(notReady.headers['x-ms-error-code'], 'FrontendNotOpen');
  assert.equal(notReady.json<{ error: { message: string } }>().error.message, 'the service is not open yet');
  assert.equal((await client.request('GET', '/node/ready/gov')).status, 204);
});

test('once the service is Open, /app serves its built-in endpoints', async () => {
  inProcess.node.execute((tx) => {
    tx.map(Tables.serviceInfo).set(SINGLETON, encodeJson({ ...readServiceInfo(tx), status: 'Open' }));
    return { result: undefined, applyWrites: true };
  });
  assert.equal((await client.request('GET', '/app/commit')).status, 200);
  assert.equal((await client.request('GET', '/node/ready/app')).status, 204);
  assert.equal((await client.request('GET', '/app/nope', { allowError: true })).json<{ error: { code: string } }>().error.code, 'ResourceNotFound');
});

function writeAs(node: Node, write: (tx: Transaction) => void): void {
  node.execute((tx) => {
    write(tx);
    return { result: undefined, applyWrites: true };
  });
}

test('a node whose retirement committed answers every /app request 503 NodeRetired; /node and /gov serve', async (t) => {
  const network = await InProcessNetwork.start(3);
  t.after(() => network.close());
  const { node } = network.primary();
  writeAs(node, (tx) => tx.map(Tables.serviceInfo).set(SINGLETON, encodeJson({ status: 'Open' })));
  const tls = await createService();
  const { server, sessions } = testRpcServer(tls, { currentTxId: () => node.lastTxId, checkAppOpen: appFrontendCheck(node) });
  addTestBuiltinEndpoints(server, node, sessions);
  const { port } = await server.listen('127.0.0.1', 0);
  const retiredClient = new CocoClient({ url: `https://127.0.0.1:${port}`, caCertPem: tls.certPem });
  t.after(async () => {
    retiredClient.close();
    await server.close();
  });
  assert.equal((await retiredClient.request('GET', '/app/commit')).status, 200, 'served before its retirement');

  // Members remove it: its removal commits in its own log, it hands over and is retired.
  writeAs(node, (tx) => tx.map(Tables.nodesInfo).set(utf8(node.nodeId), encodeJson({ ...readNodeRecords(node.store).get(node.nodeId)!, status: 'Retired' })));
  await network.waitFor(() => node.stopNotice);
  for (const [method, path] of CLOSED) {
    const answer = await retiredClient.request(method, path, { allowError: true });
    const { code, message } = answer.json<{ error: { code: string; message: string } }>().error;
    assert.deepEqual([answer.status, code], [503, 'NodeRetired'], `${method} ${path}`);
    assert.match(message, /^this node has retired from the service \(its retirement committed\) and serves no application requests .*; send requests to another node of the service/);
  }
  for (const path of ['/node/commit', '/gov/commit', '/node/state']) assert.equal((await retiredClient.request('GET', path)).status, 200, path);
});
