import assert from 'node:assert/strict';
import test from 'node:test';
import { randomBytes } from '../../src/crypto/random.js';
import { certificateId } from '../../src/crypto/entity-id.js';
import { CocoError } from '../../src/errors.js';
import { decodeChunk, encodeChunk, parseChunkName } from '../../src/ledger/chunk-file.js';
import { openEntry } from '../../src/ledger/entry-sealing.js';
import { LedgerVerificationError, LedgerVerifier, type LedgerSummary, type LedgerVerifierOptions } from '../../src/ledger/ledger-verifier.js';
import { formatTxId } from '../../src/ledger/tx-id.js';
import { GENESIS_PLACEHOLDER_LEAF, leafOf } from '../../src/ledger/leaf.js';
import { MerkleTree } from '../../src/ledger/merkle-tree.js';
import { sha256 } from '../../src/crypto/hash.js';
import { toHex, utf8 } from '../../src/crypto/bytes.js';
import { createServiceIdentity, generateLedger } from '../support/generated-ledger.js';
import { REAL_LEDGERS, realChunks } from '../support/real-ledgers.js';
import { chunkWithReplaced, oneWrite, withExtraWrites } from './altered-entry.js';

interface Chunk {
  name: string;
  bytes: Uint8Array;
}

function verify(chunks: readonly Chunk[], trustedServiceCertPem?: string, options: LedgerVerifierOptions = {}): LedgerSummary {
  const verifier = new LedgerVerifier({ ...options, ...(trustedServiceCertPem !== undefined && { trustedServiceCertPem }) });
  for (const chunk of chunks) verifier.addChunk(chunk.name, chunk.bytes);
  return verifier.finish();
}

function verificationError(chunks: readonly Chunk[], options: LedgerVerifierOptions = {}): LedgerVerificationError {
  try {
    verify(chunks, undefined, options);
  } catch (error) {
    assert.ok(error instanceof LedgerVerificationError, `expected a LedgerVerificationError, got ${String(error)}`);
    return error;
  }
  assert.fail('the ledger verified, but it should not have');
}

const serviceCertOf = (chunks: readonly Chunk[]) => {
  const info = decodeChunk(chunks[0]!.bytes, chunks[0]!.name).entries[0]!.publicMaps.find((m) => m.name === 'public:ccf.gov.service.info');
  return JSON.parse(Buffer.from(info!.writes[0]!.value).toString()).cert as string;
};

test('the real CCF ledgers verify: every signature, tree and COSE signature', () => {
  const genesis = verify(realChunks('genesis-14'));
  assert.equal(genesis.transactions, 14);
  assert.equal(genesis.signatures, 6);
  assert.equal(genesis.coseSignatures, 6);
  assert.equal(formatTxId(genesis.lastVerifiedTxId!), '2.14');
  assert.equal(genesis.unsignedTail, 0);
  assert.equal(genesis.serviceIdentityFingerprint, certificateId(serviceCertOf(realChunks('genesis-14'))));

  const expired = verify(realChunks('expired-service'));
  assert.equal(expired.files, 3);
  assert.equal(expired.transactions, 26);
  assert.equal(expired.signatures, 7);
  assert.equal(formatTxId(expired.lastVerifiedTxId!), '2.26');
  assert.equal(expired.serviceIdentityFingerprint, '0c728a183fa3a673e2e25cff4b7f7047035d00fbd21d72fd3008a620f7cd8075');
});

test('a ledger verifies against its own service certificate and fails against another', () => {
  const chunks = realChunks('expired-service');
  assert.equal(verify(chunks, serviceCertOf(chunks)).transactions, 26);
  const other = createServiceIdentity();
  assert.throws(() => verify(chunks, other.serviceCertPem), (e: unknown) => e instanceof LedgerVerificationError && /not the trusted/.test(e.message) && e.txId?.seqno === 1);
});

/** Where each entry of a chunk starts and ends, with its seqno. */
function entrySpans(chunk: Chunk): { seqno: number; start: number; end: number }[] {
  const decoded = decodeChunk(chunk.bytes, chunk.name);
  return decoded.entries.map((entry, i) => ({ seqno: entry.txId.seqno, start: decoded.offsets[i]!, end: decoded.offsets[i]! + entry.raw.length }));
}

