import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JSON_NESTING_MAX, jsonNestingExceeds } from '../../src/js/json-nesting.js';

test('nesting counts arrays and objects, not brackets inside strings or escaped quotes', () => {
  assert.equal(jsonNestingExceeds('[[{"a":[1]}]]', 4), false);
  assert.equal(jsonNestingExceeds('[[{"a":[[1]]}]]', 4), true);
  assert.equal(jsonNestingExceeds(`["${'['.repeat(50)}"]`, 1), false, 'brackets in a string');
  assert.equal(jsonNestingExceeds(`["\\"${'['.repeat(50)}"]`, 1), false, 'an escaped quote does not end the string');
  assert.equal(jsonNestingExceeds(`["\\\\", [[1]]]`, 2), true, 'an escaped backslash does');
  assert.equal(jsonNestingExceeds(`${'[]'.repeat(5000)}`, 1), false, 'siblings do not add up');
  assert.equal(jsonNestingExceeds('['.repeat(JSON_NESTING_MAX)), false);
  assert.equal(jsonNestingExceeds('['.repeat(JSON_NESTING_MAX + 1)), true);
});
