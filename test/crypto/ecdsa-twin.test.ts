import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import test from 'node:test';
import { ecdsaSignatureTwin } from '../../src/crypto/ecdsa-twin.js';

test("an ECDSA signature's twin (r, n - s) verifies too, differs, and its own twin is the signature", () => {
  for (const namedCurve of ['prime256v1', 'secp384r1', 'secp521r1']) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve });
    const message = Buffer.from('a governance request');
    const signature = new Uint8Array(sign('sha384', message, { key: privateKey, dsaEncoding: 'ieee-p1363' }));
    const twin = ecdsaSignatureTwin(signature)!;
    assert.notDeepEqual(twin, signature, namedCurve);
    assert.deepEqual(twin.subarray(0, signature.length / 2), signature.subarray(0, signature.length / 2), 'r is kept');
    assert.ok(verify('sha384', message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, twin), `${namedCurve}: the twin verifies`);
    assert.deepEqual(ecdsaSignatureTwin(twin), signature);
  }
});

test('no twin for a size no curve signs with, or an s of 0', () => {
  assert.equal(ecdsaSignatureTwin(new Uint8Array(63)), undefined);
  assert.equal(ecdsaSignatureTwin(new Uint8Array(64)), undefined);
});