for (const [ledger, signatures] of REAL_LEDGERS.flatMap((name) => [[name, 'all'], [name, 'last']] as const)) {
  test(`flipping any one bit of an entry of ${ledger} fails verification at that entry's seqno (signatures checked: ${signatures})`, () => {
    const chunks = realChunks(ledger);
    const lastSeqno = chunks.flatMap((c) => c.decoded.entries).length;
    // The final signature transaction is covered by no later signature; it is tested on its own.
    const spans = chunks.flatMap((chunk, index) => entrySpans(chunk).filter((s) => s.seqno < lastSeqno).map((s) => ({ ...s, index })));
    const total = spans.reduce((sum, s) => sum + (s.end - s.start), 0);
    const positions = 250;
    const failures: string[] = [];
    for (let p = 0; p < positions; p++) {
      // Spread positions over all entry bytes, plus each entry's first 64 bytes (headers and IV).
      let target = Math.floor(((p + 0.5) * total) / positions);
      const span = spans.find((s) => (target -= s.end - s.start) < 0)!;
      const offset = p % 3 === 0 ? span.start + (p % 64) : span.end + target;
      const flipped = chunks.map((c) => ({ name: c.name, bytes: c.bytes }));
      const bytes = chunks[span.index]!.bytes.slice();
      bytes[offset]! ^= 1 << (p % 8);
      flipped[span.index] = { name: chunks[span.index]!.name, bytes };
      const error = verificationError(flipped, { signatures });
      if ((error.txId?.seqno ?? error.seqno) !== span.seqno) failures.push(`byte ${offset} of ${span.seqno}: ${error.message}`);
    }
    assert.deepEqual(failures, []);
  });
}

test('an entry whose size field grows to swallow the next entry exactly is named, not the entry after it', () => {
  const chunks = realChunks('expired-service');
  const failures: string[] = [];
  chunks.forEach((chunk, index) => {
    const { entries, offsets } = chunk.decoded;
    // Each entry but a chunk's last, its u48 size grown by the next entry's length (2.10 by 2.11's is one bit flip).
    for (let i = 0; i + 1 < entries.length; i++) {
      const bytes = chunk.bytes.slice();
      const view = new DataView(bytes.buffer);
      const size = view.getUint32(offsets[i]! + 2, true) + entries[i + 1]!.raw.length;
      view.setUint32(offsets[i]! + 2, size, true);
      const altered = chunks.map((c, j) => ({ name: c.name, bytes: j === index ? bytes : c.bytes }));
      const error = verificationError(altered);
      if (error.txId?.seqno !== entries[i]!.txId.seqno || !/size field/.test(error.message)) failures.push(`${formatTxId(entries[i]!.txId)}: ${error.message}`);
    }
  });
  assert.deepEqual(failures, []);
});

test('a malformed field is reported at the byte of the file where the field starts', () => {
  const chunks = realChunks('expired-service');
  const chunk = chunks[1]!;
  const index = chunk.decoded.entries.findIndex((entry) => entry.txId.seqno === 7);
  const at = chunk.decoded.offsets[index]!;
  const publicAt = chunk.decoded.entries[index]!.publicDomain.byteOffset - chunk.bytes.byteOffset;
  const mapNameAt = publicAt + 1 + 8 + 32 + 8; // entry type, seqno, commit-evidence digest, max_conflict_version
  const cases: [string, number, number, number, RegExp][] = [
    // [field, byte changed, its new value, where the field starts, the message]
    ['format version', at, 2, at, /unknown entry format version 2/],
    ['flags', at + 1, 0x80, at + 1, /unknown entry flags 0x80/],
    ['size', at + 7, 0x7f, at + 2, /entry claims \d+ bytes/],
    ['public domain size', at + 8 + 28 + 7, 0xff, at + 8 + 28, /public domain size is implausibly large/],
    ['entry type', publicAt, 9, publicAt, /unknown entry type 9/],
    ['seqno', publicAt + 1, 8, publicAt + 1, /seqno 8 in the public domain differs/],
    ['map name', mapNameAt + 8, 0xff, mapNameAt, /map name is empty or not UTF-8/],
  ];
  for (const [field, byte, value, fieldStart, message] of cases) {
    const bytes = chunk.bytes.slice();
    bytes[byte] = value;
    const error = verificationError([chunks[0]!, { name: chunk.name, bytes }, chunks[2]!]);
    assert.match(error.message, message, field);
    assert.match(error.message, new RegExp(`\\(at byte ${fieldStart}\\)$`), `${field}: ${error.message}`);
  }
});

