import { test } from 'node:test';
import assert from 'node:assert/strict';

import { toHex, utf8 } from '../../src/crypto/bytes.js';
import { sha256 } from '../../src/crypto/hash.js';
import { encodeChunk, formatChunkName } from '../../src/ledger/chunk-file.js';
import { decodeEntry } from '../../src/ledger/entry.js';
import { sealEntry } from '../../src/ledger/entry-sealing.js';
import { LedgerSecrets } from '../../src/ledger/ledger-secrets.js';
import { LedgerVerifier } from '../../src/ledger/ledger-verifier.js';
import type { AppendResult, LedgerWriter } from '../../src/ledger/ledger-writer.js';
import { decodePrimarySignature, encodePrimarySignature, SIGNATURES_MAP } from '../../src/ledger/signature.js';
import { formatTxId } from '../../src/ledger/tx-id.js';
import { appWriteSet, genesisWriteSet, identity, makeWriter, SECRETS } from './writer-fixture.js';

/** A primary's ledger: genesis, transactions, signatures (one closing its chunk), rekeyed at 5. */
function writePrimary(primary: LedgerWriter): AppendResult[] {
  const results = [primary.appendTransaction(genesisWriteSet()), primary.appendSignature(1_700_000_000)];
  results.push(primary.appendTransaction(appWriteSet('a'), sha256(utf8('claims of a'))));
  results.push(primary.appendTransaction(appWriteSet('b')));
  results.push(primary.appendSignature(1_700_000_001));
  primary.requestChunk();
  results.push(primary.appendTransaction(appWriteSet('c')));
  results.push(primary.appendSignature(1_700_000_002));
  results.push(primary.appendTransaction(appWriteSet('d')));
  return results;
}

/** Every field of an append result, in comparable form. */
function summary(result: AppendResult): unknown {
  const maps = (list: AppendResult['writeSet']['public']) =>
    list.map((m) => ({ name: m.name, writes: m.writes.map((w) => [toHex(w.key), toHex(w.value)]), removes: m.removes.map(toHex) }));
  return {
    txId: formatTxId(result.txId),
    commitEvidence: result.commitEvidence,
    entry: toHex(result.entry),
    public: maps(result.writeSet.public),
    private: maps(result.writeSet.private),
    closesChunk: result.closesChunk,
    writeSetDigest: toHex(result.writeSetDigest),
    claimsDigest: toHex(result.claimsDigest),
  };
}

function verifyLedger(entries: readonly Uint8Array[]): string {
  const verifier = new LedgerVerifier({ trustedServiceCertPem: identity.serviceCertPem });
  verifier.addChunk(formatChunkName(1, entries.length, false), encodeChunk(entries, true));
  return formatTxId(verifier.finish().lastVerifiedTxId!);
}

test('a backup that applies the primary entries reaches the same roots, write sets and signatures', () => {
  const primary = makeWriter();
  const backup = makeWriter({ view: 0 });
  const results = writePrimary(primary);
  for (const result of results) {
    const rootBefore = toHex(backup.tree.root());
    const replicated = backup.appendReplicated(result.entry, result.txId);
    assert.deepEqual(summary(replicated), summary(result), formatTxId(result.txId));
    assert.notEqual(toHex(backup.tree.root()), rootBefore);
  }
  assert.equal(toHex(backup.tree.root()), toHex(primary.tree.root()));
  assert.deepEqual(backup.lastTxId, primary.lastTxId);
  assert.equal(backup.lastSignatureSeqno, 7);
  assert.equal(backup.view, 2, 'the backup follows the view of the entries it applies');
  // The backup's own next entries continue the same tree and verify with the rest.
  const own = backup.appendSignature(1_700_000_003);
  assert.equal(formatTxId(own.txId), '2.9');
  assert.equal(verifyLedger([...results.map((r) => r.entry), own.entry]), '2.9');
});

test('replicated entries keep the chunk boundaries the primary chose', () => {
  const primary = makeWriter({ chunkBytesTarget: 1 });
  const backup = makeWriter();
  const results = writePrimary(primary);
  const closing = results.filter((r) => r.closesChunk).map((r) => r.txId.seqno);
  assert.deepEqual(closing, [2, 5, 7]);
  assert.deepEqual(
    results.filter((r) => backup.appendReplicated(r.entry, r.txId).closesChunk).map((r) => r.txId.seqno),
    closing,
  );
});

