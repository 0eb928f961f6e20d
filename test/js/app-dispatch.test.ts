import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { CocoError } from '../../src/errors.js';
import type { AppResponse } from '../../src/js/app-dispatch.js';
import type { AppRequest } from '../../src/js/app-request.js';
import { JsExceptionError } from '../../src/js/js-exception.js';
import { JsApp } from '../../src/js/js-app.js';
import { Store } from '../../src/kv/store.js';
import { appRequest, bundleOf, decodeText, installApp, storeWithApp, TestHost, TEST_LIMITS, testReceipt, text } from './js-test-host.js';

const MODULE = `
  export function echo(request) {
    const { body, ...rest } = request;
    return { body: { keys: Object.keys(request), request: rest, text: body.text() } };
  }
  export function bodies(request) {
    return { body: { text: request.body.text(), json: request.body.json(), bytes: Array.from(new Uint8Array(request.body.arrayBuffer())) } };
  }
  export function raw(request) { return { body: request.body.arrayBuffer() }; }
  export function rewrite(request) {
    const headersBefore = request.headers;
    request.headers = { replaced: "yes" };
    request.caller = "someone else";
    request.params.extra = "added";
    return { body: { headersBefore, after: JSON.parse(JSON.stringify(request)), keys: Object.keys(request) } };
  }
  export function bytesOfCaller(request) { return { body: request.caller.cose.content }; }
  let saved;
  export function keep(request) { saved = request; return {}; }
  export function readKept() { return { body: { json: saved.body.json(), text: saved.body.text(), bytes: Array.from(new Uint8Array(saved.body.arrayBuffer())) } }; }
  export function respond(request) {
    const kind = request.params.kind;
    const bodies = {
      text: () => "héllo\\0 😀",
      buffer: () => new Uint8Array([1, 2, 3]).buffer,
      view: () => new Uint8Array([9, 1, 2, 3, 9]).subarray(1, 4),
      dataview: () => new DataView(new Uint8Array([4, 5, 6]).buffer, 1),
      object: () => ({ a: [1, "b"] }),
      number: () => 42,
      null: () => null,
      boolean: () => false,
      none: () => undefined,
    };
    return { body: bodies[kind]() };
  }
  export function headers() { return { statusCode: 201, headers: { "Content-Type": "application/cbor", "X-Count": 5 }, body: "x" }; }
  export function echoHeader(request) { return { headers: { "x-echo": request.headers["x-utf"] } }; }
  export function header(request) { const [name, value] = JSON.parse(request.query); ccf.kv["records"].set(ccf.strToBuf("h"), ccf.strToBuf("v")); return { headers: { [name]: value } }; }
  export function status(request) { return { statusCode: JSON.parse(request.query) }; }
  export function invalid(request) {
    const cyclic = {};
    cyclic.self = cyclic;
    const results = { string: () => "just a string", undefined: () => undefined, promise: () => new Promise(() => {}), cyclic: () => ({ body: cyclic }), bigint: () => ({ body: 1n }) };
    return results[request.query]();
  }
  export function write(request) {
    const [status, force] = JSON.parse(request.query);
    ccf.kv["records"].set(ccf.strToBuf("k"), ccf.strToBuf("v"));
    if (force !== null) ccf.rpc.setApplyWrites(force);
    return { statusCode: status };
  }
  export function claims(request) {
    const digest = request.body.arrayBuffer();
    const args = { "": [digest], view: [new Uint8Array(digest)], text: ["digest"], two: [digest, digest] }[request.query];
    ccf.rpc.setClaimsDigest(...args);
    return {};
  }
  export function fail() { helper(); }
  function helper() { throw new Error("handler failed"); }
  export function quiet() { ccf.enableMetricsLogging(false); return {}; }
  let counter = 0;
  export function count() { return { body: ++counter }; }
  export function spin() { for (;;) {} }
  export function historical() { return { body: ccf.historicalState.transactionId }; }
`;

