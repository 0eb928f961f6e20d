import assert from 'node:assert/strict';
import test from 'node:test';
import { aesGcmEncrypt } from '../../src/crypto/aes-gcm.js';
import { concatBytes, fromHex, fromUtf8, toBase64, toHex, utf8 } from '../../src/crypto/bytes.js';
import { signDigest } from '../../src/crypto/signing.js';
import { CocoError } from '../../src/errors.js';
import { keyBytes } from '../../src/kv/sorted-keys.js';
import { CommittedEntry, Store, type CommittedMapState, type SnapshotMap } from '../../src/kv/store.js';
import { KEPT_AS_IS_BYTES_MIN } from '../../src/ledger/byte-pieces.js';
import { commitEvidenceDigest } from '../../src/ledger/commit-evidence.js';
import {
  appendSnapshotReceipt,
  parseSnapshotFileName,
  snapshotFileName,
  splitCommittedSnapshot,
  verifyCommittedSnapshot,
} from '../../src/ledger/committed-snapshot.js';
import { encodeEntry, encodeIv } from '../../src/ledger/entry.js';
import { leafFromDigests } from '../../src/ledger/leaf.js';
import { MerkleTree } from '../../src/ledger/merkle-tree.js';
import { computeLeaf, type TxReceipt } from '../../src/ledger/receipt.js';
import { encodePrimarySignature, SIGNATURES_MAP, SINGLETON_KEY, singletonWrite, TREE_MAP } from '../../src/ledger/signature.js';
import { decodeSnapshot, encodeSnapshot, SnapshotEncoder, snapshotDigest, type SnapshotInput } from '../../src/ledger/snapshot.js';
import { decodeSnapshotEvidence, encodeSnapshotEvidence, SNAPSHOT_EVIDENCE_MAP } from '../../src/ledger/snapshot-evidence.js';
import { createServiceIdentity } from '../support/generated-ledger.js';
import { realChunks } from '../support/real-ledgers.js';
import { keyFor, snapshotService } from './snapshot-fixture.js';
import { identity, SECRETS } from './writer-fixture.js';

const service = snapshotService();
const S = service.snapshotSeqno;
const E = service.evidence.txId.seqno;

function isCocoError(...codes: string[]) {
  return (e: unknown) => e instanceof CocoError && codes.includes(e.code);
}

/** Maps as [name, version, [hex key, hex value, version][]]: views and copies, key bytes and key strings compare alike. */
function readable(maps: readonly (SnapshotMap | CommittedMapState)[]): unknown {
  return maps.map((m) => [m.name, m.version, m.entries.map((e) => [toHex(typeof e.key === 'string' ? keyBytes(e.key) : e.key), toHex(e.value), e.version])]);
}

function contains(haystack: Uint8Array, needle: string): boolean {
  return Buffer.from(haystack).includes(Buffer.from(needle));
}

test('a snapshot decodes to the state, view history and Merkle leaf it was taken with', () => {
  const decoded = decodeSnapshot(service.snapshot, keyFor);
  assert.deepEqual(decoded.txId, { view: 3, seqno: S });
  assert.deepEqual(readable(decoded.maps), readable(service.mapsAtSnapshot));
  assert.deepEqual(decoded.viewHistory, [
    { view: 2, fromSeqno: 1 },
    { view: 3, fromSeqno: 7 },
  ]);
  assert.deepEqual(decoded.hashAtSnapshot, service.writer.tree.leaf(S));
  assert.equal(decoded.tree.size, S + 1);
  assert.deepEqual(decoded.tree.root(), service.writer.tree.rootAt(S + 1));
});

test('a snapshot written a few keys per step is byte for byte the one written in one go', () => {
  const input: SnapshotInput = {
    txId: { view: 3, seqno: S },
    maps: service.mapsAtSnapshot,
    viewHistory: [
      { view: 2, fromSeqno: 1 },
      { view: 3, fromSeqno: 7 },
    ],
    hashAtSnapshot: service.writer.tree.leaf(S),
    key: keyFor(S),
  };
  assert.deepEqual(encodeSnapshot(input), service.snapshot);
  const keys = service.mapsAtSnapshot.reduce((sum, map) => sum + map.entries.length, 0);
  for (const perStep of [1, 2, 3, keys - 1, keys]) {
    const encoder = new SnapshotEncoder(input);
    let steps = 1;
    while (!encoder.step(perStep, Number.MAX_SAFE_INTEGER)) steps += 1;
    assert.ok(steps >= Math.ceil(keys / perStep), `${steps} steps of ${perStep} for ${keys} keys`);
    const { pieces, digest } = encoder.finish();
    assert.deepEqual(concatBytes(...pieces), service.snapshot, `${perStep} keys per step`);
    assert.deepEqual(digest, snapshotDigest(service.snapshot));
  }
  const unfinished = new SnapshotEncoder(input);
  unfinished.step(1, 1);
  assert.throws(() => unfinished.finish(), (e: unknown) => isCocoError('InternalError')(e));
});

