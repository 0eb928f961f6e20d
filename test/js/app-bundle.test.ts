import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CocoError } from '../../src/errors.js';
import { bundleToKvWrites, ENDPOINTS_MAP, MODULES_MAP, parseAppBundle, readAppFromKv, type AppBundle } from '../../src/js/app-bundle.js';
import { Store } from '../../src/kv/store.js';
import { decodeText, text } from './js-test-host.js';

function validBundle(): Record<string, unknown> {
  return {
    metadata: {
      endpoints: {
        '/log/private': {
          post: { js_module: 'endpoints/log.js', js_function: 'post', forwarding_required: 'sometimes', authn_policies: ['user_cert'], mode: 'readwrite', openapi: {} },
          get: {
            js_module: 'endpoints/log.js',
            js_function: 'get',
            forwarding_required: 'never',
            authn_policies: [{ all_of: ['user_cert', 'jwt'] }],
            mode: 'readonly',
            redirection_strategy: 'to_primary',
            interpreter_reuse: { key: 'log' },
          },
        },
      },
    },
    modules: [
      { name: 'endpoints/log.js', module: 'import { f } from "../lib/util.js"; export const post = () => f();' },
      { name: 'lib/util.js', module: 'export const f = () => ({});' },
    ],
  };
}

test('a valid bundle parses as it is', () => {
  const bundle = validBundle();
  assert.deepEqual(parseAppBundle(bundle), bundle);
});

/** A bundle to mutate freely in the cases below. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

/** Mutations of a valid bundle and the path the error must name. */
const MALFORMED: [string, (bundle: Loose) => unknown, RegExp][] = [
  ['not an object', () => 'bundle', /^bundle must be an object, got string "bundle"$/],
  ['modules not an array', (b) => ((b.modules = {}), b), /^bundle\.modules must be an array, got an object$/],
  ['module name not a string', (b) => ((b.modules[1].name = 7), b), /^bundle\.modules\[1\]\.name must be a string, got number 7$/],
  ['module source missing', (b) => (delete b.modules[0].module, b), /^bundle\.modules\[0\]\.module must be a string, got undefined$/],
  ['absolute module name', (b) => ((b.modules[1].name = '/lib/util.js'), b), /^bundle\.modules\[1\]\.name must be a relative path/],
  ['module name with ..', (b) => ((b.modules[1].name = 'lib/../x.js'), b), /^bundle\.modules\[1\]\.name must be a relative path/],
  ['repeated module name', (b) => (b.modules.push({ name: 'lib/util.js', module: '' }), b), /^bundle\.modules\[2\]\.name repeats module name "lib\/util\.js"$/],
  ['metadata missing', (b) => (delete b.metadata, b), /^bundle\.metadata must be an object, got undefined$/],
  ['endpoints an array', (b) => ((b.metadata.endpoints = []), b), /^bundle\.metadata\.endpoints must be an object, got an array$/],
  ['path without slash', (b) => ((b.metadata.endpoints.log = {}), b), /^bundle\.metadata\.endpoints\["log"\] is not a path/],
  ['bad method', (b) => ((b.metadata.endpoints['/log/private']['get it'] = {}), b), /\["get it"\] is not an HTTP method/],
  ['repeated method', (b) => ((b.metadata.endpoints['/log/private'].GET = b.metadata.endpoints['/log/private'].get), b), /\["GET"\] repeats endpoint GET \/log\/private/],
  ['bad mode', (b) => ((b.metadata.endpoints['/log/private'].post.mode = 'rw'), b), /\["post"\]\.mode must be one of "readwrite", "readonly", "historical", got "rw"$/],
  ['forwarding missing', (b) => (delete b.metadata.endpoints['/log/private'].post.forwarding_required, b), /\["post"\]\.forwarding_required must be one of "sometimes", "always", "never", got undefined$/],
  ['bad redirection', (b) => ((b.metadata.endpoints['/log/private'].get.redirection_strategy = 'elsewhere'), b), /\["get"\]\.redirection_strategy must be one of/],
  ['authn not an array', (b) => ((b.metadata.endpoints['/log/private'].post.authn_policies = 'user_cert'), b), /\["post"\]\.authn_policies must be an array/],
  ['all_of not strings', (b) => ((b.metadata.endpoints['/log/private'].get.authn_policies = [{ all_of: ['jwt', 1] }]), b), /\["get"\]\.authn_policies\[0\]\.all_of\[1\] must be a string/],
  ['policy of wrong type', (b) => ((b.metadata.endpoints['/log/private'].get.authn_policies = [5]), b), /\["get"\]\.authn_policies\[0\] must be an object, got number 5/],
  ['empty js_function', (b) => ((b.metadata.endpoints['/log/private'].get.js_function = ''), b), /\["get"\]\.js_function must not be empty/],
  ['openapi not an object', (b) => ((b.metadata.endpoints['/log/private'].post.openapi = 'x'), b), /\["post"\]\.openapi must be an object/],
  ['openapi_hidden not a boolean', (b) => ((b.metadata.endpoints['/log/private'].post.openapi_hidden = 'yes'), b), /\["post"\]\.openapi_hidden must be a boolean/],
  ['interpreter_reuse without key', (b) => ((b.metadata.endpoints['/log/private'].get.interpreter_reuse = {}), b), /\["get"\]\.interpreter_reuse\.key must be a string/],
  ['unknown js_module', (b) => ((b.metadata.endpoints['/log/private'].post.js_module = 'missing.js'), b), /\["post"\]\.js_module names module 'missing\.js', which is not in bundle\.modules/],
];

