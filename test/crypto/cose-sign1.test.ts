// COSE Sign1 decoding reads the protected header from its encoding, as CCF's QCBOR does: labels are
// integers or text strings, alg an integer or text string, each label once. A decoder that turns
// a whole float into an integer would let 4.0 stand for kid and -35.0 for ES384.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concatBytes, utf8 } from '../../src/crypto/bytes.js';
import { checkCriticalHeaders, COSE_ALG_ES384, COSE_HEADER_ALG, COSE_HEADER_CRIT, COSE_HEADER_KID, decodeCoseSign1, encodeCbor, encodeCoseSign1, sigStructure, verifyCoseSign1 } from '../../src/crypto/cose-sign1.js';
import { generateKeyPair, sign } from '../../src/crypto/signing.js';

const KEYS = generateKeyPair('P-384');
const PAYLOAD = utf8('{"actions": []}');
/** Half-precision floats (CBOR major type 7): 1.0, 4.0 and -35.0. */
const FLOAT_1 = Uint8Array.of(0xf9, 0x3c, 0x00);
const FLOAT_4 = Uint8Array.of(0xf9, 0x44, 0x00);
const FLOAT_MINUS_35 = Uint8Array.of(0xf9, 0xd0, 0x60);

/** A signed COSE_Sign1 whose protected header is these encoded label/value pairs, as they are. */
function envelope(entries: [Uint8Array, Uint8Array][]): Uint8Array {
  const protectedBytes = concatBytes(Uint8Array.of(0xa0 + entries.length), ...entries.flat());
  const signature = sign(KEYS.privateKeyPem, sigStructure(protectedBytes, PAYLOAD), 'ieee-p1363');
  return encodeCoseSign1({ protectedBytes, protectedHeader: new Map(), unprotectedHeader: new Map(), payload: PAYLOAD, signature });
}

const ALG = encodeCbor(COSE_HEADER_ALG);
const KID = encodeCbor(COSE_HEADER_KID);
const ES384 = encodeCbor(COSE_ALG_ES384);
const KID_VALUE = encodeCbor(utf8('a member id'));

describe('decodeCoseSign1 reads the protected header from its encoding', () => {
  it('takes integer labels and an integer alg, and the signature verifies', () => {
    const message = decodeCoseSign1(envelope([[ALG, ES384], [KID, KID_VALUE]]), { requireTag: true });
    assert.equal(message.protectedHeader.get(COSE_HEADER_ALG), COSE_ALG_ES384);
    assert.deepEqual(message.protectedHeader.get(COSE_HEADER_KID), utf8('a member id'));
    assert.equal(verifyCoseSign1(message, KEYS.publicKeyPem), true);
  });

  const refused: [string, [Uint8Array, Uint8Array][], RegExp][] = [
    ['kid under the float label 4.0', [[ALG, ES384], [FLOAT_4, KID_VALUE]], /^COSE Sign1: protected header labels must be integers or text strings, not a float or simple value$/],
    ['alg under the float label 1.0', [[FLOAT_1, ES384], [KID, KID_VALUE]], /^COSE Sign1: protected header labels must be integers or text strings, not a float or simple value$/],
    ['alg -35.0, a float', [[ALG, FLOAT_MINUS_35], [KID, KID_VALUE]], /^COSE Sign1: alg \(1\) must be an integer or a text string, not a float or simple value$/],
    ['alg as a byte string', [[ALG, encodeCbor(utf8('ES384'))], [KID, KID_VALUE]], /alg \(1\) must be an integer or a text string, not a byte string$/],
    ['a byte string label', [[ALG, ES384], [encodeCbor(utf8('kid')), KID_VALUE]], /labels must be integers or text strings, not a byte string$/],
    ['kid twice, as 4 and as 4.0', [[ALG, ES384], [KID, KID_VALUE], [FLOAT_4, KID_VALUE]], /labels must be integers or text strings/],
    ['kid twice', [[ALG, ES384], [KID, KID_VALUE], [KID, KID_VALUE]], /label 4 appears more than once/],
  ];
  for (const [what, entries, reason] of refused) {
    it(`refuses ${what} as malformed`, () => {
      assert.throws(() => decodeCoseSign1(envelope(entries), { requireTag: true }), (error: unknown) => {
        assert.equal((error as { code?: string }).code, 'CoseMalformed');
        assert.match((error as Error).message, reason);
        return true;
      });
    });
  }
});

describe('decodeCoseSign1 on what is not CBOR', () => {
  it('says that a message ends in the middle of an item, not where the decoder read past it (QA: "{}" as application/cose)', () => {
    // "{" is a text string whose length follows in 8 bytes that are not there.
    assert.throws(() => decodeCoseSign1(utf8('{}')), { code: 'CoseMalformed', message: 'COSE Sign1: message is not valid CBOR (it ends in the middle of an item)' });
  });
});

describe('checkCriticalHeaders refuses what RFC 9052 says a recipient must not accept', () => {
  const CRIT = encodeCbor(COSE_HEADER_CRIT);
  it('accepts crit listing parameters the verifier understands, and no crit', () => {
    checkCriticalHeaders(decodeCoseSign1(envelope([[ALG, ES384], [KID, KID_VALUE]])));
    checkCriticalHeaders(decodeCoseSign1(envelope([[ALG, ES384], [KID, KID_VALUE], [CRIT, encodeCbor([COSE_HEADER_KID])]])));
  });
  const refused: [string, Uint8Array, RegExp][] = [
    ['an integer label it does not understand', encodeCbor([99]), /crit \(2\) lists the header parameter 99, which this service does not understand/],
    ['a text label it does not understand', encodeCbor(['x-must-understand']), /lists the header parameter "x-must-understand"/],
    ['an empty list', encodeCbor([]), /crit \(2\) must be a non-empty array/],
    ['a label on its own', encodeCbor(99), /crit \(2\) must be a non-empty array/],
  ];
  for (const [what, crit, reason] of refused) {
    it(`refuses crit with ${what}`, () => {
      const message = decodeCoseSign1(envelope([[ALG, ES384], [KID, KID_VALUE], [CRIT, crit]]));
      assert.equal(verifyCoseSign1(message, KEYS.publicKeyPem), true, 'signed as it is: only crit is wrong');
      assert.throws(() => checkCriticalHeaders(message), { code: 'CoseMalformed', message: reason });
    });
  }
});