test('a signature over another history is refused with LedgerDivergence, naming the seqno, and changes nothing', () => {
  const primary = makeWriter();
  const other = makeWriter();
  const backup = makeWriter();
  const genesis = primary.appendTransaction(genesisWriteSet());
  const signature = primary.appendSignature(1_700_000_000);
  const otherGenesis = other.appendTransaction(appWriteSet('not the genesis'));
  backup.appendReplicated(otherGenesis.entry, otherGenesis.txId);
  const root = toHex(backup.tree.root());
  assert.throws(() => backup.appendReplicated(signature.entry, signature.txId), {
    name: 'CocoError',
    code: 'LedgerDivergence',
    message: /seqno 2/,
  });
  assert.equal(toHex(backup.tree.root()), root);
  assert.deepEqual(backup.lastTxId, { view: 2, seqno: 1 });
  assert.equal(backup.lastSignatureSeqno, 0);
  // Back on the primary's history, the same signature is accepted.
  backup.truncate(0, { lastSignatureSeqno: 0, openChunkBytes: 0 });
  backup.appendReplicated(genesis.entry, genesis.txId);
  backup.appendReplicated(signature.entry, signature.txId);
  assert.equal(backup.lastSignatureSeqno, 2);
});

test('a signature entry whose root was tampered (and resealed) is refused with LedgerDivergence', () => {
  const primary = makeWriter();
  const backup = makeWriter();
  const genesis = primary.appendTransaction(genesisWriteSet());
  const signature = primary.appendSignature(1_700_000_000);
  const { entry } = decodeEntry(signature.entry);
  const publicMaps = entry.publicMaps.map((map) => {
    if (map.name !== SIGNATURES_MAP) return map;
    const json = decodePrimarySignature(map.writes[0]!.value).json;
    const tampered = encodePrimarySignature({ ...json, root: 'ab'.repeat(32) });
    return { ...map, writes: [{ key: map.writes[0]!.key, value: tampered }] };
  });
  const resealed = sealEntry({
    txId: entry.txId,
    flags: entry.flags,
    entryType: entry.entryType,
    claimsDigest: entry.claimsDigest,
    commitEvidenceDigest: entry.commitEvidenceDigest,
    publicMaps,
    privateMaps: [],
    key: SECRETS[0]!.key,
  });
  backup.appendReplicated(genesis.entry, genesis.txId);
  assert.throws(() => backup.appendReplicated(resealed, signature.txId), { name: 'CocoError', code: 'LedgerDivergence', message: /seqno 2/ });
  assert.equal(backup.lastSignatureSeqno, 0);
  assert.equal(backup.lastTxId.seqno, 1);
});

test('an entry that does not hold the given TxID is refused with LedgerEntryMismatch and changes nothing', () => {
  const primary = makeWriter();
  const [first, second] = [primary.appendTransaction(genesisWriteSet()), primary.appendSignature(1_700_000_000)];
  const backup = makeWriter();
  const root = toHex(backup.tree.root());
  const cases: [string, Uint8Array, { view: number; seqno: number }][] = [
    ['the TxID skips a seqno', second.entry, second.txId],
    ['the TxID names another view than the entry', first.entry, { view: 3, seqno: 1 }],
    ['the entry holds another seqno than the TxID', second.entry, { view: 2, seqno: 1 }],
    ['the TxID view is not an integer', first.entry, { view: 2.5, seqno: 1 }],
  ];
  for (const [what, entry, txId] of cases) {
    assert.throws(() => backup.appendReplicated(entry, txId), { name: 'CocoError', code: 'LedgerEntryMismatch' }, what);
  }
  const trailing = new Uint8Array(first.entry.length + 3);
  trailing.set(first.entry);
  assert.throws(() => backup.appendReplicated(trailing, first.txId), { name: 'CocoError', code: 'LedgerEntryMalformed' });
  assert.throws(() => backup.appendReplicated(first.entry.subarray(0, 40), first.txId), { name: 'CocoError', code: 'LedgerEntryMalformed' });
  const stranger = makeWriter({ secrets: new LedgerSecrets([{ fromSeqno: 1, key: new Uint8Array(32).fill(9) }]) });
  assert.throws(() => stranger.appendReplicated(first.entry, first.txId), { name: 'CocoError', code: 'DecryptionFailed' });
  assert.equal(toHex(backup.tree.root()), root);
  assert.deepEqual(backup.lastTxId, { view: 2, seqno: 0 });

  // Views never go back along the ledger.
  backup.appendReplicated(first.entry, first.txId);
  const older = makeWriter({ view: 1 });
  older.appendReplicated(first.entry.slice(), { view: 2, seqno: 1 });
  assert.equal(older.view, 2);
  const earlierView = makeWriter({ view: 1 });
  earlierView.appendTransaction(genesisWriteSet());
  const inViewOne = earlierView.appendTransaction(appWriteSet('x'));
  assert.throws(() => backup.appendReplicated(inViewOne.entry, inViewOne.txId), { name: 'CocoError', code: 'LedgerEntryMismatch', message: /view 2 or later/ });
});