const BUNDLE = bundleOf(
  { 'app.js': MODULE },
  {
    // Kept between requests: the shared strings of a long-lived interpreter are under test.
    '/echo/{id}': { post: { js_function: 'echo', interpreter_reuse: { key: 'echo' } } },
    '/bodies': { post: { js_function: 'bodies' } },
    '/raw': { post: { js_function: 'raw' } },
    '/rewrite': { post: { js_function: 'rewrite' } },
    '/cose': { post: { js_function: 'bytesOfCaller' } },
    '/keep': { post: { js_function: 'keep', interpreter_reuse: { key: 'keep' } } },
    '/kept': { get: { js_function: 'readKept', interpreter_reuse: { key: 'keep' } } },
    '/respond/{kind}': { get: { js_function: 'respond', mode: 'readonly' } },
    '/headers': { get: { js_function: 'headers', mode: 'readonly' } },
    '/header': { post: { js_function: 'header' } },
    '/echo-header': { post: { js_function: 'echoHeader' } },
    '/status': { get: { js_function: 'status', mode: 'readonly' } },
    '/invalid': { get: { js_function: 'invalid', mode: 'readonly' } },
    '/write': { post: { js_function: 'write' }, get: { js_function: 'write', mode: 'readonly' } },
    '/claims': { post: { js_function: 'claims' } },
    '/fail': { post: { js_function: 'fail' } },
    '/quiet': { get: { js_function: 'quiet', mode: 'readonly', interpreter_reuse: { key: 'kept' } } },
    '/count': { get: { js_function: 'count', mode: 'readonly', interpreter_reuse: { key: 'kept' } } },
    '/spin': { get: { js_function: 'spin', mode: 'readonly', interpreter_reuse: { key: 'kept' } } },
    '/historical': { get: { js_function: 'historical', mode: 'historical' } },
  },
);

const app = await JsApp.create({ limits: TEST_LIMITS, interpreters: 2 });
const store = storeWithApp(BUNDLE);
const host = new TestHost();
test.after(() => app.dispose());

function invoke(request: AppRequest, versionKey = 'v1'): AppResponse {
  return app.invoke(versionKey, request, store.beginTransaction(), host);
}

/** The response's body, which must be there. */
function bodyOf(response: AppResponse): Uint8Array {
  assert.ok(response.body !== undefined, 'the response has a body');
  return response.body;
}

function json(response: AppResponse): unknown {
  assert.equal(response.headers['content-type'], 'application/json');
  return JSON.parse(decodeText(bodyOf(response)));
}

function throwsCode(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (error: unknown) => error instanceof CocoError && error.code === code && (message === undefined || message.test(error.message)));
}

test('the JS Request has CCF members: lower-cased headers, params, query, path, url, route, hostname, caller', () => {
  const caller = { policy: 'user_cert', id: 'ab'.repeat(32), data: { role: 'admin' }, cert: '-----BEGIN CERTIFICATE-----\n...' };
  const response = invoke(
    appRequest('POST', '/app/echo/item%201', {
      query: 'a=1&b=two',
      headers: { 'Content-Type': 'text/plain', 'X-Custom': 'Value' },
      body: text('hello'),
      hostname: 'node0.example.com',
      caller,
    }),
  );
  assert.equal(response.statusCode, 200);
  assert.deepEqual(json(response), {
    keys: ['headers', 'query', 'path', 'method', 'hostname', 'route', 'url', 'params', 'body', 'caller'],
    request: {
      headers: { 'content-type': 'text/plain', 'x-custom': 'Value' },
      query: 'a=1&b=two',
      path: '/app/echo/item%201',
      method: 'POST',
      hostname: 'node0.example.com',
      route: '/app/echo/{id}',
      url: '/app/echo/item%201?a=1&b=two',
      params: { id: 'item%201' },
      caller,
    },
    text: 'hello',
  });
  const bare = json(invoke(appRequest('POST', '/app/echo/1'))) as { request: Record<string, unknown> };
  assert.equal(bare.request.url, '/app/echo/1', 'no "?" without a query');
  assert.equal(bare.request.hostname, null);
  assert.equal(bare.request.caller, null);
});

