import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CocoError } from '../../src/errors.js';
import type { EndpointInfo } from '../../src/js/app-bundle.js';
import { EndpointTable, isEndpointMatch } from '../../src/js/endpoint-table.js';

function info(js_function: string): EndpointInfo {
  return { js_module: '/app.js', js_function, authn_policies: [], mode: 'readonly', forwarding_required: 'sometimes' };
}

const KEYS = [
  'GET /log/private',
  'POST /log/private',
  'GET /log/private/count',
  'GET /log/{kind}',
  'GET /log/{kind}/count',
  'GET /users/{id}/posts/{post}',
  'DELETE /users/{id}',
  'GET /a/{x}/c',
  'GET /{y}/b/c',
  'GET /files/{name}.json',
  'GET /files/{name}',
  'PUT /',
];
const table = new EndpointTable(new Map(KEYS.map((key) => [key, info(key)])));

// [method, path, the key it matches, its params]
const MATCHES: [string, string, string, Record<string, string>][] = [
  ['GET', '/log/private', 'GET /log/private', {}],
  ['post', '/log/private', 'POST /log/private', {}],
  ['GET', '/log/private/count', 'GET /log/private/count', {}],
  ['GET', '/log/public', 'GET /log/{kind}', { kind: 'public' }],
  ['GET', '/log/public/count', 'GET /log/{kind}/count', { kind: 'public' }],
  ['GET', '/users/42/posts/7', 'GET /users/{id}/posts/{post}', { id: '42', post: '7' }],
  // Params keep their percent-encoding, as CCF hands them to apps; an encoded '/' does not split a segment.
  ['GET', '/users/a%20b%2Fc/posts/%E2%82%AC', 'GET /users/{id}/posts/{post}', { id: 'a%20b%2Fc', post: '%E2%82%AC' }],
  ['GET', '/users/%ZZ/posts/x', 'GET /users/{id}/posts/{post}', { id: '%ZZ', post: 'x' }],
  ['DELETE', '/users/alice', 'DELETE /users/{id}', { id: 'alice' }],
  // The first segment where two templates differ decides: a literal "a" beats "{y}".
  ['GET', '/a/b/c', 'GET /a/{x}/c', { x: 'b' }],
  ['GET', '/z/b/c', 'GET /{y}/b/c', { y: 'z' }],
  ['GET', '/files/report.json', 'GET /files/{name}.json', { name: 'report' }],
  ['GET', '/files/report.txt', 'GET /files/{name}', { name: 'report.txt' }],
  ['PUT', '/', 'PUT /', {}],
];

for (const [method, path, key, params] of MATCHES) {
  test(`${method} ${path} matches ${key}`, () => {
    const found = table.match(method, path);
    assert.ok(isEndpointMatch(found), `no match: ${JSON.stringify(found)}`);
    assert.equal(found.key, key);
    assert.equal(found.info.js_function, key);
    assert.equal(found.route, key.slice(key.indexOf(' ') + 1));
    assert.deepEqual(found.params, params);
  });
}

test('a path known for other methods only gives the allowed methods (405)', () => {
  assert.deepEqual(table.match('DELETE', '/log/private'), { allowedMethods: ['GET', 'POST'] });
  assert.deepEqual(table.match('POST', '/users/7'), { allowedMethods: ['DELETE'] });
  assert.deepEqual(table.match('PATCH', '/log/other'), { allowedMethods: ['GET'] });
});

test('unknown paths match nothing (404), including a trailing slash and empty template values', () => {
  for (const path of ['/nope', '/log/private/', '/users//posts/1', '/log', '/log/a/b/c', '']) {
    assert.equal(table.match('GET', path), undefined, path);
  }
});

test('two templates of the same shape matching one path are an AmbiguousEndpoint error', () => {
  const ambiguous = new EndpointTable(new Map([['GET /x/{a}', info('a')], ['GET /x/{b}', info('b')]]));
  assert.throws(() => ambiguous.match('GET', '/x/1'), (error: CocoError) => error.code === 'AmbiguousEndpoint' && /GET \/x\/1 matches both/.test(error.message));
});

test('malformed endpoint keys are refused', () => {
  for (const key of ['GET', 'GET log', ' /x']) {
    assert.throws(() => new EndpointTable(new Map([[key, info('f')]])), (error: CocoError) => error.code === 'InvalidAppBundle', key);
  }
});