test('truncate then append gives the root of a fresh writer that wrote the surviving prefix and the new entries', () => {
  const primary = makeWriter();
  const results = writePrimary(primary).slice(0, 4);
  primary.truncate(7, { lastSignatureSeqno: 7, openChunkBytes: 0 });
  // Entries 1..4 survive, all in the open chunk; the signature at 2 is the last one kept.
  const openChunkBytes = results.reduce((sum, r) => sum + r.entry.length, 0);
  primary.truncate(4, { lastSignatureSeqno: 2, openChunkBytes });
  assert.deepEqual(primary.lastTxId, { view: 2, seqno: 4 });
  assert.equal(primary.lastSignatureSeqno, 2);
  const newTx = primary.appendTransaction(appWriteSet('after the rollback'));
  const newSignature = primary.appendSignature(1_700_000_100);
  assert.equal(formatTxId(newSignature.txId), '2.6');

  const fresh = makeWriter();
  for (const r of results) fresh.appendReplicated(r.entry, r.txId);
  const freshTx = fresh.appendTransaction(appWriteSet('after the rollback'));
  assert.equal(toHex(freshTx.entry), toHex(newTx.entry), 'transactions are deterministic');
  // The new signature signs the truncated tree: the fresh writer's root before it.
  fresh.appendReplicated(newSignature.entry, newSignature.txId);
  assert.equal(toHex(fresh.tree.root()), toHex(primary.tree.root()));
  assert.equal(verifyLedger([...results.map((r) => r.entry), newTx.entry, newSignature.entry]), '2.6');
});

test('truncate restores the chunk byte count the caller gives, which decides where a chunk closes', () => {
  const writer = makeWriter({ chunkBytesTarget: 1000 });
  writer.appendTransaction(genesisWriteSet());
  writer.appendTransaction(appWriteSet('a'));
  writer.truncate(2, { lastSignatureSeqno: 0, openChunkBytes: 0 });
  assert.equal(writer.appendSignature(1).closesChunk, false);
  writer.truncate(2, { lastSignatureSeqno: 0, openChunkBytes: 1000 });
  assert.equal(writer.appendSignature(1).closesChunk, true);
});

test('truncate refuses a seqno or last signature that does not fit the ledger', () => {
  const writer = makeWriter();
  writePrimary(writer);
  const cases: [number, number, number][] = [
    [9, 7, 0],
    [-1, 0, 0],
    [1.5, 0, 0],
    [6, 7, 0],
    [7, 5, 0],
    [4, 2, -1],
    [4, 2, Number.NaN],
  ];
  for (const [seqno, lastSignatureSeqno, openChunkBytes] of cases) {
    assert.throws(() => writer.truncate(seqno, { lastSignatureSeqno, openChunkBytes }), { name: 'CocoError', code: 'InvalidArgument' }, `${seqno} ${lastSignatureSeqno} ${openChunkBytes}`);
  }
  assert.deepEqual(writer.lastTxId, { view: 2, seqno: 8 });
  writer.truncate(6, { lastSignatureSeqno: 5, openChunkBytes: 0 });
  assert.equal(writer.lastSignatureSeqno, 5);
});

test('startView: later entries carry the new view, lastTxId keeps the view of the last entry, views never go back', () => {
  const writer = makeWriter();
  assert.equal(writer.view, 2);
  writer.appendTransaction(genesisWriteSet());
  writer.startView(4);
  assert.equal(writer.view, 4);
  assert.deepEqual(writer.lastTxId, { view: 2, seqno: 1 });
  const tx = writer.appendTransaction(appWriteSet('a'));
  const signature = writer.appendSignature(1_700_000_000);
  assert.deepEqual([tx.txId, signature.txId], [{ view: 4, seqno: 2 }, { view: 4, seqno: 3 }]);
  assert.equal(decodeEntry(tx.entry).entry.txId.view, 4);
  const json = decodePrimarySignature(decodeEntry(signature.entry).entry.publicMaps.find((m) => m.name === SIGNATURES_MAP)!.writes[0]!.value).json;
  assert.deepEqual([json.view, json.seqno], [4, 3]);
  assert.ok(signature.commitEvidence.startsWith('ce:4.3:'));
  writer.startView(4);
  for (const view of [3, -1, 2 ** 31, 4.5]) {
    assert.throws(() => writer.startView(view), { name: 'CocoError', code: 'InvalidArgument' }, String(view));
  }
  writer.truncate(1, { lastSignatureSeqno: 0, openChunkBytes: 0 });
  assert.deepEqual(writer.lastTxId, { view: 2, seqno: 1 });
  assert.equal(writer.view, 4, 'a truncation does not take the view back');
  assert.equal(writer.appendTransaction(appWriteSet('b')).txId.view, 4);
  // A backup applies the entries of both views.
  const backup = makeWriter({ view: 0 });
  const replay = makeWriter();
  const entries = [replay.appendTransaction(genesisWriteSet())];
  replay.startView(4);
  entries.push(replay.appendTransaction(appWriteSet('a')), replay.appendSignature(1));
  for (const r of entries) backup.appendReplicated(r.entry, r.txId);
  assert.equal(backup.view, 4);
});