/** Port for tests that need Node's own HTTP parser and writer (this helper's range: 9500-9599). */
const NODE_HTTP_PORT = 9510;

/**
 * Sends a request whose head holds `lines` (raw bytes) to a Node HTTP server that answers with the
 * headers `answer` makes of the request's: the request headers as Node's parser gave them, and the
 * bytes of the response head as Node's writer sent them.
 */
async function throughNodeHttp(lines: Buffer[], answer: (headers: IncomingHttpHeaders) => Record<string, string>): Promise<{ parsed: IncomingHttpHeaders; responseHead: Buffer }> {
  let parsed: IncomingHttpHeaders = {};
  const server = createServer((request, response) => {
    parsed = request.headers;
    response.writeHead(200, { ...answer(request.headers), connection: 'close' });
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(NODE_HTTP_PORT, '127.0.0.1', resolve));
  try {
    const received = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const socket = connect(NODE_HTTP_PORT, '127.0.0.1');
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('end', () => resolve(Buffer.concat(chunks)));
      socket.on('error', reject);
      socket.end(Buffer.concat([Buffer.from('GET / HTTP/1.1\r\n'), ...lines.map((line) => Buffer.concat([line, Buffer.from('\r\n')])), Buffer.from('\r\n')]));
    });
    return { parsed, responseHead: received.subarray(0, received.indexOf('\r\n\r\n')) };
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

const flatHeaders = (headers: IncomingHttpHeaders) => Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, String(value)]));

test('header values reach the app UTF-8 decoded, as CCF gives them; bytes that are no UTF-8 keep their Latin-1 reading', { timeout: 10_000 }, async () => {
  const { parsed } = await throughNodeHttp(
    [Buffer.from('Host: nœud.example'), Buffer.from('X-Utf: héllo 😀'), Buffer.from([...Buffer.from('X-Bytes: '), 0xff, 0xfe, 0x41]), Buffer.from([...Buffer.from('X-Bom: '), 0xef, 0xbb, 0xbf, 0x41])],
    () => ({}),
  );
  assert.equal(parsed['x-utf'], Buffer.from('héllo 😀').toString('latin1'), "Node's parser reads each byte as one Latin-1 character");
  const headers = flatHeaders(parsed);
  const seen = json(invoke(appRequest('POST', '/app/echo/1', { headers, hostname: headers.host ?? null }))) as { request: { headers: Record<string, string>; hostname: string } };
  assert.equal(seen.request.headers['x-utf'], 'héllo 😀');
  assert.equal(seen.request.headers['x-bytes'], '\u00ff\u00feA', 'not UTF-8: one character per byte, as before');
  assert.equal(seen.request.headers['x-bom'], '\ufeffA', 'a leading byte order mark is part of the value');
  assert.equal(seen.request.headers.host, 'nœud.example');
  assert.equal(seen.request.hostname, 'nœud.example');
});

test('header values an app sets go out as their UTF-8 bytes, as CCF sends them: a request header echoed back is the same bytes', { timeout: 10_000 }, async () => {
  const { responseHead } = await throughNodeHttp([Buffer.from('Host: node0'), Buffer.from('X-Utf: héllo 😀')], (headers) => invoke(appRequest('POST', '/app/echo-header', { headers: flatHeaders(headers) })).headers);
  assert.ok(responseHead.includes(Buffer.from('\r\nx-echo: héllo 😀\r\n')), `the response head carries the UTF-8 bytes: ${JSON.stringify(responseHead.toString('latin1'))}`);
});

test('an app may overwrite request members, headers and caller included, as on a plain object', () => {
  const caller = { policy: 'no_auth' };
  const result = json(invoke(appRequest('POST', '/app/rewrite', { headers: { 'X-One': '1' }, caller }))) as Record<string, unknown>;
  assert.deepEqual(result.headersBefore, { 'x-one': '1' });
  assert.deepEqual(result.after, {
    headers: { replaced: 'yes' },
    query: '',
    path: '/app/rewrite',
    method: 'POST',
    hostname: null,
    route: '/app/rewrite',
    url: '/app/rewrite',
    params: { extra: 'added' },
    body: {},
    caller: 'someone else',
  });
  assert.deepEqual(result.keys, ['headers', 'query', 'path', 'method', 'hostname', 'route', 'url', 'params', 'body', 'caller'], 'members keep their order');
});