test('a private domain encrypted a KiB per step decodes, and is byte for byte the one encrypted in one go', () => {
  const big = new Uint8Array(5000).map((_, i) => i % 251);
  const maps = service.mapsAtSnapshot.map((map) => (map.name === 'records' ? { ...map, entries: [...map.entries, new CommittedEntry('big', big, map.version)] } : map));
  const input: SnapshotInput = {
    txId: { view: 3, seqno: S },
    maps,
    viewHistory: [
      { view: 2, fromSeqno: 1 },
      { view: 3, fromSeqno: 7 },
    ],
    hashAtSnapshot: service.writer.tree.leaf(S),
    key: keyFor(S),
  };
  const encoder = new SnapshotEncoder(input);
  let steps = 1;
  while (!encoder.step(1, 1024)) steps += 1;
  const { pieces, digest } = encoder.finish();
  const stepped = concatBytes(...pieces);
  assert.ok(pieces.length > 5, `the private domain in 1 KiB pieces: ${pieces.length} pieces`);
  assert.deepEqual(digest, snapshotDigest(stepped));
  assert.ok(steps > maps.reduce((sum, map) => sum + map.entries.length, 0) + 5, `${steps} steps: the keys, then 1 KiB pieces`);
  assert.deepEqual(stepped, encodeSnapshot(input));
  const records = decodeSnapshot(stepped, keyFor).maps.find((map) => map.name === 'records')!;
  assert.deepEqual(records.entries.find((entry) => Buffer.from(entry.key).toString() === 'big')?.value, big);
});

test('public maps are in clear in a snapshot, private maps only encrypted', () => {
  assert.ok(contains(service.snapshot, 'public x2'));
  assert.ok(contains(service.snapshot, 'public:records'));
  assert.ok(!contains(service.snapshot, 'private x2'));
  const decoded = decodeSnapshot(service.snapshot, keyFor);
  const records = decoded.maps.find((m) => m.name === 'records')!;
  assert.deepEqual(
    records.entries.map((e) => Buffer.from(e.value).toString()),
    // In the byte order of their keys, whatever order they were written in (x0 was removed).
    ['private x-view3', 'private x1', 'private x2', 'private x3'],
  );
});

test('a store and a tree restored from a snapshot continue the ledger where it left off', () => {
  const decoded = decodeSnapshot(service.snapshot, keyFor);
  const store = Store.fromSnapshot(BigInt(S), decoded.maps);
  const { tree } = decoded;
  for (let seqno = S + 1; service.appended.has(seqno); seqno++) {
    const appended = service.appended.get(seqno)!;
    store.applyWriteSet(appended.writeSet, BigInt(seqno));
    tree.append(leafFromDigests(appended.writeSetDigest, commitEvidenceDigest(appended.commitEvidence), appended.claimsDigest));
  }
  assert.deepEqual(tree.root(), service.writer.tree.root());
  assert.deepEqual(readable(store.snapshotMaps()), readable(service.store.snapshotMaps()));

  const tx = store.beginTransaction();
  assert.equal(tx.map('public:records').getVersionOfPreviousWrite(utf8('x2')), 4n);
  tx.map('public:records').set(utf8('new'), utf8('value'));
  store.commit(tx, store.version + 1n);
});

test('a committed snapshot verifies: its receipt proves the evidence transaction, which records the snapshot digest', () => {
  const verified = verifyCommittedSnapshot(service.file, identity.serviceCertPem, keyFor, service.fileName);
  assert.equal(service.fileName, `snapshot_${S}_${E}.committed`);
  assert.deepEqual(verified.txId, { view: 3, seqno: S });
  assert.deepEqual(verified.evidenceTxId, { view: 3, seqno: E });
  const digest = snapshotDigest(service.snapshot);
  assert.equal(verified.receipt.leaf_components.claims_digest, toHex(digest));
  const evidenceValue = singletonWrite(service.evidence.writeSet.public, SNAPSHOT_EVIDENCE_MAP)!;
  assert.deepEqual(decodeSnapshotEvidence(evidenceValue), { hash: digest, version: S });
  assert.deepEqual(readable(verified.maps), readable(service.mapsAtSnapshot));
});

