import assert from 'node:assert/strict';
import test from 'node:test';
import { fromBase64, fromUtf8, toBase64, utf8 } from '../../src/crypto/bytes.js';
import { sha256 } from '../../src/crypto/hash.js';
import { generateKeyPair } from '../../src/crypto/signing.js';
import { CocoError } from '../../src/errors.js';
import { parseVirtualQuote, QuoteNotAllowed, verifyVirtualQuote, virtualQuote, VIRTUAL_MEASUREMENT } from '../../src/attestation/virtual-attestation.js';

const key = generateKeyPair('P-384');
const hostData = sha256(utf8('coco package'));
const allowAll = { measurementAllowed: () => true, hostDataAllowed: () => true };
const invalidQuote = (message: RegExp) => (error: unknown) => error instanceof CocoError && error.code === 'InvalidQuote' && message.test(error.message);

test('a virtual quote carries the measurement, the host data and the key binding, as CCF writes it', () => {
  const quote = virtualQuote(key.publicKeyPem, hostData);
  assert.equal(quote.format, 'Insecure_Virtual');
  const evidence = JSON.parse(fromUtf8(fromBase64(quote.quote)));
  assert.equal(evidence.measurement, VIRTUAL_MEASUREMENT);
  assert.equal(evidence.host_data, Buffer.from(hostData).toString('hex'));
  assert.equal(evidence.report_data.length, 32);
  assert.deepEqual(parseVirtualQuote(quote), evidence);
});

test('verification checks host data, measurement and the key the report data binds', () => {
  const quote = virtualQuote(key.publicKeyPem, hostData);
  assert.equal(verifyVirtualQuote(quote, key.publicKeyPem, allowAll).measurement, VIRTUAL_MEASUREMENT);
  // A refusal names the proposal that would allow the node, as the restart refusal does.
  assert.throws(() => verifyVirtualQuote(quote, key.publicKeyPem, { ...allowAll, hostDataAllowed: () => false }), invalidQuote(/host data .* members allow it with an add_virtual_host_data proposal$/));
  assert.throws(() => verifyVirtualQuote(quote, key.publicKeyPem, { ...allowAll, measurementAllowed: () => false }), invalidQuote(/measurement .* members allow it with an add_virtual_measurement proposal$/));
  assert.throws(() => verifyVirtualQuote(quote, generateKeyPair('P-384').publicKeyPem, allowAll), invalidQuote(/does not bind/));
});

test('only what the join policy decides is a QuoteNotAllowed, which members can change', () => {
  const quote = virtualQuote(key.publicKeyPem, hostData);
  assert.throws(() => verifyVirtualQuote(quote, key.publicKeyPem, { ...allowAll, hostDataAllowed: () => false }), QuoteNotAllowed);
  assert.throws(() => verifyVirtualQuote(quote, key.publicKeyPem, { ...allowAll, measurementAllowed: () => false }), QuoteNotAllowed);
  assert.throws(
    () => verifyVirtualQuote(quote, generateKeyPair('P-384').publicKeyPem, allowAll),
    (error: unknown) => error instanceof CocoError && !(error instanceof QuoteNotAllowed),
  );
  assert.throws(() => verifyVirtualQuote({ ...quote, quote: '%%%' }, key.publicKeyPem, allowAll), (error: unknown) => error instanceof CocoError && !(error instanceof QuoteNotAllowed));
});

test('malformed quotes are refused', () => {
  const cases = [
    { format: 'AMD_SEV_SNP_v1', quote: '', endorsements: '' },
    { format: 'Insecure_Virtual', quote: '%%%', endorsements: '' },
    { format: 'Insecure_Virtual', quote: toBase64(utf8('{"measurement": 1}')), endorsements: '' },
  ];
  for (const quote of cases) assert.throws(() => parseVirtualQuote(quote as never), invalidQuote(/./));
  // Report data that is not bytes, though read as bytes it would bind the key.
  const evidence = JSON.parse(fromUtf8(fromBase64(virtualQuote(key.publicKeyPem, hostData).quote))) as { report_data: number[] };
  for (const reportData of [evidence.report_data.map(String), evidence.report_data.map((byte, i) => (i === 0 ? byte + 256 : byte)), [...evidence.report_data.slice(0, 31), 1.5]]) {
    const quote = { format: 'Insecure_Virtual', quote: toBase64(utf8(JSON.stringify({ ...evidence, report_data: reportData }))), endorsements: '' };
    assert.throws(() => verifyVirtualQuote(quote as never, key.publicKeyPem, allowAll), invalidQuote(/report_data must be a list of bytes/));
  }
});