test('members that never repeat (headers, callers, hosts) arrive intact and leave the heap bounded', () => {
  const measure = () => app.memoryUsage().reduce((sum, usage) => sum + usage.allocations, 0);
  const echo = (i: number, padding: number) => {
    const caller = { policy: 'user_cert', id: i.toString(16).padStart(64, '0'), data: { note: 'x'.repeat(padding) }, cert: `cert ${i}` };
    const request = appRequest('POST', `/app/echo/${i}`, { headers: { 'X-Request': String(i) }, hostname: `host${i}.example`, caller });
    const { request: seen } = json(invoke(request)) as { request: Record<string, unknown> };
    assert.deepEqual(seen.headers, { 'x-request': String(i) });
    assert.equal(seen.hostname, `host${i}.example`);
    assert.deepEqual(seen.caller, caller);
    assert.equal(seen.path, `/app/echo/${i}`);
  };
  echo(0, 5_000); // a caller too long to share
  for (let i = 1; i <= 200; i++) echo(i, 100);
  const before = measure();
  for (let i = 201; i <= 2_000; i++) echo(i, 100);
  const after = measure();
  assert.ok(after - before < 100, `live allocations in QuickJS grew from ${before} to ${after}`);
});

test('members that sometimes repeat and sometimes do not arrive intact, whatever the calls before shared', () => {
  // A deterministic mix: some members from small pools (shared strings hit), some fresh (they push
  // older shared strings out), in every order the arguments cross in.
  let seed = 7;
  const next = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  const pick = (pool: number, label: string) => (next(3) === 0 ? `${label}-fresh-${next(1e9)}` : `${label}-${next(pool)}`);
  for (let i = 0; i < 3_000; i++) {
    const caller = { policy: 'user_cert', id: pick(4, 'id'), data: null, cert: 'c' };
    const headers = { 'x-h': pick(3, 'h') };
    const hostname = pick(3, 'host');
    const id = pick(3, 'p');
    const request = appRequest('POST', `/app/echo/${id}`, { headers, hostname, caller, query: next(4) === 0 ? `q=${i}` : '' });
    const { request: seen } = json(invoke(request)) as { request: Record<string, unknown> };
    assert.deepEqual(seen.headers, headers);
    assert.equal(seen.hostname, hostname);
    assert.deepEqual(seen.caller, caller);
    assert.deepEqual(seen.params, { id });
  }
});

test('request.body gives text, JSON and bytes, for small, large, binary and NUL-holding bodies', () => {
  for (const body of ['{"a": [1, "é"]}', `{"long": "${'x'.repeat(70_000)}"}`, '"nul \\u0000 inside"']) {
    const result = json(invoke(appRequest('POST', '/app/bodies', { body: text(body) }))) as { text: string; json: unknown; bytes: number[] };
    assert.equal(result.text, body);
    assert.deepEqual(result.json, JSON.parse(body));
    assert.deepEqual(result.bytes, Array.from(text(body)));
  }
  const binary = new Uint8Array([0, 0xff, 0xfe, 0x80, 1]);
  const raw = invoke(appRequest('POST', '/app/raw', { body: binary }));
  assert.deepEqual(raw.body, binary);
  assert.equal(raw.headers['content-type'], 'application/octet-stream');
  assert.deepEqual(invoke(appRequest('POST', '/app/cose', { caller: { policy: 'user_cose_sign1', cose: { content: new Uint8Array([7, 7]) } } })).body, new Uint8Array([7, 7]));
});