test('split returns the snapshot entry and the receipt; a file without a receipt is not committed', () => {
  const { snapshot, receipt } = splitCommittedSnapshot(service.file);
  assert.deepEqual(snapshot, service.snapshot);
  assert.equal(Buffer.from(receipt).toString()[0], '{');
  assert.throws(() => splitCommittedSnapshot(service.snapshot), isCocoError('SnapshotMalformed'));
  assert.throws(() => appendSnapshotReceipt(service.file, {} as TxReceipt), isCocoError('InvalidArgument'));
});

test('every single-byte change anywhere in a committed snapshot file is refused', () => {
  const { file, fileName } = service;
  const receiptStart = service.snapshot.length;
  let tried = 0;
  for (let i = 0; i < file.length; i++) {
    // Every mask in the entry (it fails fast); in the receipt, 0x20 flips the case of hex and base64
    // letters (meaning-preserving for hex) and 0x80 breaks UTF-8. The receipt is checked before the
    // entry decrypts, so no change gets as far as a decryption; a node certificate altered in its
    // signature is one the service does not endorse.
    for (const mask of i < receiptStart ? [0x01, 0x20, 0x80] : [0x20, 0x80]) {
      const altered = file.slice();
      altered[i] = (altered[i] as number) ^ mask;
      assert.throws(
        () => verifyCommittedSnapshot(altered, identity.serviceCertPem, keyFor, fileName),
        isCocoError('SnapshotMalformed', 'SnapshotInvalid', 'SnapshotServiceMismatch'),
        `byte ${i} ^ 0x${mask.toString(16)} was not detected`,
      );
      tried += 1;
    }
  }
  assert.ok(tried > 2 * file.length);
});

test('every truncation of a committed snapshot file is refused', () => {
  for (let length = 0; length < service.file.length; length++) {
    assert.throws(
      () => verifyCommittedSnapshot(service.file.subarray(0, length), identity.serviceCertPem, keyFor, service.fileName),
      isCocoError('SnapshotMalformed', 'DecryptionFailed', 'SnapshotInvalid'),
      `a file cut to ${length} bytes was accepted`,
    );
  }
});

test('a snapshot does not decode with another ledger secret', () => {
  const otherKey = () => (SECRETS[0] as { key: Uint8Array }).key;
  assert.throws(() => decodeSnapshot(service.snapshot, otherKey), (e: unknown) => isCocoError('DecryptionFailed')(e) && /seqno 10/.test((e as Error).message));
  assert.throws(
    () => verifyCommittedSnapshot(service.file, identity.serviceCertPem, otherKey, service.fileName),
    (e: unknown) => isCocoError('DecryptionFailed')(e) && /its receipt proves it is the service's and unaltered, yet it does not decrypt/.test((e as Error).message),
  );
});

test('a snapshot of another service is refused as such, before its secret is tried', () => {
  const other = createServiceIdentity();
  const otherKey = () => (SECRETS[0] as { key: Uint8Array }).key;
  for (const key of [keyFor, otherKey]) {
    assert.throws(
      () => verifyCommittedSnapshot(service.file, other.serviceCertPem, key, service.fileName),
      (e: unknown) => isCocoError('SnapshotServiceMismatch')(e) && /does not endorse, so the snapshot is another service's/.test((e as Error).message),
    );
  }
});

test('a receipt from another service is refused', () => {
  const other = createServiceIdentity();
  // The same proof signed by a node of the other service.
  const { receipt } = verifyCommittedSnapshot(service.file, identity.serviceCertPem, keyFor, service.fileName);
  const leaf = receipt.leaf_components;
  const root = MerkleTree.rootFromProof(
    computeLeaf(fromHex(leaf.write_set_digest), leaf.commit_evidence, fromHex(leaf.claims_digest!)),
    receipt.proof.map((step) => ('left' in step ? { left: fromHex(step.left) } : { right: fromHex(step.right) })),
  );
  const forged: TxReceipt = {
    ...receipt,
    cert: other.nodeCertPem,
    node_id: other.nodeId,
    signature: toBase64(signDigest(other.nodeKey.privateKeyPem, root)),
  };
  const file = appendSnapshotReceipt(service.snapshot, forged);
  assert.throws(() => verifyCommittedSnapshot(file, identity.serviceCertPem, keyFor, service.fileName), isCocoError('SnapshotServiceMismatch'));
  assert.ok(verifyCommittedSnapshot(file, other.serviceCertPem, keyFor, service.fileName));
});

