// Specification of the query string a JS app is given: decoded as CCF decodes it (%XX of two hex
// digits to its byte, '+' to a space, the bytes read as UTF-8), anything else as it came.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodedQuery } from '../../src/js/request-query.js';

test('decodes percent-escapes and plus signs as CCF does', () => {
  assert.equal(decodedQuery('id=%33%31'), 'id=31');
  assert.equal(decodedQuery('a=b%20c+d%26e'), 'a=b c d&e', 'an encoded & reaches the app as a separator would, as on CCF');
  assert.equal(decodedQuery('x=1&y=%C3%A9'), 'x=1&y=é');
  assert.equal(decodedQuery('k=%e2%82%ac'), 'k=€', 'lower-case hex digits');
  assert.equal(decodedQuery('n=%00'), 'n=\0');
});

test('leaves a % without two hex digits as it is, and reads bytes that are not UTF-8 as U+FFFD', () => {
  assert.equal(decodedQuery('p=100%'), 'p=100%');
  assert.equal(decodedQuery('p=%4'), 'p=%4');
  assert.equal(decodedQuery('p=%zz&q=%4g'), 'p=%zz&q=%4g');
  assert.equal(decodedQuery('b=%FF'), 'b=\uFFFD');
  assert.equal(decodedQuery('%%41'), '%A', 'the first % has no two hex digits, the second has');
});

test('gives a query without escapes back as it is', () => {
  assert.equal(decodedQuery(''), '');
  assert.equal(decodedQuery('id=42&scope=x'), 'id=42&scope=x');
});