for (const [name, mutate, message] of MALFORMED) {
  test(`a bundle with ${name} is refused with the offending path`, () => {
    assert.throws(() => parseAppBundle(mutate(validBundle())), (error: CocoError) => error.code === 'InvalidAppBundle' && message.test(error.message));
  });
}

test('bundleToKvWrites encodes modules and endpoints the way set_js_app stores them', () => {
  const writes = bundleToKvWrites(parseAppBundle(validBundle()));
  assert.deepEqual(
    writes.map((w) => [w.map, decodeText(w.key)]),
    [
      [MODULES_MAP, '/endpoints/log.js'],
      [MODULES_MAP, '/lib/util.js'],
      [ENDPOINTS_MAP, 'POST /log/private'],
      [ENDPOINTS_MAP, 'GET /log/private'],
    ],
  );
  assert.equal(decodeText(writes[1]!.value), 'export const f = () => ({});');
  assert.equal(
    decodeText(writes[2]!.value),
    '{"js_module":"/endpoints/log.js","js_function":"post","forwarding_required":"sometimes","authn_policies":["user_cert"],"mode":"readwrite","openapi":{}}',
  );
});

test('readAppFromKv reads back what bundleToKvWrites wrote', () => {
  const bundle: AppBundle = parseAppBundle(validBundle());
  const store = new Store();
  const tx = store.beginTransaction();
  for (const write of bundleToKvWrites(bundle)) tx.map(write.map).set(write.key, write.value);
  store.commit(tx, 1n);
  const app = readAppFromKv(store.beginTransaction());
  assert.deepEqual([...app.modules.keys()], ['/endpoints/log.js', '/lib/util.js']);
  assert.equal(app.modules.get('/lib/util.js'), 'export const f = () => ({});');
  assert.deepEqual([...app.endpoints.keys()].sort(), ['GET /log/private', 'POST /log/private']);
  assert.equal(app.endpoints.get('GET /log/private')?.js_module, '/endpoints/log.js');
  assert.deepEqual(app.endpoints.get('GET /log/private')?.authn_policies, [{ all_of: ['user_cert', 'jwt'] }]);
});

test('readAppFromKv refuses malformed entries, naming the map and key', () => {
  const cases: [string, Uint8Array, Uint8Array, RegExp][] = [
    [MODULES_MAP, text('no-slash.js'), text(''), /public:ccf\.gov\.modules\["no-slash\.js"\] is not a module name/],
    [MODULES_MAP, text('/bad.js'), new Uint8Array([0xff, 0xfe]), /public:ccf\.gov\.modules value of "\/bad\.js" is not valid UTF-8/],
    [ENDPOINTS_MAP, text('GET/log'), text('{}'), /\["GET\/log"\] is not an endpoint key/],
    [ENDPOINTS_MAP, text('GET /log'), text('{not json'), /\["GET \/log"\] does not hold JSON/],
    [ENDPOINTS_MAP, text('GET /log'), text('{"js_module":"/a.js"}'), /\["GET \/log"\]\.js_function must be a string/],
  ];
  for (const [map, key, value, message] of cases) {
    const store = new Store();
    const tx = store.beginTransaction();
    tx.map(map).set(key, value);
    store.commit(tx, 1n);
    assert.throws(() => readAppFromKv(store.beginTransaction()), (error: CocoError) => error.code === 'InvalidAppBundle' && message.test(error.message), message.source);
  }
});