test("a snapshot with one bit flipped is refused as damaged (or another snapshot's receipt)", () => {
  const damaged = service.file.slice();
  damaged[Math.floor(service.snapshot.length / 2)]! ^= 0x01;
  assert.throws(
    () => verifyCommittedSnapshot(damaged, identity.serviceCertPem, keyFor, service.fileName),
    (e: unknown) => isCocoError('SnapshotInvalid')(e) && /is not this snapshot's digest: the snapshot is damaged, or its receipt is another snapshot's$/.test((e as Error).message),
  );
});

test('a receipt for another snapshot of the same service is refused', () => {
  const sibling = snapshotService('y');
  assert.equal(sibling.fileName, service.fileName);
  const { receipt } = splitCommittedSnapshot(sibling.file);
  assert.throws(
    () => verifyCommittedSnapshot(concatBytes(service.snapshot, receipt), identity.serviceCertPem, keyFor, service.fileName),
    (e: unknown) => isCocoError('SnapshotInvalid')(e) && /claims digest/.test((e as Error).message),
  );
});

for (const [name, reason] of [
  [`snapshot_${S}_${E + 1}.committed`, /not for the evidence seqno/],
  [`snapshot_${S - 1}_${E}.committed`, /named for seqno/],
  [`snapshot_${S}_${E}`, /not a committed snapshot file name/],
  ['ledger_1-10.committed', /not a committed snapshot file name/],
] as const) {
  test(`a committed snapshot is refused under the name ${name}`, () => {
    assert.throws(
      () => verifyCommittedSnapshot(service.file, identity.serviceCertPem, keyFor, name),
      (e: unknown) => isCocoError('SnapshotInvalid')(e) && reason.test((e as Error).message),
    );
  });
}

test('snapshot file names: CCF 2.x+ names round-trip, anything else is not a snapshot', () => {
  assert.equal(snapshotFileName(15, 18, false), 'snapshot_15_18');
  assert.equal(snapshotFileName(15, 18, true), 'snapshot_15_18.committed');
  assert.deepEqual(parseSnapshotFileName('snapshot_15_18.committed'), { seqno: 15, evidenceSeqno: 18, committed: true });
  assert.deepEqual(parseSnapshotFileName('snapshot_15_18'), { seqno: 15, evidenceSeqno: 18, committed: false });
  for (const name of [
    'snapshot_15_18.committed_20',
    'snapshot_15_18.committed.ignored',
    'snapshot_18_15.committed',
    'snapshot_15_15.committed',
    'snapshot_015_18',
    'snapshot_0_18',
    'snapshot_15',
    'snapshot_15_18.committed.tmp',
    'ledger_1-15.committed',
    'snapshot_99999999999999999_100000000000000000',
  ]) {
    assert.equal(parseSnapshotFileName(name), undefined, name);
  }
  assert.throws(() => snapshotFileName(15, 15, true), isCocoError('InvalidArgument'));
  assert.throws(() => snapshotFileName(0, 3, true), isCocoError('InvalidArgument'));
});

test('the snapshot evidence in a real CCF ledger re-encodes byte for byte, and its hash is the claims digest', () => {
  const entries = realChunks('expired-service').flatMap((chunk) => chunk.decoded.entries);
  const evidenceEntry = entries.find((entry) => singletonWrite(entry.publicMaps, SNAPSHOT_EVIDENCE_MAP) !== undefined)!;
  const value = singletonWrite(evidenceEntry.publicMaps, SNAPSHOT_EVIDENCE_MAP)!;
  const evidence = decodeSnapshotEvidence(value);
  assert.equal(evidence.version, 15);
  assert.deepEqual(encodeSnapshotEvidence(evidence), value);
  assert.deepEqual(evidenceEntry.claimsDigest, evidence.hash);
  // CCF took that snapshot at a signature transaction.
  const snapshotEntry = entries.find((entry) => entry.txId.seqno === evidence.version)!;
  assert.ok(singletonWrite(snapshotEntry.publicMaps, SIGNATURES_MAP) !== undefined);
});

test('malformed snapshot evidence values are refused', () => {
  for (const text of ['', '{}', '{"hash":"AB","version":1}', `{"hash":"${'0'.repeat(64)}","version":0}`, `{"hash":"${'A'.repeat(64)}","version":1}`, 'null']) {
    assert.throws(() => decodeSnapshotEvidence(utf8(text)), isCocoError('SnapshotEvidenceMalformed'), text);
  }
});

