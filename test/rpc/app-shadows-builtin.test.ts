// As CCF's (registry.cpp looks in the app's endpoints first, then the built-in ones): an app endpoint
// on the path of a built-in `/app` endpoint answers in its place, over real TLS on a node in this
// process; a built-in endpoint the app defines another method of, or no endpoint for, serves on.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bundleOf } from '../js/js-test-host.js';
import { appServer, type BuiltinEndpointsServer } from './rpc-server-fixture.js';

const APP = bundleOf(
  { 'app.js': 'export function named(request) { return { body: `app ${request.path}` }; }' },
  {
    '/commit': { get: { js_function: 'named' } },
    '/tx': { post: { js_function: 'named' } },
    '/api/{name}': { get: { js_function: 'named' } },
  },
);

let service: BuiltinEndpointsServer;

before(async () => {
  service = await appServer(APP);
});

after(async () => {
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