test("as in CCF, a request kept past its own call reads the body of the request being handled, never its own old one", () => {
  invoke(appRequest('POST', '/app/keep', { body: text('{"who":"alice"}') }));
  for (const who of ['bob', 'carol']) {
    const body = `{"who":"${who}"}`;
    assert.deepEqual(json(invoke(appRequest('GET', '/app/kept', { body: text(body) }))), { json: { who }, text: body, bytes: Array.from(text(body)) });
  }
  const large = `{"who":"${'d'.repeat(70 * 1024)}"}`;
  assert.equal((json(invoke(appRequest('GET', '/app/kept', { body: text(large) }))) as { text: string }).text, large, 'a body too large to come inline too');
});

// [body kind, content type, body bytes]
const CONTENT_TYPES: [string, string | undefined, Uint8Array | undefined][] = [
  ['text', 'text/plain', text('héllo\0 😀')],
  ['buffer', 'application/octet-stream', new Uint8Array([1, 2, 3])],
  ['view', 'application/octet-stream', new Uint8Array([1, 2, 3])],
  ['dataview', 'application/octet-stream', new Uint8Array([5, 6])],
  ['object', 'application/json', text('{"a":[1,"b"]}')],
  ['number', 'application/json', text('42')],
  ['null', 'application/json', text('null')],
  ['boolean', 'application/json', text('false')],
  ['none', undefined, undefined],
];

for (const [kind, contentType, body] of CONTENT_TYPES) {
  test(`a ${kind} body is sent as ${contentType ?? 'nothing, without content type'}`, () => {
    const response = invoke(appRequest('GET', `/app/respond/${kind}`));
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['content-type'], contentType);
    assert.deepEqual(response.body, body);
  });
}

test('headers the function sets win over the default content type; names are lower-cased, values strings', () => {
  const response = invoke(appRequest('GET', '/app/headers'));
  assert.equal(response.statusCode, 201);
  assert.deepEqual(response.headers, { 'content-type': 'application/cbor', 'x-count': '5' });
});

test('a header HTTP cannot carry is JsInvalidResponse; tabs pass, and characters beyond ASCII go as UTF-8', () => {
  const headerOf = (name: string, value: string) => invoke(appRequest('POST', '/app/header', { query: JSON.stringify([name, value]) })).headers[name.toLowerCase()];
  assert.equal(headerOf('X-Name', '"quoted"\tand tabbed'), '"quoted"\tand tabbed');
  assert.equal(headerOf('X-Name', 'café 😀'), Buffer.from('café 😀').toString('latin1'), 'for Node to write, one character per UTF-8 byte');
  const bad: [string, string][] = [['x-split', 'a\r\nset-cookie: b'], ['x-nul', 'a\u0000b'], ['x-del', 'a\u007fb'], ['bad name', 'v'], ['x:colon', 'v'], ['', 'v']];
  for (const [name, value] of bad) throwsCode(() => headerOf(name, value), 'JsInvalidResponse', /^Invalid endpoint function return value \(header (value )?type\)\. .*header .* has characters HTTP does not allow/);
});

test('a status code must be an integer from 200 to 599: informational statuses are not final answers', () => {
  assert.equal(invoke(appRequest('GET', '/app/status', { query: '404' })).statusCode, 404);
  assert.equal(invoke(appRequest('GET', '/app/status', { query: 'null' })).statusCode, 200);
  for (const bad of ['200.5', '"200"', '99', '101', '199', '600']) {
    throwsCode(() => invoke(appRequest('GET', '/app/status', { query: bad })), 'JsInvalidResponse', /^Invalid endpoint function return value \(status code type\)\. "\/app\.js" export "status": statusCode must be an integer from 200 to 599/);
  }
});

test('a return value that is no response object, or a body with no JSON form, is JsInvalidResponse', () => {
  const cases: [string, RegExp][] = [
    ['string', /^Invalid endpoint function return value \(not an object\)\. .*must return an object like \{ statusCode, headers, body \}, got a string$/],
    ['undefined', /^Invalid endpoint function return value \(not an object\)\. .*got undefined$/],
    ['promise', /^Invalid endpoint function return value \(a Promise\)\. .*the promise the endpoint function returned never settled/],
    ['cyclic', /^Invalid endpoint function return value \(error during JSON conversion of body\)\. /],
    ['bigint', /^Invalid endpoint function return value \(error during JSON conversion of body\)\. /],
  ];
  for (const [query, message] of cases) throwsCode(() => invoke(appRequest('GET', '/app/invalid', { query })), 'JsInvalidResponse', message);
});