// ---------------------------------------------------------------------------------------------
// The layout, spelled out byte by byte: a tiny snapshot at seqno 2 (a signature transaction).

const u64 = (n: number | bigint): Uint8Array => {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigInt64(0, BigInt(n), true);
  return out;
};
const vector = (bytes: Uint8Array): Uint8Array => concatBytes(u64(bytes.length), bytes);
const zeros = (count: number) => new Uint8Array(count);
const TINY_KEY = new Uint8Array(32).fill(7);
const TINY_HASH = new Uint8Array(32).fill(0x11);

const tinyTree = new MerkleTree();
tinyTree.append(new Uint8Array(32));
tinyTree.append(new Uint8Array(32).fill(0x22));
const tinySignature = encodePrimarySignature({
  sig: 'AA==',
  node: '0'.repeat(64),
  seqno: 2,
  view: 2,
  commit_seqno: 0,
  commit_view: 0,
  root: toHex(tinyTree.root()),
});

/** One key of a map's state: key, zeros to 8, value size (8 + length), version, value, zeros to 8. */
function stateEntry(key: string, version: bigint, value: Uint8Array, keyPadding = (8 - (key.length % 8)) % 8): Uint8Array {
  return concatBytes(vector(utf8(key)), zeros(keyPadding), u64(8 + value.length), u64(version), value, zeros((8 - (value.length % 8)) % 8));
}

function mapBytes(name: string, version: bigint, ...entries: Uint8Array[]): Uint8Array {
  return concatBytes(vector(utf8(name)), u64(version), vector(concatBytes(...entries)));
}

const singleton = (value: Uint8Array) => concatBytes(vector(SINGLETON_KEY), u64(8 + value.length), u64(2), value, zeros((8 - (value.length % 8)) % 8));

interface TinyParts {
  hash: Uint8Array;
  views: number[];
  publicMaps: Uint8Array[];
  privateMaps: Uint8Array[];
}

function tinyParts(): TinyParts {
  return {
    hash: TINY_HASH,
    views: [1, 1],
    publicMaps: [
      mapBytes('public:a', 1n, stateEntry('k', 1n, utf8('v'))),
      mapBytes(SIGNATURES_MAP, 2n, singleton(tinySignature)),
      mapBytes(TREE_MAP, 2n, singleton(tinyTree.serialize(0, 2))),
    ],
    privateMaps: [mapBytes('b', 2n, stateEntry('x', 2n, utf8('yz')))],
  };
}

/** Seals the parts into an entry exactly as the layout says, with the tiny snapshot's key. */
function sealTiny(parts: TinyParts): Uint8Array {
  const publicDomain = concatBytes(
    new Uint8Array([1]), // entry type Snapshot
    u64(2), // seqno
    u64(0), // max_conflict_version
    vector(parts.hash),
    vector(concatBytes(...parts.views.map(u64))),
    ...parts.publicMaps,
  );
  const gcmIv = encodeIv({ view: 0, seqno: 2 }, true);
  const { ciphertext, tag } = aesGcmEncrypt(TINY_KEY, gcmIv, concatBytes(...parts.privateMaps), publicDomain);
  return encodeEntry({ gcmTag: tag, gcmIv, publicDomain, encryptedPrivateDomain: ciphertext });
}

const singletonMap = (name: string, value: Uint8Array): SnapshotMap => ({ name, version: 2n, entries: [{ key: SINGLETON_KEY, value, version: 2n }] });

const tinyInput: SnapshotInput = {
  txId: { view: 2, seqno: 2 },
  maps: [
    { name: 'b', version: 2n, entries: [{ key: utf8('x'), value: utf8('yz'), version: 2n }] },
    singletonMap(TREE_MAP, tinyTree.serialize(0, 2)),
    { name: 'public:a', version: 1n, entries: [{ key: utf8('k'), value: utf8('v'), version: 1n }] },
    singletonMap(SIGNATURES_MAP, tinySignature),
  ],
  viewHistory: [{ view: 2, fromSeqno: 1 }],
  hashAtSnapshot: TINY_HASH,
  key: TINY_KEY,
};

