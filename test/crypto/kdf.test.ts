import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import test from 'node:test';
import { HmacSha256Key, hkdfSha256 } from '../../src/crypto/kdf.js';
import { utf8 } from '../../src/crypto/bytes.js';

test('HmacSha256Key computes exactly node\'s HMAC-SHA256, for short, block-sized and long keys', () => {
  for (const keyBytes of [0, 1, 32, 63, 64, 65, 200]) {
    const key = new Uint8Array(randomBytes(keyBytes));
    const mac = new HmacSha256Key(key);
    for (const dataBytes of [0, 1, 55, 64, 1000]) {
      const data = new Uint8Array(randomBytes(dataBytes));
      const expected = new Uint8Array(createHmac('sha256', key).update(data).digest());
      assert.deepEqual(mac.mac(data), expected, `key ${keyBytes} bytes, data ${dataBytes} bytes`);
    }
  }
});

test('HMAC-SHA256 and HKDF match RFC 4231 and RFC 5869 test vectors', () => {
  // RFC 4231 test case 2.
  const mac = new HmacSha256Key(utf8('Jefe')).mac(utf8('what do ya want for nothing?'));
  assert.equal(Buffer.from(mac).toString('hex'), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  // RFC 5869 test case 1.
  const okm = hkdfSha256(new Uint8Array(22).fill(0x0b), Buffer.from('000102030405060708090a0b0c', 'hex'), Buffer.from('f0f1f2f3f4f5f6f7f8f9', 'hex'), 42);
  assert.equal(Buffer.from(okm).toString('hex'), '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
});
