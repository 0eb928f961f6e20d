// As CCF's (registry.cpp looks in the app's endpoints first, then the built-in ones): an app endpoint
// on the path of a built-in `/app` endpoint answers in its place, over real TLS on a node in this
// process; a built-in endpoint the app defines another method of, or no endpoint for, serves on.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { encodeJson, readServiceInfo, SINGLETON, Tables } from '../../src/governance/builtin-tables.js';
import { bundleToKvWrites } from '../../src/js/app-bundle.js';
import type { JsHost } from '../../src/js/js-host.js';
import { appEndpointLookup, appRequestHandler } from '../../src/rpc/app-endpoints.js';
import { AppRuntime } from '../../src/rpc/app-runtime.js';
import { bundleOf } from '../js/js-test-host.js';
import { startInProcessNode } from '../support/in-process-node.js';
import { builtinEndpointsServer, type BuiltinEndpointsServer } from './rpc-server-fixture.js';

const APP = bundleOf(
  { 'app.js': 'export function named(request) { return { body: `app ${request.path}` }; }' },
  {
    '/commit': { get: { js_function: 'named' } },
    '/tx': { post: { js_function: 'named' } },
    '/api/{name}': { get: { js_function: 'named' } },
  },
);

let service: BuiltinEndpointsServer;
const runtime = new AppRuntime();

before(async () => {
  const inProcess = startInProcessNode();
  const { node } = inProcess;
  node.execute((tx) => {
    for (const write of bundleToKvWrites(APP)) tx.map(write.map).set(write.key, write.value);
    tx.map(Tables.serviceInfo).set(SINGLETON, encodeJson({ ...readServiceInfo(tx), status: 'Open' }));
    return { result: undefined, applyWrites: true };
  });
  const host: JsHost = { monotonicMs: () => performance.now(), untrustedNowMs: () => Date.now(), log: () => undefined };
  service = await builtinEndpointsServer(inProcess, {
    appDefines: appEndpointLookup(node),
    appFallback: appRequestHandler(node, runtime, host, () => Math.floor(Date.now() / 1000), { primaryUrl: () => undefined, backupUrl: () => undefined }),
  });
});

after(async () => {
  runtime.dispose();
  await service?.close();
});

test("an app endpoint on a built-in endpoint's path answers in its place, with or without /app, templates too", async () => {
  for (const path of ['/app/commit', '/commit', '/app/api/metrics']) {
    const answer = await service.client.request('GET', path, { allowError: true });
    assert.equal(answer.status, 200, `${path}: ${answer.text()}`);
    assert.equal(answer.text(), `app ${path}`);
  }
});

test('a built-in endpoint serves on where the app defines only another method of its path, or nothing', async () => {
  const tx = await service.client.request('GET', '/app/tx?transaction_id=2.1');
  assert.equal(tx.json<{ status: string }>().status, 'Committed');
  const api = await service.client.request('GET', '/app/api');
  assert.equal(typeof api.json<{ openapi: string }>().openapi, 'string');
  // The app's own method on that path is the app's.
  assert.equal((await service.client.request('POST', '/app/tx')).text(), 'app /app/tx');
});