test("a store's maps, keys held as key strings, encode to the bytes of the same keys given as bytes: every byte value, and a key long enough to be a piece of its own", () => {
  const keys = [Uint8Array.of(0), Uint8Array.of(0x7f, 0x80), Uint8Array.of(0xe9, 0xff), new Uint8Array(KEPT_AS_IS_BYTES_MIN + 3).map((_, i) => 255 - (i % 256))];
  const store = new Store();
  const tx = store.beginTransaction();
  keys.forEach((key, i) => tx.map('public:bytes').set(key, Uint8Array.of(i)));
  store.commit(tx, 1n);
  const stored = store.snapshotMaps()[0]!;
  const asBytes: SnapshotMap = { ...stored, entries: stored.entries.map((e) => ({ key: keyBytes(e.key), value: e.value, version: e.version })) };
  const encoded = encodeSnapshot({ ...tinyInput, maps: [...tinyInput.maps, stored] });
  assert.deepEqual(encoded, encodeSnapshot({ ...tinyInput, maps: [...tinyInput.maps, asBytes] }));
  const decoded = decodeSnapshot(encoded, () => TINY_KEY).maps.find((map) => map.name === 'public:bytes')!;
  assert.deepEqual(
    decoded.entries.map((e) => toHex(e.key)),
    [...keys].sort(Buffer.compare).map((key) => toHex(key)),
  );
});

test('encodeSnapshot writes exactly the layout spelled out byte by byte (a format change must be deliberate)', () => {
  const encoded = encodeSnapshot(tinyInput);
  assert.deepEqual(encoded, sealTiny(tinyParts()));
  const hex = toHex(encoded);
  const size = encoded.length - 8;
  assert.equal(hex.slice(0, 16), `0100${toHex(u64(size)).slice(0, 12)}`, 'format 1, no flags, u48 size');
  assert.equal(hex.slice(2 * 24, 2 * 36), '020000000000000000000080', 'IV: seqno 2, view 0 with the snapshot bit');
  const publicStart = 2 * 44;
  assert.equal(
    hex.slice(publicStart, publicStart + 2 * (17 + 40 + 24 + 16 + 8 + 8 + 40)),
    '01' + // entry type Snapshot
      '0200000000000000' + // seqno
      '0000000000000000' + // max_conflict_version
      '2000000000000000' + '11'.repeat(32) + // hash at snapshot
      '1000000000000000' + '0100000000000000' + '0100000000000000' + // view history: views 1 and 2 start at seqno 1
      '0800000000000000' + '7075626c69633a61' + // map name "public:a"
      '0100000000000000' + // map version
      '2800000000000000' + // state size
      '0100000000000000' + '6b' + '00000000000000' + // key "k", padded to 8
      '0900000000000000' + '0100000000000000' + '76' + '00000000000000', // value size, version 1, "v", padded to 8
  );
  const decoded = decodeSnapshot(encoded, () => TINY_KEY);
  assert.deepEqual(decoded.txId, { view: 2, seqno: 2 });
  assert.deepEqual(decoded.viewHistory, [{ view: 2, fromSeqno: 1 }]);
  assert.deepEqual(readable(decoded.maps), readable([...tinyInput.maps].sort((a, b) => Buffer.compare(utf8(a.name), utf8(b.name)))));
});

/** A value of `length` bytes that differ from one another, so that a misplaced byte shows. */
const pattern = (length: number, seed: number): Uint8Array => new Uint8Array(length).map((_, i) => (i * 31 + seed) % 251);

/** The tiny state plus large values in a public and a private map, and many small keys (more than a chunk of them). */
function largeValues(): { input: SnapshotInput; parts: TinyParts } {
  const sizes = [KEPT_AS_IS_BYTES_MIN - 1, KEPT_AS_IS_BYTES_MIN, 3 * KEPT_AS_IS_BYTES_MIN + 5, 70_000, 1];
  const bigEntries = sizes.map((size, i) => ({ key: utf8(`big${i}`), value: pattern(size, i), version: 2n }));
  const manyEntries = Array.from({ length: 3000 }, (_, i) => ({ key: utf8(`small${i}`), value: pattern(i % 40, i), version: 1n }));
  const privateBig = { key: utf8('x'.repeat(KEPT_AS_IS_BYTES_MIN)), value: pattern(200_000, 7), version: 2n };
  const input: SnapshotInput = {
    ...tinyInput,
    maps: [
      ...tinyInput.maps,
      { name: 'public:big', version: 2n, entries: bigEntries },
      { name: 'c', version: 2n, entries: [...manyEntries.slice(0, 1500), privateBig, ...manyEntries.slice(1500)] },
    ],
  };
  const parts = tinyParts();
  const bytesOf = (entry: { key: Uint8Array; value: Uint8Array; version: bigint }) => stateEntry(fromUtf8(entry.key), entry.version, entry.value);
  parts.publicMaps.splice(1, 0, mapBytes('public:big', 2n, ...bigEntries.map(bytesOf)));
  parts.privateMaps.push(mapBytes('c', 2n, ...manyEntries.slice(0, 1500).map(bytesOf), bytesOf(privateBig), ...manyEntries.slice(1500).map(bytesOf)));
  return { input, parts };
}

