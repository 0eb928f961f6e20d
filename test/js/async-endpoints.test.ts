import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CocoError } from '../../src/errors.js';
import { JsApp } from '../../src/js/js-app.js';
import { JsExceptionError } from '../../src/js/js-exception.js';
import { appRequest, bundleOf, decodeText, storeWithApp, TestHost, TEST_LIMITS, text } from './js-test-host.js';

// Async endpoint functions (CCF's tests/js-modules/dynamic-module-import exports one): the node
// runs the promise jobs within the request, its transaction and its time limit, and answers with
// what the promise settles to.
const MAIN = `
  import { C } from "./lib/c.js";
  export async function dynamic(request) {
    const { make } = await import("./lib/make.js");
    ccf.kv["records"].set(ccf.strToBuf("after-await"), ccf.strToBuf(request.body.text()));
    return { statusCode: 201, body: { sameClass: make() instanceof C, body: request.body.json() } };
  }
  export async function rejects() { await null; throw new TypeError("async failure"); }
  export function never() { return new Promise(() => {}); }
  export async function spins() { await null; for (;;) {} }
  export async function read() { return { body: ccf.bufToStr(ccf.kv["records"].get(ccf.strToBuf("after-await"))) }; }
`;

const ENDPOINTS = {
  '/dynamic': { post: { js_function: 'dynamic' } },
  '/rejects': { post: { js_function: 'rejects' } },
  '/never': { post: { js_function: 'never' } },
  '/spins': { post: { js_function: 'spins' } },
  '/read': { get: { js_function: 'read', mode: 'readonly' as const } },
};

test('an async endpoint function answers with what its promise settles to, within its own transaction', async () => {
  const store = storeWithApp(bundleOf({ 'main.js': MAIN, 'lib/c.js': 'export class C {}', 'lib/make.js': 'import { C } from "./c.js"; export const make = () => new C();' }, ENDPOINTS));
  const app = await JsApp.create({ limits: TEST_LIMITS });
  const host = new TestHost();
  const call = (method: string, path: string, body = '') => {
    const tx = store.beginTransaction();
    const response = app.invoke('v1', appRequest(method, `/app${path}`, { body: text(body) }), tx, host);
    store.commit(tx, store.version + 1n);
    return response;
  };
  for (const round of [1, 2]) {
    const response = call('POST', '/dynamic', `{"round":${round}}`);
    assert.equal(response.statusCode, 201);
    assert.deepEqual(JSON.parse(decodeText(response.body!)), { sameClass: true, body: { round } }, 'a module imported statically and dynamically is one module');
    assert.equal(decodeText(call('GET', '/read').body!), `{"round":${round}}`, 'the write after the await is in the transaction');
  }
  assert.throws(
    () => call('POST', '/rejects'),
    (error: unknown) => error instanceof JsExceptionError && error.code === 'JsException' && error.jsName === 'TypeError' && error.jsMessage === 'async failure',
  );
  assert.throws(() => call('POST', '/never'), (error: unknown) => error instanceof CocoError && error.code === 'JsInvalidResponse' && /\(a Promise\).*never settled/.test(error.message));
  assert.throws(() => call('POST', '/spins'), (error: unknown) => error instanceof CocoError && error.code === 'JsExecutionTimeout');
  assert.equal(call('POST', '/dynamic', '{"round":3}').statusCode, 201, 'the app serves on after each failure');
  app.dispose();
});

test('promise jobs a function queues run within its own request, never in a later one (interpreter_reuse included)', async () => {
  const module = `
    export function detach(request) {
      const who = request.body.text();
      (async () => { for (let i = 0; i < 20; i++) await null; ccf.kv["records"].set(ccf.strToBuf("detached"), ccf.strToBuf(who)); })();
      return { body: "queued" };
    }
    export async function read() { await null; const v = ccf.kv["records"].get(ccf.strToBuf("detached")); return { body: v === undefined ? "none" : ccf.bufToStr(v) }; }
  `;
  for (const reuse of [undefined, { key: 'k' }]) {
    const store = storeWithApp(bundleOf({ 'main.js': module }, { '/detach': { post: { js_function: 'detach', interpreter_reuse: reuse } }, '/read': { post: { js_function: 'read', interpreter_reuse: reuse } } }));
    const app = await JsApp.create({ limits: TEST_LIMITS });
    const host = new TestHost();
    const tx = store.beginTransaction();
    app.invoke('v1', appRequest('POST', '/app/detach', { body: text('eve') }), tx, host);
    assert.equal(decodeText(tx.map('records').get(text('detached')) ?? new Uint8Array()), 'eve', 'the detached write is in the request that queued it');
    tx.abort();
    const later = store.beginTransaction();
    assert.equal(decodeText(app.invoke('v1', appRequest('POST', '/app/read', { body: text('bob') }), later, host).body!), 'none', 'and not in a later one');
    app.dispose();
  }
});
