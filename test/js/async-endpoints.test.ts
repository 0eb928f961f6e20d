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

test('a promise job a synchronous function leaves reads the request body, inline or from the host, and writes within the request', async () => {
  const module = `
    export function later(request) {
      Promise.resolve().then(() => ccf.kv["records"].set(ccf.strToBuf("text"), ccf.strToBuf(request.body.text())));
      Promise.resolve().then(() => ccf.kv["records"].set(ccf.strToBuf("bytes"), request.body.arrayBuffer()));
      return { statusCode: 200 };
    }
  `;
  const large = 'x'.repeat(70 * 1024); // beyond what travels inline with the call
  for (const reuse of [undefined, { key: 'k' }]) {
    const store = storeWithApp(bundleOf({ 'main.js': module }, { '/later': { post: { js_function: 'later', interpreter_reuse: reuse } } }));
    const app = await JsApp.create({ limits: TEST_LIMITS });
    const host = new TestHost();
    for (const body of ['eve', large]) {
      const tx = store.beginTransaction();
      assert.equal(app.invoke('v1', appRequest('POST', '/app/later', { body: text(body) }), tx, host).statusCode, 200);
      assert.equal(decodeText(tx.map('records').get(text('text')) ?? new Uint8Array()), body, 'the job read the body as text');
      assert.equal(decodeText(tx.map('records').get(text('bytes')) ?? new Uint8Array()), body, 'and as bytes');
      tx.abort();
    }
    assert.deepEqual(host.logs.filter((line) => line.level === 'error'), []);
    app.dispose();
  }
});

test('a promise rejection nothing in the request handled is logged, its reason only with log_exception_details; handled ones are not', async () => {
  const module = `
    export function lost() { Promise.resolve().then(() => { throw new TypeError("lost in a job"); }); return {}; }
    export function passedOn() { Promise.resolve().then(() => { throw new Error("passed on"); }).then(() => 1).finally(() => {}); return {}; }
    export function returned() { Promise.resolve().then(async () => { await null; throw new Error("from an async callback"); }); return {}; }
    export function many() { for (let i = 0; i < 20; i++) Promise.resolve().then(() => { throw new Error("one of many"); }); return {}; }
    export function handled() {
      Promise.resolve().then(() => { throw new Error("caught"); }).catch(() => {});
      Promise.all([Promise.resolve().then(() => { throw new Error("in all"); })]).then(undefined, () => {});
      (async () => { try { await Promise.resolve().then(() => { throw new Error("awaited"); }); } catch (e) {} })();
      const late = Promise.resolve().then(() => { throw new Error("handled later"); });
      Promise.resolve().then(() => null).then(() => null).then(() => late.catch(() => {}));
      return {};
    }
    export async function rejects() { await null; return Promise.resolve().then(() => { throw new Error("the answer"); }); }
  `;
  const store = storeWithApp(bundleOf({ 'main.js': module }, { '/lost': { post: { js_function: 'lost' } }, '/passed-on': { post: { js_function: 'passedOn' } }, '/returned': { post: { js_function: 'returned' } }, '/many': { post: { js_function: 'many' } }, '/handled': { post: { js_function: 'handled' } }, '/rejects': { post: { js_function: 'rejects' } } }));
  const app = await JsApp.create({ limits: TEST_LIMITS });
  const errorsOf = (path: string, logExceptionDetails: boolean) => {
    const host = new TestHost();
    try {
      app.invoke('v1', appRequest('POST', `/app${path}`), store.beginTransaction(), host, { logExceptionDetails });
    } catch (error) {
      if (!(error instanceof JsExceptionError)) throw error;
    }
    return host.logs.filter((line) => line.level === 'error').map((line) => line.message);
  };
  assert.deepEqual(errorsOf('/lost', false), ['[js] POST /app/lost: unhandled promise rejection, the promise chain stopped there (log_exception_details logs its reason)']);
  const [detailed, ...others] = errorsOf('/lost', true);
  assert.deepEqual(others, []);
  assert.match(detailed ?? '', /^\[js\] POST \/app\/lost: unhandled promise rejection, the promise chain stopped there: TypeError: lost in a job\n\s+at .*main\.js:2/);
  assert.deepEqual(errorsOf('/passed-on', true).map((line) => line.split('\n')[0]), ['[js] POST /app/passed-on: unhandled promise rejection, the promise chain stopped there: Error: passed on'], 'once, at the end of the chain');
  assert.deepEqual(errorsOf('/returned', true).map((line) => line.split('\n')[0]), ['[js] POST /app/returned: unhandled promise rejection, the promise chain stopped there: Error: from an async callback']);
  const many = errorsOf('/many', false);
  assert.equal(many.length, 9);
  assert.equal(many[8], '[js] POST /app/many: 12 more unhandled promise rejections');
  assert.deepEqual(errorsOf('/handled', true), [], 'caught, combined, awaited, or handled later in the request');
  assert.deepEqual(errorsOf('/rejects', true), [], 'the rejection the function returned is the request failing');
  app.dispose();
});

test('promise jobs a function queued before it threw run within its failing request, not in the next one of a kept interpreter', async () => {
  const module = `
    export function throws() { Promise.resolve().then(() => { console.log("job ran"); ccf.kv["records"].set(ccf.strToBuf("late"), ccf.strToBuf("mallory")); }); throw new Error("failed"); }
    export function quiet() { return {}; }
  `;
  const reuse = { key: 'k' };
  const store = storeWithApp(bundleOf({ 'main.js': module }, { '/throws': { post: { js_function: 'throws', interpreter_reuse: reuse } }, '/quiet': { post: { js_function: 'quiet', interpreter_reuse: reuse } } }));
  const app = await JsApp.create({ limits: TEST_LIMITS });
  const host = new TestHost();
  assert.throws(() => app.invoke('v1', appRequest('POST', '/app/throws'), store.beginTransaction(), host), (error: unknown) => error instanceof JsExceptionError && error.jsMessage === 'failed');
  assert.ok(host.logs.some((line) => line.message === '[app] job ran'), 'the job ran within the request that queued it');
  const later = store.beginTransaction();
  app.invoke('v1', appRequest('POST', '/app/quiet'), later, host);
  assert.equal(later.map('records').get(text('late')), undefined, "the job wrote nothing into the next caller's transaction");
  app.dispose();
});