// [status, ccf.rpc.setApplyWrites argument or null, applyWrites]
const APPLY_WRITES: [number, boolean | null, boolean][] = [
  [200, null, true],
  [201, null, true],
  [299, null, true],
  [300, null, false],
  [400, null, false],
  [500, null, false],
  [400, true, true],
  [200, false, false],
];

for (const [status, force, applyWrites] of APPLY_WRITES) {
  test(`status ${status} with setApplyWrites(${force}) ${applyWrites ? 'applies' : 'discards'} the writes`, () => {
    const tx = store.beginTransaction();
    const response = app.invoke('v1', appRequest('POST', '/app/write', { query: JSON.stringify([status, force]) }), tx, host);
    assert.equal(response.statusCode, status);
    assert.equal(response.applyWrites, applyWrites);
    assert.equal(tx.map('records').size(), 1, 'the write is in the transaction either way');
    tx.abort();
  });
}

test('a readonly endpoint cannot write: its KV context is the read-only application one', () => {
  throwsCode(
    () => invoke(appRequest('GET', '/app/write', { query: '[200, null]' })),
    'JsException',
    /Cannot call \.set\(\) on read-only table named records in read-only application execution context\. See https:\/\/microsoft\.github\.io\/CCF\/main\/audit\/read_write_restrictions\.html for more detail\./,
  );
});

test("setClaimsDigest puts a 32-byte digest on the response and refuses anything else with CCF's TypeErrors", () => {
  const digest = new Uint8Array(32).fill(0xab);
  assert.deepEqual(invoke(appRequest('POST', '/app/claims', { body: digest })).claimsDigest, digest);
  assert.equal(invoke(appRequest('GET', '/app/count')).claimsDigest, undefined);
  const refusals: Array<[Uint8Array, string, RegExp]> = [
    [new Uint8Array(31), '', /TypeError: Argument must be an ArrayBuffer of the right size: 32$/],
    [new Uint8Array(33), '', /TypeError: Argument must be an ArrayBuffer of the right size: 32$/],
    [digest, 'view', /TypeError: Argument must be an ArrayBuffer$/],
    [digest, 'text', /TypeError: Argument must be an ArrayBuffer$/],
    [digest, 'two', /TypeError: Passed 2 arguments but expected 1$/],
  ];
  for (const [body, query, message] of refusals) {
    let thrown: unknown;
    try {
      invoke(appRequest('POST', '/app/claims', { body, query }));
    } catch (error) {
      thrown = error;
    }
    assert.ok(thrown instanceof JsExceptionError && thrown.code === 'JsException', `${query}: ${String(thrown)}`);
    assert.match(`${thrown.jsName}: ${thrown.jsMessage}`, message);
  }
});

test('an uncaught exception is a JsException with the JS message and stack', () => {
  let caught: unknown;
  try {
    invoke(appRequest('POST', '/app/fail'));
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof JsExceptionError);
  assert.equal(caught.code, 'JsException');
  assert.equal(caught.jsMessage, 'handler failed');
  assert.match(caught.jsStack ?? '', /at helper \(app\.js:\d+\)\n/);
  assert.match(caught.jsStack ?? '', /at fail \(app\.js:\d+\)\n/);
});

test('every call logs a metrics line, unless the app turns metrics logging off in its interpreter', () => {
  host.logs.length = 0;
  invoke(appRequest('GET', '/app/count'));
  assert.match(host.logs[0]?.message ?? '', /^\[js\] app metrics \| JS execution complete: Method=GET, Path=\/app\/count, Status=200, ExecMilliseconds=\d+$/);
  invoke(appRequest('GET', '/app/quiet'));
  host.logs.length = 0;
  invoke(appRequest('GET', '/app/count'));
  assert.deepEqual(host.logs, []);
});