test('a snapshot of large values and many keys is exactly the layout spelled out, however it is stepped', () => {
  const { input, parts } = largeValues();
  const expected = sealTiny(parts);
  assert.deepEqual(encodeSnapshot(input), expected);
  for (const [keys, bytes] of [
    [1, 1],
    [1, Number.MAX_SAFE_INTEGER],
    [7, 1000],
    [512, 512 * 1024],
  ]) {
    const encoder = new SnapshotEncoder(input);
    while (!encoder.step(keys as number, bytes as number));
    const { pieces, digest } = encoder.finish();
    // Byte-sized steps leave a piece per byte: too many to spread into concatBytes' arguments.
    assert.deepEqual(new Uint8Array(Buffer.concat(pieces)), expected, `${keys} keys or ${bytes} bytes per step`);
    assert.deepEqual(digest, snapshotDigest(expected));
  }
});

test('each snapshot step stops at its byte budget: a state of 3 MB values is written, encrypted and hashed a bounded slice at a time', () => {
  const value = (i: number) => new Uint8Array(3_000_000).fill(i);
  const input: SnapshotInput = {
    ...tinyInput,
    maps: [
      ...tinyInput.maps,
      { name: 'public:big', version: 2n, entries: [0, 1].map((i) => ({ key: utf8(`p${i}`), value: value(i), version: 2n })) },
      { name: 'c', version: 2n, entries: [2, 3, 4, 5, 6, 7].map((i) => ({ key: utf8(`k${i}`), value: value(i), version: 2n })) },
    ],
  };
  const budget = 256 * 1024;
  const largestKey = 3_000_000 + 64; // a key is written whole: one value, its key and framing
  const encoder = new SnapshotEncoder(input);
  const perStep: number[] = [];
  let done = false;
  while (!done) {
    const before = encoder.handledBytes;
    done = encoder.step(512, budget);
    perStep.push(encoder.handledBytes - before);
  }
  const total = perStep.reduce((sum, bytes) => sum + bytes, 0);
  assert.ok(total > 3 * 24_000_000, `the state is written, encrypted and hashed: ${total} bytes handled`);
  assert.ok(Math.max(...perStep) <= budget + largestKey, `no step handles more than its budget and one key: ${Math.max(...perStep)} bytes`);
  assert.equal(perStep.filter((bytes) => bytes > budget).length, 8, 'the steps past their budget are those that wrote a 3 MB value, one each');
  assert.ok(perStep.length >= total / (budget + largestKey), `${perStep.length} steps for ${total} bytes`);
  const { pieces } = encoder.finish();
  const decoded = decodeSnapshot(concatBytes(...pieces), () => TINY_KEY);
  assert.deepEqual(decoded.maps.find((map) => map.name === 'c')?.entries.at(-1)?.value, value(7));
  assert.deepEqual(decoded.maps.find((map) => map.name === 'public:big')?.entries[1]?.value, value(1));
});

test('deleted keys (CCF keeps tombstones in snapshots) are dropped when decoding', () => {
  const parts = tinyParts();
  parts.publicMaps[0] = mapBytes('public:a', 2n, stateEntry('gone', -2n, new Uint8Array()), stateEntry('k', 1n, utf8('v')));
  const decoded = decodeSnapshot(sealTiny(parts), () => TINY_KEY);
  assert.deepEqual(readable(decoded.maps.filter((m) => m.name === 'public:a')), [['public:a', 2n, [['6b', '76', 1n]]]]);
});

