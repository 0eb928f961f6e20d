import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CocoError } from '../../src/errors.js';
import type { AppResponse } from '../../src/js/app-dispatch.js';
import { JsApp } from '../../src/js/js-app.js';
import { JsInterpreter, type JsInterpreterOptions } from '../../src/js/interpreter.js';
import { appRequest, bundleOf, decodeText, installApp, storeWithApp, TestHost, TEST_LIMITS, text } from './js-test-host.js';

// What an app may leave behind for later requests: module variables, prototypes of built-ins
// (a naive deep merge of request JSON), globals, and the ccf flags an app sets.
const MODULE = `
  let lastCaller = null;
  export function who(request) {
    const previous = lastCaller;
    lastCaller = request.caller.id;
    return { body: { previous } };
  }
  function merge(target, source) {
    for (const key in source) {
      if (typeof source[key] === 'object' && source[key] !== null) target[key] = merge(target[key] ?? {}, source[key]);
      else target[key] = source[key];
    }
    return target;
  }
  export function settings(request) { return { body: merge({}, request.body.json()) }; }
  export function isAdmin() { return { body: { isAdmin: ({}).isAdmin === true } }; }
  export function setGlobal() { globalThis.leftOver = 'yes'; return {}; }
  export function readGlobal() { return { body: { leftOver: typeof leftOver === 'undefined' ? null : leftOver } }; }
  export function enableTime() { ccf.enableUntrustedDateTime(true); return {}; }
  export function now() { return { body: Date.now() }; }
  export function quiet() { ccf.enableMetricsLogging(false); return {}; }
  let counter = 0;
  export function count() { return { body: ++counter }; }
  export function spin() { for (;;) {} }
`;

const ENDPOINTS = {
  '/who': { post: { js_function: 'who' } },
  '/settings': { post: { js_function: 'settings' } },
  '/is-admin': { get: { js_function: 'isAdmin', mode: 'readonly' as const } },
  '/global': { post: { js_function: 'setGlobal' }, get: { js_function: 'readGlobal', mode: 'readonly' as const } },
  '/time': { post: { js_function: 'enableTime' }, get: { js_function: 'now', mode: 'readonly' as const } },
  '/quiet': { post: { js_function: 'quiet' } },
  '/count': { get: { js_function: 'count', mode: 'readonly' as const } },
  '/spin': { get: { js_function: 'spin', mode: 'readonly' as const } },
  '/shared/a': { post: { js_function: 'count', interpreter_reuse: { key: 'shared' } } },
  '/shared/b': { post: { js_function: 'count', interpreter_reuse: { key: 'shared' } } },
  '/shared/ro': { get: { js_function: 'count', mode: 'readonly' as const, interpreter_reuse: { key: 'shared' } } },
  '/other': { post: { js_function: 'count', interpreter_reuse: { key: 'other' } } },
  '/k1': { post: { js_function: 'count', interpreter_reuse: { key: 'k1' } } },
  '/k2': { post: { js_function: 'count', interpreter_reuse: { key: 'k2' } } },
  '/k3': { post: { js_function: 'count', interpreter_reuse: { key: 'k3' } } },
};

const host = new TestHost();

async function appWith(interpreters = 2): Promise<{ app: JsApp; call: (method: string, path: string, options?: Parameters<typeof appRequest>[2], versionKey?: string) => unknown }> {
  const app = await JsApp.create({ limits: TEST_LIMITS, interpreters });
  const store = storeWithApp(bundleOf({ 'app.js': MODULE }, ENDPOINTS));
  const call = (method: string, path: string, options: Parameters<typeof appRequest>[2] = {}, versionKey = 'v1') => {
    const response: AppResponse = app.invoke(versionKey, appRequest(method, `/app${path}`, options), store.beginTransaction(), host);
    assert.equal(response.statusCode, 200);
    return response.body === undefined ? undefined : JSON.parse(decodeText(response.body));
  };
  return { app, call };
}

