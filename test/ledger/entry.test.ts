import assert from 'node:assert/strict';
import test from 'node:test';
import { randomBytes } from '../../src/crypto/random.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { CocoError } from '../../src/errors.js';
import { decodeEntry, encodeEntry, encodeIv, encodePublicDomain, EntryType } from '../../src/ledger/entry.js';
import { openEntry, sealEntry } from '../../src/ledger/entry-sealing.js';
import { REAL_LEDGERS, realChunks } from '../support/real-ledgers.js';

const isMalformed = (error: unknown) => error instanceof CocoError && error.code === 'LedgerEntryMalformed';

test('every entry of the real CCF ledgers decodes and re-encodes to identical bytes', () => {
  for (const ledger of REAL_LEDGERS) {
    for (const chunk of realChunks(ledger)) {
      for (const entry of chunk.decoded.entries) {
        assert.deepEqual(encodeEntry(entry), entry.raw, `${chunk.name} seqno ${entry.txId.seqno}`);
      }
    }
  }
});

test('real entries carry the TxID in the GCM IV and the entry types CCF wrote', () => {
  const genesis = realChunks('genesis-14')[0]!.decoded.entries;
  assert.deepEqual(genesis.map((e) => e.txId.seqno), Array.from({ length: 14 }, (_, i) => i + 1));
  assert.ok(genesis.every((e) => e.txId.view === 2 && e.entryType === EntryType.WriteSetWithCommitEvidenceAndClaims));
  assert.equal(genesis[13]!.flags, 1, 'the last entry forces a new chunk after it');
  const expired = realChunks('expired-service').flatMap((c) => c.decoded.entries);
  assert.equal(expired[0]!.entryType, EntryType.WriteSetWithCommitEvidence);
  assert.equal(expired[17]!.entryType, EntryType.WriteSetWithCommitEvidenceAndClaims);
  assert.equal(expired[19]!.encryptedPrivateDomain.length, 94, 'seqno 20 has an encrypted private domain');
  assert.deepEqual(genesis[0]!.gcmIv, encodeIv({ view: 2, seqno: 1 }, false));
});

test('a sealed entry opens with its secret, and fails with another or when altered', () => {
  const key = randomBytes(32);
  const map = { name: 'private', readVersion: 0n, reads: [], writes: [{ key: utf8('k'), value: utf8('secret value') }], removes: [] };
  const bytes = sealEntry({
    txId: { view: 3, seqno: 42 },
    entryType: EntryType.WriteSetWithCommitEvidenceAndClaims,
    claimsDigest: new Uint8Array(32),
    commitEvidenceDigest: new Uint8Array(32).fill(7),
    publicMaps: [{ ...map, name: 'public:p', writes: [{ key: utf8('k'), value: utf8('public value') }] }],
    privateMaps: [map],
    key,
  });
  const { entry, next } = decodeEntry(bytes);
  assert.equal(next, bytes.length);
  assert.deepEqual(entry.txId, { view: 3, seqno: 42 });
  assert.ok(!Buffer.from(bytes).includes(Buffer.from('secret value')), 'private values never appear in clear');
  assert.deepEqual(openEntry(entry, key)[0]!.writes[0]!.value, utf8('secret value'));
  const decryptionFailed = (error: unknown) => error instanceof CocoError && error.code === 'DecryptionFailed' && /2?3\.42/.test(error.message);
  assert.throws(() => openEntry(entry, randomBytes(32)), decryptionFailed);
  // The public domain is authenticated too: changing a public value breaks the tag.
  const altered = bytes.slice();
  altered[Buffer.from(altered).indexOf('public value')]! ^= 1;
  assert.throws(() => openEntry(decodeEntry(altered).entry, key), decryptionFailed);
});

test('a public-only entry still carries a tag that the ledger secret checks', () => {
  const key = randomBytes(32);
  const bytes = sealEntry({ txId: { view: 1, seqno: 1 }, entryType: EntryType.WriteSet, publicMaps: [], privateMaps: [], key });
  const { entry } = decodeEntry(bytes);
  assert.equal(entry.encryptedPrivateDomain.length, 0);
  assert.deepEqual(openEntry(entry, key), []);
  assert.throws(() => openEntry(entry, randomBytes(32)), (e: unknown) => e instanceof CocoError && e.code === 'DecryptionFailed');
});

function minimalEntry(overrides: { version?: number; flags?: number; type?: number; ivSeqno?: number } = {}): Uint8Array {
  const publicDomain = encodePublicDomain({ entryType: EntryType.WriteSet, seqno: 5, maps: [] });
  publicDomain[0] = overrides.type ?? EntryType.WriteSet;
  const bytes = encodeEntry({
    flags: overrides.flags ?? 0,
    gcmTag: new Uint8Array(16),
    gcmIv: encodeIv({ view: 1, seqno: overrides.ivSeqno ?? 5 }, false),
    publicDomain,
    encryptedPrivateDomain: new Uint8Array(),
  });
  if (overrides.version !== undefined) bytes[0] = overrides.version;
  return bytes;
}

const malformedEntries: [string, Uint8Array, RegExp][] = [
  ['an unknown format version', minimalEntry({ version: 2 }), /format version 2/],
  ['unknown flag bits', minimalEntry({ flags: 0x10 }), /flags 0x10/],
  ['an unknown entry type', minimalEntry({ type: 9 }), /entry type 9/],
  ['a seqno that differs from the IV', minimalEntry({ ivSeqno: 6 }), /differs from seqno 6/],
  ['a size beyond the data', minimalEntry().subarray(0, 30), /truncated|claims/],
  ['no header at all', new Uint8Array(3), /truncated/],
];

for (const [what, bytes, message] of malformedEntries) {
  test(`an entry with ${what} is rejected as malformed`, () => {
    assert.throws(() => decodeEntry(bytes), (error: unknown) => isMalformed(error) && message.test((error as Error).message));
  });
}

test('the IV keeps the snapshot flag in the top bit of the view', () => {
  const iv = encodeIv({ view: 5, seqno: 258 }, true);
  assert.deepEqual([...iv], [2, 1, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0x80]);
});