for (const [name, change, reason] of [
  ['non-zero padding', (p: TinyParts) => (p.publicMaps[0] = mapBytes('public:a', 1n, stateEntry('k', 1n, utf8('v')).map((byte, i) => (i === 12 ? 1 : byte)))), /padding/],
  ['a key twice', (p: TinyParts) => (p.publicMaps[0] = mapBytes('public:a', 1n, stateEntry('k', 1n, utf8('v')), stateEntry('k', 1n, utf8('w')))), /twice/],
  ['a key version above its map version', (p: TinyParts) => (p.publicMaps[0] = mapBytes('public:a', 1n, stateEntry('k', 2n, utf8('v')))), /outside 1 to the map's 1/],
  ['a map version above the seqno', (p: TinyParts) => (p.publicMaps[0] = mapBytes('public:a', 3n, stateEntry('k', 1n, utf8('v')))), /outside 1 to 2/],
  ['a tombstone with a value', (p: TinyParts) => (p.publicMaps[0] = mapBytes('public:a', 1n, stateEntry('k', -1n, utf8('v')))), /deleted key/],
  ['a value size below its version', (p: TinyParts) => (p.publicMaps[0] = mapBytes('public:a', 1n, concatBytes(vector(utf8('k')), zeros(7), u64(4), u64(1)))), /smaller than/],
  ['a private map in the public domain', (p: TinyParts) => p.publicMaps.push(mapBytes('c', 1n)), /public domain but is not public/],
  ['a public map in the private domain', (p: TinyParts) => p.privateMaps.push(mapBytes('public:c', 1n)), /private domain but is not private/],
  ['a map twice', (p: TinyParts) => p.privateMaps.push(mapBytes('b', 2n)), /appears twice/],
  ['a short hash at snapshot', (p: TinyParts) => (p.hash = new Uint8Array(31)), /hash at snapshot/],
  ['an empty view history', (p: TinyParts) => (p.views = []), /view history is empty/],
  ['a view history going back', (p: TinyParts) => (p.views = [2, 1]), /view 2 starts at seqno 1/],
  ['a view starting after the snapshot', (p: TinyParts) => (p.views = [1, 3]), /outside 1 to 2/],
  ['no tree', (p: TinyParts) => p.publicMaps.pop(), /signature transactions/],
  ['a tree that is not the signed one', (p: TinyParts) => (p.publicMaps[2] = mapBytes(TREE_MAP, 2n, singleton(new MerkleTree().serialize(0, 0)))), /over 0 leaves/],
] as const) {
  test(`a snapshot with ${name} is malformed, though authentic`, () => {
    const parts = tinyParts();
    change(parts);
    assert.throws(
      () => decodeSnapshot(sealTiny(parts), () => TINY_KEY),
      (e: unknown) => isCocoError('SnapshotMalformed')(e) && reason.test((e as Error).message),
    );
  });
}

test('a snapshot entry with flags, another entry type or a plain IV is malformed', () => {
  const flagged = sealTiny(tinyParts());
  flagged[1] = 1;
  assert.throws(() => decodeSnapshot(flagged, () => TINY_KEY), (e: unknown) => isCocoError('SnapshotMalformed')(e) && /flags/.test((e as Error).message));
  assert.throws(() => decodeSnapshot(concatBytes(sealTiny(tinyParts()), zeros(1)), () => TINY_KEY), isCocoError('SnapshotMalformed'));
  const ledgerEntry = service.appended.get(2)!.entry;
  assert.throws(() => decodeSnapshot(ledgerEntry, keyFor), (e: unknown) => isCocoError('SnapshotMalformed')(e) && /not Snapshot/.test((e as Error).message));
});

for (const [name, change] of [
  ['a seqno that is not a signature transaction', (input: SnapshotInput) => ({ ...input, txId: { view: 2, seqno: 3 } })],
  ['a view that is not the last of the view history', (input: SnapshotInput) => ({ ...input, txId: { view: 3, seqno: 2 } })],
  ['a view history going back', (input: SnapshotInput) => ({ ...input, viewHistory: [{ view: 2, fromSeqno: 2 }, { view: 3, fromSeqno: 1 }] })],
  ['no view history', (input: SnapshotInput) => ({ ...input, viewHistory: [] })],
  ['a short hash at snapshot', (input: SnapshotInput) => ({ ...input, hashAtSnapshot: new Uint8Array(31) })],
  ['a key version above its map version', (input: SnapshotInput) => ({ ...input, maps: [...input.maps, { name: 'z', version: 1n, entries: [{ key: utf8('k'), value: utf8('v'), version: 2n }] }] })],
  ['a map twice', (input: SnapshotInput) => ({ ...input, maps: [...input.maps, input.maps[0] as SnapshotMap] })],
] as const) {
  test(`encodeSnapshot refuses ${name}`, () => {
    assert.throws(() => encodeSnapshot(change(tinyInput)), isCocoError('InvalidArgument'));
  });
}