const caller = (id: string) => ({ policy: 'user_cert', id, data: null, cert: 'c' });

test("without interpreter_reuse, a request does not see a module variable an earlier caller's request set", async () => {
  const { app, call } = await appWith();
  assert.deepEqual(call('POST', '/who', { caller: caller('user0') }), { previous: null });
  assert.deepEqual(call('POST', '/who', { caller: caller('user1') }), { previous: null });
  app.dispose();
});

test('without interpreter_reuse, __proto__ in request JSON merged into an object pollutes only its own request', async () => {
  const { app, call } = await appWith();
  call('POST', '/settings', { body: text('{"__proto__": {"isAdmin": true}}') });
  assert.deepEqual(call('GET', '/is-admin'), { isAdmin: false });
  app.dispose();
});

test('without interpreter_reuse, globals and the ccf flags an app set do not outlive its request', async () => {
  const { app, call } = await appWith();
  call('POST', '/global');
  assert.deepEqual(call('GET', '/global'), { leftOver: null });
  call('POST', '/time');
  assert.equal(call('GET', '/time'), 0, 'Date.now() is 0 until the request itself enables the untrusted time');
  call('POST', '/quiet');
  host.logs.length = 0;
  call('GET', '/count');
  assert.match(host.logs[0]?.message ?? '', /JS execution complete: Method=GET, Path=\/app\/count/);
  assert.equal(call('GET', '/count'), 1);
  assert.equal(app.memoryUsage().length, 1, 'one interpreter stays loaded for requests without reuse, reset after each');
  app.dispose();
});

test('a request in a fresh interpreter has the time limit; the next one runs as usual', async () => {
  const { app, call } = await appWith();
  assert.throws(() => call('GET', '/spin'), (error: unknown) => error instanceof CocoError && error.code === 'JsExecutionTimeout');
  assert.equal(call('GET', '/count'), 1);
  app.dispose();
});

test('endpoints of one interpreter_reuse key share an interpreter per access; other keys and requests without reuse do not see it', async () => {
  const { app, call } = await appWith(4);
  assert.equal(call('POST', '/shared/a'), 1);
  assert.equal(call('POST', '/shared/b'), 2);
  assert.equal(call('POST', '/shared/a'), 3);
  assert.equal(call('GET', '/shared/ro'), 1, 'read-only endpoints of the key have an interpreter of their own, as in CCF');
  assert.equal(call('GET', '/shared/ro'), 2);
  assert.equal(call('POST', '/other'), 1);
  assert.equal(call('GET', '/count'), 1);
  assert.equal(call('POST', '/shared/b'), 4);
  app.dispose();
});

test('a new app version drops every kept interpreter', async () => {
  const app = await JsApp.create({ limits: TEST_LIMITS, interpreters: 2 });
  const store = storeWithApp(bundleOf({ 'app.js': MODULE }, ENDPOINTS));
  const count = (versionKey: string) => JSON.parse(decodeText(app.invoke(versionKey, appRequest('POST', '/app/shared/a'), store.beginTransaction(), host).body ?? new Uint8Array()));
  assert.equal(count('v1'), 1);
  assert.equal(count('v1'), 2);
  installApp(store, bundleOf({ 'app.js': MODULE.replace('let counter = 0', 'let counter = 100') }, ENDPOINTS));
  assert.equal(count('v2'), 101);
  assert.equal(count('v2'), 102);
  assert.equal(app.memoryUsage().length, 1);
  app.dispose();
});

