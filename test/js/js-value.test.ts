import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CocoError } from '../../src/errors.js';
import { decodeJsValue, encodeJsValue } from '../../src/js/js-value.js';

const MARKER = 'f00dfeed';

test('values with bytes anywhere survive encoding and decoding', () => {
  const value = { a: [1, new Uint8Array([1, 2]), { b: new Uint8Array(0) }], c: 'x', d: null, e: true };
  const encoded = encodeJsValue(value, MARKER);
  assert.equal(encoded.buffers.length, 2);
  assert.deepEqual(decodeJsValue(encoded, MARKER), value);
});

test('values without bytes encode as plain JSON', () => {
  assert.deepEqual(encodeJsValue({ a: [1, 'two'] }, MARKER), { json: '{"a":[1,"two"]}', buffers: [] });
});

test('an object that only looks like a buffer reference under another marker stays an object', () => {
  const encoded = encodeJsValue([new Uint8Array([9]), { other: 0 }], MARKER);
  assert.deepEqual(decodeJsValue(encoded, MARKER), [new Uint8Array([9]), { other: 0 }]);
});

test('a reference to a buffer that was not passed is refused', () => {
  assert.throws(() => decodeJsValue({ json: `[{"${MARKER}":3}]`, buffers: [new Uint8Array(1)] }, MARKER), (error: CocoError) => error.code === 'InternalError');
});
