import assert from 'node:assert/strict';
import test from 'node:test';
import { CocoError } from '../../src/errors.js';
import { RouteTable } from '../../src/rpc/route-table.js';

function table(): RouteTable<string> {
  const routes = new RouteTable<string>();
  for (const [method, path] of [
    ['GET', '/members/proposals'],
    ['POST', '/members/proposals:create'],
    ['GET', '/members/proposals/{proposalId}'],
    ['POST', '/members/proposals/{proposalId}:withdraw'],
    ['POST', '/members/proposals/{proposalId}/ballots/{memberId}:submit'],
    ['GET', '/members/proposals/{proposalId}/ballots/{memberId}'],
    ['GET', '/network/nodes/self'],
    ['GET', '/network/nodes/{node_id}'],
  ] as const) {
    routes.add({ method, path, handler: `${method} ${path}` });
  }
  return routes;
}

const cases: [string, string, string | undefined, Record<string, string>][] = [
  ['GET', '/members/proposals', 'GET /members/proposals', {}],
  ['POST', '/members/proposals:create', 'POST /members/proposals:create', {}],
  ['GET', '/members/proposals/abc', 'GET /members/proposals/{proposalId}', { proposalId: 'abc' }],
  ['POST', '/members/proposals/abc:withdraw', 'POST /members/proposals/{proposalId}:withdraw', { proposalId: 'abc' }],
  ['POST', '/members/proposals/p1/ballots/m1:submit', 'POST /members/proposals/{proposalId}/ballots/{memberId}:submit', { proposalId: 'p1', memberId: 'm1' }],
  ['GET', '/members/proposals/p1/ballots/m1', 'GET /members/proposals/{proposalId}/ballots/{memberId}', { proposalId: 'p1', memberId: 'm1' }],
  ['GET', '/network/nodes/self', 'GET /network/nodes/self', {}],
  ['GET', '/network/nodes/a%20b', 'GET /network/nodes/{node_id}', { node_id: 'a b' }],
  ['GET', '/members/proposals/a/b', undefined, {}],
  ['GET', '/members', undefined, {}],
];

for (const [method, path, expected, params] of cases) {
  test(`${method} ${path} routes to ${expected ?? 'nothing'}`, () => {
    const match = table().match(method, path);
    if (expected === undefined) return assert.equal(match, undefined);
    assert.ok(match && 'route' in match, JSON.stringify(match));
    assert.equal(match.route.handler, expected);
    assert.deepEqual(match.params, params);
  });
}

test('a path parameter that is not valid percent-encoding is refused as InvalidInput', () => {
  for (const path of ['/network/nodes/%zz', '/network/nodes/%', '/members/proposals/p1/ballots/%E0%A4%A']) {
    assert.throws(() => table().match('GET', path), (error) => error instanceof CocoError && error.code === 'InvalidInput' && /not valid percent-encoding/.test(error.message), path);
  }
});

test('a known path with another method lists the allowed methods', () => {
  assert.deepEqual(table().match('DELETE', '/members/proposals'), { allowedMethods: ['GET'] });
  assert.deepEqual(table().match('PUT', '/members/proposals/abc:withdraw'), { allowedMethods: ['POST'] });
});

test('literal paths win over templates whatever the order they were added in', () => {
  const routes = new RouteTable<string>();
  routes.add({ method: 'GET', path: '/nodes/{id}', handler: 'template' });
  routes.add({ method: 'GET', path: '/nodes/self', handler: 'literal' });
  const match = routes.match('GET', '/nodes/self');
  assert.ok(match && 'route' in match);
  assert.equal(match.route.handler, 'literal');
});

test('regular-expression characters in paths are literal', () => {
  const routes = new RouteTable<string>();
  routes.add({ method: 'GET', path: '/a.b/(x)+', handler: 'h' });
  assert.ok(routes.match('GET', '/a.b/(x)+'));
  assert.equal(routes.match('GET', '/aXb/(x)+'), undefined);
});