test('at most `interpreters` reuse keys stay loaded, the least recently used one goes first', async () => {
  const { app, call } = await appWith(2);
  assert.equal(call('POST', '/k1'), 1);
  assert.equal(call('POST', '/k2'), 1);
  assert.equal(call('POST', '/k1'), 2);
  assert.equal(call('GET', '/count'), 1, 'a request without reuse takes no kept interpreter');
  assert.equal(call('POST', '/k2'), 2);
  assert.equal(call('POST', '/k3'), 1, 'k1, used least recently, makes room');
  assert.equal(app.memoryUsage().length, 3, 'the two kept keys, and the interpreter for requests without reuse');
  assert.equal(call('POST', '/k2'), 3);
  assert.equal(call('POST', '/k1'), 1, 'k1 was dropped');
  assert.equal(call('POST', '/k2'), 4);
  app.dispose();
});

test('as in CCF, a module top level runs within the request that loads it: its KV transaction and ccf.rpc', async () => {
  const app = await JsApp.create({ limits: TEST_LIMITS });
  const store = storeWithApp(
    bundleOf(
      { 'top.js': 'const records = ccf.kv["records"]; const before = records.size; records.set(ccf.strToBuf("k"), ccf.strToBuf("v")); ccf.rpc.setApplyWrites(true); export function f() { return { statusCode: 400, body: { before } }; }' },
      { '/top': { post: { js_function: 'f', js_module: 'top.js' } } },
    ),
  );
  const tx = store.beginTransaction();
  const response = app.invoke('v1', appRequest('POST', '/app/top'), tx, host);
  assert.deepEqual([response.statusCode, JSON.parse(decodeText(response.body ?? new Uint8Array())), response.applyWrites], [400, { before: 0 }, true]);
  assert.equal(decodeText(tx.map('records').get(text('k'))!), 'v', "the top level's write is the request's");
  app.dispose();
});

test('an app whose interpreters cannot all be created fails whole: JsUnavailable with the cause, and those made are disposed', async () => {
  const refusal = new RangeError('WebAssembly.Memory(): could not allocate memory');
  const made: JsInterpreter[] = [];
  let attempts = 0;
  // The third of five fails, as one QuickJS instance does when the address space runs out.
  const createInterpreter = async (options: JsInterpreterOptions) => {
    attempts += 1;
    if (attempts === 3) throw refusal;
    const interpreter = await JsInterpreter.create(options);
    made.push(interpreter);
    return interpreter;
  };
  await assert.rejects(JsApp.create({ limits: TEST_LIMITS, interpreters: 4, createInterpreter }), (error: unknown) => {
    assert.ok(error instanceof CocoError, String(error));
    assert.equal(error.code, 'JsUnavailable');
    assert.equal(error.cause, refusal);
    assert.equal(error.message, "the app's 5 interpreters could not be created (RangeError: WebAssembly.Memory(): could not allocate memory); retry shortly");
    return true;
  });
  assert.equal(made.length, 4, 'the others were made');
  assert.deepEqual(made.map((interpreter) => interpreter.isUsable), [false, false, false, false], 'and disposed');
});

test('an app whose modules call generateRsaKeyPair has the node make 2048-bit pairs ahead from its first request on, once per app version; others do not', async () => {
  const prepared: [number, number][] = [];
  const rsaHost = new TestHost();
  rsaHost.rsaKeyPairs = { prepare: (bits, exponent) => void prepared.push([bits, exponent]), take: () => undefined };
  const app = await JsApp.create({ limits: TEST_LIMITS, interpreters: 1 });
  const endpoints = { '/plain': { get: { js_function: 'plain', mode: 'readonly' as const } } };
  const rsaStore = storeWithApp(bundleOf({ 'app.js': 'export function plain() { return {}; }\nexport function keys() { return { body: ccf.crypto.generateRsaKeyPair(2048).publicKey }; }' }, endpoints));
  const plainStore = storeWithApp(bundleOf({ 'app.js': 'export function plain() { return {}; }' }, endpoints));
  for (const [version, store] of [['plain', plainStore], ['rsa', rsaStore], ['rsa', rsaStore]] as const) {
    app.invoke(version, appRequest('GET', '/app/plain'), store.beginTransaction(), rsaHost);
  }
  assert.deepEqual(prepared, [[2048, 65537]]);
  app.dispose();
});