test('altering the signed root or the signature of the final signature transaction is detected', () => {
  const chunks = realChunks('genesis-14');
  for (const signatures of ['all', 'last'] as const) {
    for (const field of ['"root":"', '"sig":"']) {
      const bytes = chunks[0]!.bytes.slice();
      const at = Buffer.from(bytes).lastIndexOf(field) + field.length + 3;
      bytes[at] = bytes[at] === 0x41 ? 0x42 : 0x41;
      const error = verificationError([{ name: chunks[0]!.name, bytes }], { signatures });
      assert.equal(error.txId?.seqno, 14, error.message);
      assert.equal(error.file, chunks[0]!.name);
    }
  }
});

test("with signatures: 'last', the final signature's own signatures are checked by finish, after every chunk", () => {
  const chunks = realChunks('expired-service');
  assert.deepEqual(verify(chunks, undefined, { signatures: 'last' }), verify(chunks));
  // The node's signature of the final signature transaction (in the last chunk), altered.
  const last = chunks.at(-1)!;
  const bytes = last.bytes.slice();
  const at = Buffer.from(bytes).lastIndexOf('"sig":"') + 10;
  bytes[at] = bytes[at] === 0x41 ? 0x42 : 0x41;
  const verifier = new LedgerVerifier({ signatures: 'last' });
  for (const chunk of [...chunks.slice(0, -1), { name: last.name, bytes }]) verifier.addChunk(chunk.name, chunk.bytes);
  assert.throws(
    () => verifier.finish(),
    (e: unknown) => e instanceof LedgerVerificationError && e.txId?.seqno === 26 && e.file === last.name && /signature by node .* does not verify/.test(e.message),
  );
  // The service's COSE signature (a CCF 6 ledger), altered in its signature bytes (the end of the CBOR message).
  const [genesis] = realChunks('genesis-14');
  const decoded = genesis!.decoded;
  const coseValue = decoded.entries.at(-1)!.publicMaps.find((m) => m.name === 'public:ccf.internal.cose_signatures')!.writes[0]!.value;
  const coseBytes = genesis!.bytes.slice();
  const signatureEntryEnd = decoded.offsets.at(-1)! + decoded.entries.at(-1)!.raw.length;
  const coseAt = Buffer.from(coseBytes.subarray(0, signatureEntryEnd)).lastIndexOf(Buffer.from(coseValue.subarray(-8))) + 4;
  coseBytes[coseAt]! ^= 1;
  const again = new LedgerVerifier({ signatures: 'last' });
  again.addChunk(genesis!.name, coseBytes);
  assert.throws(() => again.finish(), (e: unknown) => e instanceof LedgerVerificationError && e.txId?.seqno === 14 && /COSE signature over the root is invalid/.test(e.message));
});

test('addChunk hands each verified entry once, in order, with its write-set digest, and reports the chunk layout', () => {
  const chunks = realChunks('expired-service');
  const verifier = new LedgerVerifier();
  const seen: { seqno: number; digest: string }[] = [];
  for (const chunk of chunks) {
    const layout = verifier.addChunk(chunk.name, chunk.bytes, (entry, digest) => seen.push({ seqno: entry.txId.seqno, digest: toHex(digest) }));
    const decoded = decodeChunk(chunk.bytes, chunk.name);
    assert.deepEqual(layout.offsets, decoded.offsets);
    assert.equal(layout.complete, decoded.complete);
    assert.equal(layout.entriesEnd, decoded.offsets.at(-1)! + decoded.entries.at(-1)!.raw.length);
  }
  const entries = chunks.flatMap((c) => c.decoded.entries);
  assert.deepEqual(seen, entries.map((entry) => ({ seqno: entry.txId.seqno, digest: toHex(sha256(entry.raw)) })));
});

test('a tree handed to the verifier is rebuilt whole, never flushed; one of the wrong size is refused', () => {
  const chunks = realChunks('expired-service');
  const tree = new MerkleTree();
  tree.append(GENESIS_PLACEHOLDER_LEAF);
  const verifier = new LedgerVerifier({ tree });
  for (const chunk of chunks) verifier.addChunk(chunk.name, chunk.bytes);
  verifier.finish();
  assert.equal(tree.size, 27);
  assert.equal(tree.flushed, 0);
  const entries = chunks.flatMap((c) => c.decoded.entries);
  entries.forEach((entry, i) => assert.equal(toHex(tree.leaf(i + 1)), toHex(leafOf(entry))));
  assert.throws(() => new LedgerVerifier({ tree: new MerkleTree() }), { name: 'CocoError', code: 'InvalidArgument' });
});

