import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { derToPem, pemToDer, splitPemBundle } from '../../src/crypto/pem.js';

const DER = Uint8Array.from({ length: 100 }, (_, i) => (i * 37) & 0xff);

describe('derToPem / pemToDer', () => {
  it('round-trips DER through PEM with 64-character lines', () => {
    const pem = derToPem(DER, 'CERTIFICATE');
    const lines = pem.trimEnd().split('\n');
    assert.equal(lines[0], '-----BEGIN CERTIFICATE-----');
    assert.equal(lines.at(-1), '-----END CERTIFICATE-----');
    assert.equal(lines[1]!.length, 64);
    assert.ok(pem.endsWith('-----\n'));
    assert.deepEqual(pemToDer(pem), DER);
    assert.deepEqual(pemToDer(pem, 'CERTIFICATE'), DER);
  });

  it('accepts CRLF line endings and explanatory text around the block', () => {
    const pem = `subject=CN = x\r\n${derToPem(DER, 'PUBLIC KEY').replaceAll('\n', '\r\n')}trailer`;
    assert.deepEqual(pemToDer(pem, 'PUBLIC KEY'), DER);
  });

  it('returns the first block of a bundle', () => {
    const bundle = derToPem(DER, 'CERTIFICATE') + derToPem(Uint8Array.of(1, 2, 3), 'CERTIFICATE');
    assert.deepEqual(pemToDer(bundle), DER);
  });

  it('rejects malformed PEM with InvalidPem', () => {
    const good = derToPem(DER, 'CERTIFICATE');
    const cases: [string, string, string?][] = [
      ['no block at all', 'hello'],
      ['empty text', ''],
      ['missing END line (truncated)', good.slice(0, good.indexOf('-----END'))],
      ['truncated block before a good one', good.slice(0, 80) + good],
      ['END label differs from BEGIN', good.replace('END CERTIFICATE', 'END PUBLIC KEY')],
      ['non-base64 character in the body', good.replace(/\n[A-Za-z]/, '\n*')],
      ['JSON-escaped newlines', good.replaceAll('\n', '\\n')],
      ['empty body', '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n'],
      ['wrong label', good, 'PRIVATE KEY'],
    ];
    for (const [name, text, label] of cases) {
      assert.throws(() => pemToDer(text, label), { name: 'CocoError', code: 'InvalidPem' }, name);
    }
  });

  it('rejects labels that PEM cannot carry and empty DER', () => {
    for (const label of ['', 'certificate', 'A-----B', ' CERT']) {
      assert.throws(() => derToPem(DER, label), { name: 'CocoError', code: 'InvalidPem' }, label);
    }
    assert.throws(() => derToPem(new Uint8Array(0), 'CERTIFICATE'), { name: 'CocoError', code: 'InvalidPem' });
  });
});

describe('splitPemBundle', () => {
  it('returns every block in order, each a standalone PEM text', () => {
    const blocks = [derToPem(DER, 'CERTIFICATE'), derToPem(Uint8Array.of(1), 'CERTIFICATE'), derToPem(Uint8Array.of(2), 'X509 CRL')];
    const bundle = `# bundle\n${blocks[0]}\nsome comment\n${blocks[1]}${blocks[2]}`;
    const split = splitPemBundle(bundle);
    assert.deepEqual(split, blocks);
    assert.deepEqual(split.map((pem) => pemToDer(pem)), [DER, Uint8Array.of(1), Uint8Array.of(2)]);
  });

  it('returns nothing for text without blocks', () => {
    assert.deepEqual(splitPemBundle(''), []);
    assert.deepEqual(splitPemBundle('no pem here'), []);
  });

  it('rejects a bundle whose last block is truncated', () => {
    const bundle = derToPem(DER, 'CERTIFICATE') + derToPem(DER, 'CERTIFICATE').slice(0, 80);
    assert.throws(() => splitPemBundle(bundle), { name: 'CocoError', code: 'InvalidPem' });
  });
});
