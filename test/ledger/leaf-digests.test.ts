import assert from 'node:assert/strict';
import test from 'node:test';
import { LeafDigests } from '../../src/ledger/leaf-digests.js';

const digest = (n: number, salt = 0): Uint8Array => {
  const bytes = new Uint8Array(32);
  new DataView(bytes.buffer).setUint32(0, n);
  bytes[31] = salt;
  return bytes;
};
const ZERO = new Uint8Array(32);

test('leaf digests are kept per seqno from the first one, across blocks, with claims only where set', () => {
  const digests = new LeafDigests(5);
  for (let seqno = 5; seqno < 5 + 10_000; seqno++) digests.push(digest(seqno), seqno % 1000 === 0 ? digest(seqno, 7) : ZERO);
  assert.equal(digests.nextSeqno, 10_005);
  for (const seqno of [5, 4100, 4101, 8196, 10_004]) assert.deepEqual(digests.get(seqno), { writeSetDigest: digest(seqno), claimsDigest: ZERO });
  assert.deepEqual(digests.get(7000)!.claimsDigest, digest(7000, 7));
  assert.deepEqual([4, 10_005, 1.5, -1].map((seqno) => digests.get(seqno)), [undefined, undefined, undefined, undefined]);
  const copy = digests.get(6)!;
  copy.writeSetDigest.fill(1);
  assert.deepEqual(digests.get(6)!.writeSetDigest, digest(6), 'callers get copies');
  assert.throws(() => digests.push(new Uint8Array(31), ZERO), /32 bytes/);
});

test('a rollback forgets the seqnos after it, claims included, and later pushes take their places', () => {
  const digests = new LeafDigests(1);
  for (let seqno = 1; seqno <= 5000; seqno++) digests.push(digest(seqno), seqno === 4500 ? digest(seqno, 3) : ZERO);
  digests.truncateAfter(4096);
  assert.equal(digests.nextSeqno, 4097);
  assert.equal(digests.get(4097), undefined);
  digests.push(digest(4097, 9), ZERO);
  assert.deepEqual(digests.get(4097)!.writeSetDigest, digest(4097, 9));
  for (let seqno = 4098; seqno <= 4500; seqno++) digests.push(digest(seqno, 9), ZERO);
  assert.deepEqual(digests.get(4500)!.claimsDigest, ZERO, 'the rolled-back claims digest is gone');
  digests.truncateAfter(0);
  assert.equal(digests.nextSeqno, 1);
});

test('old digests are freed a whole block at a time, and never those of the block still being filled', () => {
  const digests = new LeafDigests(1);
  for (let seqno = 1; seqno <= 9000; seqno++) digests.push(digest(seqno), seqno === 10 ? digest(seqno, 1) : ZERO);
  digests.forgetBefore(5000);
  assert.equal(digests.get(4096), undefined, 'the first block is gone');
  assert.deepEqual(digests.get(4097)!.writeSetDigest, digest(4097), 'the second block stays: seqno 5000 is in it');
  digests.forgetBefore(1_000_000);
  assert.equal(digests.get(8192), undefined);
  assert.deepEqual(digests.get(8193)!.writeSetDigest, digest(8193), 'the block being filled stays');
  digests.push(digest(9001), ZERO);
  assert.deepEqual(digests.get(9001)!.writeSetDigest, digest(9001));
});
