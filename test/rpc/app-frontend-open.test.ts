// The application frontend over real TLS on a node in this process whose service is still Opening:
// as CCF's, every `/app` request (built-in endpoints, unknown paths and wrong methods alike) is
// answered 404 FrontendNotOpen until the service is Open, while `/node` and `/gov` serve.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { CocoClient } from '../../src/client/coco-client.js';
import { encodeJson, readServiceInfo, SINGLETON, Tables } from '../../src/governance/builtin-tables.js';
import { appFrontendCheck } from '../../src/rpc/app-endpoints.js';
import { startInProcessNode, type InProcessNode } from '../support/in-process-node.js';
import { builtinEndpointsServer, type BuiltinEndpointsServer } from './rpc-server-fixture.js';

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
});

test('once the service is Open, /app serves its built-in endpoints', async () => {
  inProcess.node.execute((tx) => {
    tx.map(Tables.serviceInfo).set(SINGLETON, encodeJson({ ...readServiceInfo(tx), status: 'Open' }));
    return { result: undefined, applyWrites: true };
  });
  assert.equal((await client.request('GET', '/app/commit')).status, 200);
  assert.equal((await client.request('GET', '/app/nope', { allowError: true })).json<{ error: { code: string } }>().error.code, 'ResourceNotFound');
});