test('unknown paths and methods are ResourceNotFound and MethodNotAllowed', () => {
  throwsCode(() => invoke(appRequest('GET', '/app/nope')), 'ResourceNotFound', /Unknown path: \/app\/nope/);
  throwsCode(() => invoke(appRequest('GET', '/gov/echo/1')), 'ResourceNotFound');
  throwsCode(() => invoke(appRequest('DELETE', '/app/write')), 'MethodNotAllowed', /allowed: GET, POST/);
  assert.equal(app.endpoints('v1', store.beginTransaction()).match('GET', '/count') !== undefined, true);
});

test('an interpreter_reuse interpreter lasts while the app version does; a new version key loads the current app afresh', async () => {
  const local = await JsApp.create({ limits: TEST_LIMITS, interpreters: 1 });
  const versions = new Store();
  const endpoints = { '/count': { get: { js_function: 'count', interpreter_reuse: { key: 'count' } } } };
  installApp(versions, bundleOf({ 'app.js': 'let n = 0; export function count() { return { body: ++n }; }' }, endpoints));
  const count = (key: string) => json(local.invoke(key, appRequest('GET', '/app/count'), versions.beginTransaction(), host));
  assert.equal(count('v1'), 1);
  assert.equal(count('v1'), 2);
  installApp(versions, bundleOf({ 'app.js': 'let n = 100; export function count() { return { body: ++n }; }' }, endpoints));
  assert.equal(count('v1'), 3, 'the caller decides when the app changed: same key, same app');
  assert.equal(count('v2'), 101);
  assert.equal(count('v2'), 102);
  assert.equal(local.memoryUsage().length, 1);
  local.dispose();
});

test('after a timeout a kept interpreter is loaded afresh for the next request', () => {
  const before = json(invoke(appRequest('GET', '/app/count'))) as number;
  assert.equal(json(invoke(appRequest('GET', '/app/count'))), before + 1);
  throwsCode(() => invoke(appRequest('GET', '/app/spin')), 'JsExecutionTimeout', /^Operation took too long to complete\.$/);
  assert.equal(json(invoke(appRequest('GET', '/app/count'))), 1);
});

test('historical endpoints need the historical state and see it in ccf.historicalState', () => {
  throwsCode(() => invoke(appRequest('GET', '/app/historical')), 'InternalError', /mode "historical" but no historical state/);
  const historicalState = { transactionId: { view: 4, seqno: 9 }, receipt: testReceipt(9), tx: new Store().beginTransaction() };
  const response = app.invoke('v1', appRequest('GET', '/app/historical'), store.beginTransaction(), host, { historicalState });
  assert.equal(decodeText(bodyOf(response)), '4.9');
});

test("when QuickJS overflows Node's own stack, the app reports it and serves again after repair()", async () => {
  const local = await JsApp.create({ limits: TEST_LIMITS, interpreters: 1 });
  const source = 'export function deep() { const f = (n) => (n === 0 ? 0 : 1 + f(n - 1)); return { body: f(1000) }; } export function ok() { return { body: 1 }; }';
  const versions = storeWithApp(bundleOf({ 'app.js': source }, { '/deep': { get: { js_function: 'deep' } }, '/ok': { get: { js_function: 'ok' } } }));
  const run = (path: string) => local.invoke('v1', appRequest('GET', path), versions.beginTransaction(), host);
  // Use up half of Node's stack, then recurse 1000 deep in JS: Node's stack may run out inside QuickJS.
  let depth = 0;
  const probe = (n: number): void => {
    depth = n;
    probe(n + 1);
  };
  assert.throws(() => probe(0), RangeError);
  let outcome: unknown;
  const burn = (n: number): void => {
    if (n > 0) return burn(n - 1);
    try {
      outcome = run('/app/deep').statusCode;
    } catch (error) {
      outcome = error instanceof CocoError ? error.code : error;
    }
  };
  burn(Math.floor(depth / 2));
  assert.ok(outcome === 200 || outcome === 'JsStackOverflow', `unexpected outcome ${String(outcome)}`);
  await local.repair();
  assert.equal(run('/app/ok').statusCode, 200);
  local.dispose();
});
