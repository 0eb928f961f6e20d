import { test } from 'node:test';
import assert from 'node:assert/strict';
import { categorizeMap, describeKvContext, mapAccess, type KvContext, type MapAccess } from '../../src/js/kv-access.js';

const CONTEXTS: KvContext[] = ['application', 'application-readonly', 'governance-readonly', 'governance-apply'];

// One map per cell of CCF's matrix (src/js/permissions_checks.h), then the access each context gets, in CONTEXTS order.
const MATRIX: [string, MapAccess[]][] = [
  ['public:ccf.internal.signatures', ['read', 'read', 'read', 'read']],
  ['ccf.internal.secrets', ['none', 'none', 'none', 'none']],
  ['public:ccf.gov.members.info', ['read', 'read', 'read', 'readwrite']],
  ['ccf.gov.private_thing', ['none', 'none', 'none', 'none']],
  ['public:records', ['readwrite', 'read', 'read', 'write']],
  ['records', ['readwrite', 'read', 'none', 'none']],
  // Coco's own maps (the Ethereum adapter's state) are internal: no JavaScript writes them.
  ['coco.ethereum.accounts', ['none', 'none', 'none', 'none']],
  ['public:coco.ethereum.accounts', ['read', 'read', 'read', 'read']],
  // Other ccf.-prefixed names are reserved: nobody may touch them.
  ['ccf.foo', ['none', 'none', 'none', 'none']],
  ['public:ccf.foo', ['none', 'none', 'none', 'none']],
  ['ccf.gov', ['none', 'none', 'none', 'none']],
  // Names are case-sensitive, and only the exact "public:" prefix makes a map public.
  ['CCF.gov.members', ['readwrite', 'read', 'none', 'none']],
  ['Public:ccf.gov.members.info', ['readwrite', 'read', 'none', 'none']],
  ['publicrecords', ['readwrite', 'read', 'none', 'none']],
  ['public:public:records', ['readwrite', 'read', 'read', 'write']],
];

for (const [mapName, expected] of MATRIX) {
  for (const [i, context] of CONTEXTS.entries()) {
    test(`${context} context gets '${expected[i]}' access to map ${mapName}`, () => {
      assert.equal(mapAccess(context, mapName), expected[i]);
    });
  }
}

test('categorizeMap splits a name into domain and namespace', () => {
  const cases: [string, ReturnType<typeof categorizeMap>][] = [
    ['public:ccf.gov.x', { domain: 'public', namespace: 'governance' }],
    ['ccf.internal.x', { domain: 'private', namespace: 'internal' }],
    ['public:ccf.x', { domain: 'public', namespace: 'reserved' }],
    ['app', { domain: 'private', namespace: 'application' }],
    ['public:', { domain: 'public', namespace: 'application' }],
  ];
  for (const [name, category] of cases) assert.deepEqual(categorizeMap(name), category, name);
});

test('describeKvContext names each context as error messages show it', () => {
  assert.deepEqual(CONTEXTS.map(describeKvContext), ['application', 'read-only application', 'read-only governance', 'read-write governance']);
});