test('a truncated chunk is reported with its file name', () => {
  const chunks = realChunks('expired-service');
  for (const keep of [4, 100, 5000, chunks[1]!.bytes.length - 1]) {
    const error = verificationError([chunks[0]!, { name: chunks[1]!.name, bytes: chunks[1]!.bytes.subarray(0, keep) }, chunks[2]!]);
    assert.equal(error.file, chunks[1]!.name, error.message);
    // Never a transaction of the chunk before: the file's own, or none when the file as a whole is at fault.
    const first = parseChunkName(chunks[1]!.name)!.first;
    assert.ok(error.txId === undefined || error.txId.seqno >= first, error.message);
  }
  assert.equal(verificationError([chunks[0]!, { name: chunks[1]!.name, bytes: chunks[1]!.bytes.subarray(0, 4) }]).txId, undefined);
});

test("a damaged positions table offset is reported as the file's fault, not an entry's", () => {
  const chunks = realChunks('expired-service');
  const chunk = chunks[1]!;
  const entriesEnd = Number(new DataView(chunk.bytes.buffer, chunk.bytes.byteOffset).getBigUint64(0, true));
  const lastAt = chunk.decoded.offsets.at(-1)!;
  const cases: [number, RegExp][] = [
    [0, /^a committed chunk has no positions table/],
    [entriesEnd + 1, new RegExp(`^the positions table offset ${entriesEnd + 1} is not at an entry boundary \\(the entries before it end at byte ${entriesEnd}\\)`)],
    [entriesEnd + 4, /is not at an entry boundary/],
    [entriesEnd - 4, new RegExp(`is not at an entry boundary \\(the entries before it end at byte ${lastAt}\\)`)],
    [lastAt, new RegExp(`^the positions table offset ${lastAt} does not point at the positions table`)],
    [8, /does not point at the positions table/],
  ];
  for (const [tableOffset, message] of cases) {
    const bytes = chunk.bytes.slice();
    new DataView(bytes.buffer).setBigUint64(0, BigInt(tableOffset), true);
    const error = verificationError([chunks[0]!, { name: chunk.name, bytes }, chunks[2]!]);
    assert.equal(error.file, chunk.name);
    assert.equal(error.txId, undefined, error.message);
    assert.match(error.reason, message);
  }
});

test('a missing chunk is reported as a gap, a repeated one as an overlap', () => {
  const [first, second, third] = realChunks('expired-service');
  assert.match(verificationError([first!, third!]).message, /^ledger_16-\S+: a gap: the previous chunk ended at seqno 4 but this one starts at 16/);
  assert.match(verificationError([first!, second!, second!]).message, /an overlap/);
  assert.match(verificationError([second!, third!]).message, /starts at seqno 5/);
});

test('a chunk whose name does not match its entries is rejected', () => {
  const [first] = realChunks('expired-service');
  assert.match(verificationError([{ name: 'ledger_1-5.committed', bytes: first!.bytes }]).message, /says it ends at seqno 5/);
  assert.match(verificationError([{ name: 'chunk.bin', bytes: first!.bytes }]).message, /not a ledger chunk name/);
});

test('a ledger written by Coco verifies, and its private data opens only with the right secret', () => {
  const generated = generateLedger({ transactions: 120, signatureInterval: 10, chunkBytesTarget: 8000, privateValueBytes: 48 });
  assert.ok(generated.chunks.length >= 3, 'several chunks');
  const summary = verify(generated.chunks, generated.identity.serviceCertPem);
  assert.equal(summary.transactions, generated.writer.lastTxId.seqno);
  assert.equal(summary.signatures, summary.coseSignatures);
  const entries = generated.chunks.flatMap((c) => decodeChunk(c.bytes, c.name).entries);
  const privateEntries = entries.filter((e) => e.encryptedPrivateDomain.length > 0);
  assert.equal(privateEntries.length, 120);
  for (const entry of privateEntries) {
    const [records] = openEntry(entry, generated.ledgerSecret);
    assert.equal(records!.name, 'records');
    assert.equal(records!.writes[0]!.value.length, 48);
  }
  const wrong = randomBytes(32);
  assert.throws(() => openEntry(privateEntries[0]!, wrong), (e: unknown) => e instanceof CocoError && e.code === 'DecryptionFailed');
});

