import assert from 'node:assert/strict';
import test from 'node:test';
import { utf8 } from '../../src/crypto/bytes.js';
import { CocoError } from '../../src/errors.js';
import { ByteReader } from '../../src/kv/byte-reader.js';
import { ByteWriter } from '../../src/kv/byte-writer.js';
import { decodeMapChanges, encodeMapChanges } from '../../src/kv/write-set-codec.js';
import type { MapChanges } from '../../src/kv/write-set.js';
import { encodePublicDomain } from '../../src/ledger/entry.js';
import { REAL_LEDGERS, realChunks } from '../support/real-ledgers.js';

function encode(maps: MapChanges[]): Uint8Array {
  const writer = new ByteWriter(8);
  encodeMapChanges(writer, maps);
  return writer.finish();
}

function decode(bytes: Uint8Array): MapChanges[] {
  return decodeMapChanges(new ByteReader(bytes, 'LedgerEntryMalformed', 'test'));
}

const sample: MapChanges[] = [
  {
    name: 'public:a',
    readVersion: 7n,
    reads: [{ key: utf8('r'), version: 3n }],
    writes: [
      { key: utf8('k1'), value: utf8('v1') },
      { key: new Uint8Array([0, 255]), value: new Uint8Array() },
    ],
    removes: [utf8('gone')],
  },
  { name: 'private-map', readVersion: 0n, reads: [], writes: [], removes: [] },
];

test('every public domain of the real CCF ledgers re-encodes to identical bytes', () => {
  let entries = 0;
  for (const ledger of REAL_LEDGERS) {
    for (const chunk of realChunks(ledger)) {
      for (const entry of chunk.decoded.entries) {
        const reencoded = encodePublicDomain({
          entryType: entry.entryType,
          seqno: entry.txId.seqno,
          claimsDigest: entry.claimsDigest,
          commitEvidenceDigest: entry.commitEvidenceDigest,
          maxConflictVersion: entry.maxConflictVersion,
          maps: entry.publicMaps,
        });
        assert.deepEqual(reencoded, entry.publicDomain, `${chunk.name} seqno ${entry.txId.seqno}`);
        entries += 1;
      }
    }
  }
  assert.equal(entries, 14 + 26);
});

test('map changes round-trip with reads, writes, empty values, binary keys and removes', () => {
  const decoded = decode(encode(sample));
  assert.equal(decoded.length, 2);
  assert.equal(decoded[0]!.name, 'public:a');
  assert.equal(decoded[0]!.readVersion, 7n);
  assert.deepEqual(decoded[0]!.reads[0]!.key, utf8('r'));
  assert.equal(decoded[0]!.reads[0]!.version, 3n);
  assert.deepEqual(decoded[0]!.writes[1]!.key, new Uint8Array([0, 255]));
  assert.equal(decoded[0]!.writes[1]!.value.length, 0);
  assert.deepEqual(decoded[0]!.removes, [utf8('gone')]);
  assert.deepEqual(encode(decoded), encode(sample));
});

test('an empty domain encodes to no bytes and decodes to no maps', () => {
  assert.equal(encode([]).length, 0);
  assert.deepEqual(decode(new Uint8Array()), []);
});

test('every truncation of an encoded domain is rejected with LedgerEntryMalformed', () => {
  const bytes = encode(sample);
  let rejected = 0;
  for (let length = 1; length < bytes.length; length++) {
    try {
      decode(bytes.subarray(0, length));
    } catch (error) {
      assert.ok(error instanceof CocoError);
      assert.equal(error.code, 'LedgerEntryMalformed');
      rejected += 1;
      continue;
    }
    // A cut exactly between two maps is a valid, shorter domain.
    assert.equal(decode(bytes.subarray(0, length)).length, 1);
  }
  assert.ok(rejected >= bytes.length - 2);
});

const malformed: [string, Uint8Array][] = [
  ['an empty map name', new ByteWriter().sizedBytes(new Uint8Array()).i64(0).u64(0).u64(0).u64(0).finish()],
  ['a map name that is not UTF-8', new ByteWriter().sizedBytes(new Uint8Array([0xff, 0xfe])).i64(0).u64(0).u64(0).u64(0).finish()],
  ['a write count larger than the data', new ByteWriter().sizedBytes(utf8('m')).i64(0).u64(0).u64(5).finish()],
  ['an absurd key length', new ByteWriter().sizedBytes(utf8('m')).i64(0).u64(0).u64(1).u64(2n ** 62n).finish()],
];

for (const [what, bytes] of malformed) {
  test(`a domain with ${what} is rejected`, () => {
    assert.throws(() => decode(bytes), (error: unknown) => error instanceof CocoError && error.code === 'LedgerEntryMalformed');
  });
}