test('transactions after the last signature are reported as unsigned in an uncommitted chunk, and rejected in a committed one', () => {
  const generated = generateLedger({ transactions: 25, signatureInterval: 10, unsignedTail: 5 });
  const last = generated.chunks.at(-1)!;
  assert.doesNotMatch(last.name, /committed/);
  const summary = verify(generated.chunks);
  assert.equal(summary.unsignedTail, 5);
  assert.equal(summary.lastVerifiedTxId!.seqno, summary.lastTxId!.seqno - 5);
  const committedName = `${last.name}.committed`;
  const error = verificationError([...generated.chunks.slice(0, -1), { name: committedName, bytes: encodeChunk(decodeChunk(last.bytes, last.name).entries.map((e) => e.raw), true) }]);
  assert.match(error.message, /must end with a signature transaction/);
});

test('a ledger signed by a node that the service did not endorse fails', () => {
  const generated = generateLedger({ transactions: 3, signatureInterval: 10 });
  const impostor = createServiceIdentity();
  const forged = generateLedger({
    transactions: 3,
    signatureInterval: 10,
    identity: { ...generated.identity, nodeKey: impostor.nodeKey, nodeCertPem: impostor.nodeCertPem, nodeId: impostor.nodeId },
  });
  assert.match(verificationError(forged.chunks).message, /not endorsed by the service identity/);
});

test("a signature transaction replaced by another service's at the same seqno is blamed itself, not an entry its tree names", () => {
  const [first, ...rest] = realChunks('expired-service');
  const [genesis] = realChunks('genesis-14');
  // Both services' 2.2 is a signature; genesis-14's signs its own 2.1, which the tree it carries names.
  const entries = first!.decoded.entries.map((entry) => (entry.txId.seqno === 2 ? genesis!.decoded.entries[1]! : entry).raw);
  const spliced = [{ name: first!.name, bytes: encodeChunk(entries, true) }, ...rest];
  for (const signatures of ['all', 'last'] as const) {
    const error = verificationError(spliced, { signatures });
    assert.equal(error.txId && formatTxId(error.txId), '2.2', error.message);
    assert.match(error.message, /not endorsed by the service identity/);
  }
});

test('an entry that a signature in a later chunk shows altered is named with the file that holds it', () => {
  const chunks = realChunks('expired-service');
  // The GCM tag of 2.4, the last signature of the first chunk: only the next signature (2.6) covers it.
  const bytes = chunks[0]!.bytes.slice();
  bytes[chunks[0]!.decoded.offsets.at(-1)! + 10]! ^= 1;
  const error = verificationError([{ name: chunks[0]!.name, bytes }, ...chunks.slice(1)]);
  assert.equal(error.txId && formatTxId(error.txId), '2.4', error.message);
  assert.equal(error.file, chunks[0]!.name);
  assert.match(error.message, /signed at transaction 2\.6/);
});

test('a signature transaction that writes anything beyond the signature tables is refused, naming the file, the transaction and the map', () => {
  const [chunk] = realChunks('genesis-14');
  const { entries } = chunk!.decoded;
  const final = entries.at(-1)!;
  assert.equal(withExtraWrites(final, []).length, final.raw.length, 're-encoded as it was');
  assert.deepEqual(withExtraWrites(final, []), final.raw);
  // Nothing signs the final signature transaction: without the check, these were taken as verified.
  const forgeries = [
    { what: 'public:records', entry: withExtraWrites(final, [oneWrite('public:records', utf8('999999'), utf8('paid 1,000,000 to mallory'))]) },
    { what: 'public:ccf.gov.service.info', entry: withExtraWrites(final, [oneWrite('public:ccf.gov.service.info', new Uint8Array(8), utf8('{"cert":"forged","status":"Open"}'))]) },
    { what: '16 bytes of private writes', entry: withExtraWrites(final, [], new Uint8Array(16)) },
  ];
  for (const { what, entry } of forgeries) {
    const forged = [{ name: chunk!.name, bytes: chunkWithReplaced(entries, 14, entry, true) }];
    for (const signatures of ['all', 'last'] as const) {
      const error = verificationError(forged, { signatures });
      assert.equal(error.file, chunk!.name);
      assert.equal(error.txId && formatTxId(error.txId), '2.14', error.message);
      assert.match(error.message, new RegExp(`may write only public:ccf\\.internal\\.signatures, public:ccf\\.internal\\.tree, public:ccf\\.internal\\.cose_signatures, but this one also (writes|has) ${what.replace(/[.,]/g, '\\$&')}`));
    }
  }
  // An earlier one is refused itself too, not only through the next signature's root.
  const early = verificationError([{ name: chunk!.name, bytes: chunkWithReplaced(entries, 5, withExtraWrites(entries[4]!, [oneWrite('public:records', utf8('k'), utf8('v'))]), true) }]);
  assert.equal(early.txId && formatTxId(early.txId), '2.5', early.message);
  assert.match(early.message, /also writes public:records/);
});

test('the service identity reported is the one in force at the last signature: a later record no signature covers changes nothing', () => {
  const generated = generateLedger({ transactions: 25, signatureInterval: 10, unsignedTail: 5 });
  const other = createServiceIdentity();
  const open = generated.chunks.at(-1)!;
  const { entries } = decodeChunk(open.bytes, open.name);
  const last = entries.at(-1)!;
  const serviceInfo = utf8(JSON.stringify({ cert: other.serviceCertPem, status: 'Open' }));
  const forged = withExtraWrites(last, [oneWrite('public:ccf.gov.service.info', new Uint8Array(8), serviceInfo)]);
  const chunks = [...generated.chunks.slice(0, -1), { name: open.name, bytes: chunkWithReplaced(entries, last.txId.seqno, forged, false) }];
  for (const signatures of ['all', 'last'] as const) {
    const summary = verify(chunks, undefined, { signatures });
    assert.equal(summary.unsignedTail, 5);
    assert.equal(summary.serviceCertPem, generated.identity.serviceCertPem);
    assert.equal(summary.serviceIdentityFingerprint, certificateId(generated.identity.serviceCertPem), 'the identity that signed the ledger, not the unsigned record');
  }
  // Before any signature, nothing is signed: no identity is reported.
  const unsigned = verify([{ name: 'ledger_1', bytes: encodeChunk([decodeChunk(generated.chunks[0]!.bytes, generated.chunks[0]!.name).entries[0]!.raw], false) }]);
  assert.equal(unsigned.unsignedTail, 1);
  assert.equal(unsigned.serviceIdentityFingerprint, undefined);
});

test('an entry a crash cut short at the end of the chunk being written is reported, not a failure; anywhere else it fails', () => {
  const generated = generateLedger({ transactions: 25, signatureInterval: 10, unsignedTail: 5 });
  const open = generated.chunks.at(-1)!;
  const { entries, offsets } = decodeChunk(open.bytes, open.name);
  const openName = `ledger_${entries[0]!.txId.seqno}`;
  const whole = verify([...generated.chunks.slice(0, -1), { name: openName, bytes: open.bytes }]);
  const lastEntry = entries.at(-1)!;
  const lastOffset = offsets.at(-1)!;
  // Cut inside the last entry's body, and inside its 8-byte header.
  for (const kept of [lastEntry.raw.length - 100, 3]) {
    const torn = { name: openName, bytes: open.bytes.subarray(0, lastOffset + kept) };
    for (const signatures of ['all', 'last'] as const) {
      const summary = verify([...generated.chunks.slice(0, -1), torn], undefined, { signatures });
      assert.deepEqual(summary.incompleteEntry, { file: openName, offset: lastOffset, bytes: kept, seqno: lastEntry.txId.seqno });
      assert.equal(summary.unsignedTail, whole.unsignedTail - 1);
      assert.deepEqual(summary.lastVerifiedTxId, whole.lastVerifiedTxId);
      assert.equal(summary.transactions, whole.transactions - 1);
    }
    // Another chunk after it: the cut is no crash of the last write.
    const followed = verificationError([...generated.chunks.slice(0, -1), torn, { name: `ledger_${lastEntry.txId.seqno}`, bytes: encodeChunk([lastEntry.raw], false) }]);
    assert.equal(followed.file, openName);
    assert.equal(followed.seqno, lastEntry.txId.seqno, 'the fault is named by the seqno the incomplete entry would have');
    assert.equal(followed.txId, undefined, 'not by the complete entry before it');
    assert.match(followed.message, /ends with an incomplete entry .* but ledger_\d+ follows it/);
  }
  assert.equal(whole.incompleteEntry, undefined);
  // A committed chunk cut short still fails, whatever the cut.
  const [committed] = realChunks('genesis-14');
  const cut = verificationError([{ name: committed!.name, bytes: committed!.bytes.subarray(0, committed!.decoded.offsets.at(-1)! + 100) }]);
  assert.equal(cut.file, committed!.name);
});
