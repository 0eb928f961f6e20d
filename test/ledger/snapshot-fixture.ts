// A small service that takes a snapshot as a CCF primary does: transactions applied to a store and
// written by a ledger writer, a signature, the snapshot at that signature, the evidence transaction
// (claims digest = snapshot digest), a later signature, and the evidence's receipt appended to
// make the committed snapshot file.

import { utf8 } from '../../src/crypto/bytes.js';
import { Store, type CommittedMapState } from '../../src/kv/store.js';
import type { WriteSet } from '../../src/kv/write-set.js';
import { appendSnapshotReceipt, snapshotFileName } from '../../src/ledger/committed-snapshot.js';
import type { AppendResult, LedgerWriter } from '../../src/ledger/ledger-writer.js';
import { LedgerSecrets } from '../../src/ledger/ledger-secrets.js';
import { buildReceipt } from '../../src/ledger/receipt.js';
import { decodePrimarySignature, SIGNATURES_MAP, SINGLETON_KEY, singletonWrite } from '../../src/ledger/signature.js';
import { encodeSnapshot, snapshotDigest } from '../../src/ledger/snapshot.js';
import { encodeSnapshotEvidence, SNAPSHOT_EVIDENCE_MAP } from '../../src/ledger/snapshot-evidence.js';
import { appWriteSet, genesisWriteSet, identity, makeWriter, SECRETS } from './writer-fixture.js';

export const secrets = new LedgerSecrets(SECRETS);
export const keyFor = (seqno: number): Uint8Array => secrets.keyFor(seqno);

export interface SnapshotService {
  store: Store;
  writer: LedgerWriter;
  /** Every append after genesis, by seqno. */
  appended: Map<number, AppendResult>;
  snapshotSeqno: number;
  /** The store's state at the snapshot's seqno. */
  mapsAtSnapshot: CommittedMapState[];
  snapshot: Uint8Array;
  evidence: AppendResult;
  file: Uint8Array;
  fileName: string;
}

function remove(name: string, key: string): WriteSet {
  const changes = { name, readVersion: 0n, reads: [], writes: [], removes: [utf8(key)] };
  return name.startsWith('public:') ? { public: [changes], private: [] } : { public: [], private: [changes] };
}

/** Runs the service; `label` makes the application writes (and so the snapshot) differ between services. */
export function snapshotService(label = 'x'): SnapshotService {
  const store = new Store();
  const writer = makeWriter();
  const appended = new Map<number, AppendResult>();
  const record = (result: AppendResult): AppendResult => {
    store.applyWriteSet(result.writeSet, BigInt(result.txId.seqno));
    appended.set(result.txId.seqno, result);
    return result;
  };
  record(writer.appendTransaction(genesisWriteSet()));
  for (let i = 0; i < 4; i++) record(writer.appendTransaction(appWriteSet(`${label}${i}`)));
  record(writer.appendSignature(1_700_000_000));
  writer.startView(3);
  record(writer.appendTransaction(appWriteSet(`${label}-view3`)));
  record(writer.appendTransaction(remove('records', `${label}0`)));
  record(writer.appendTransaction(remove('public:records', `${label}1`)));
  const signature = record(writer.appendSignature(1_700_000_001));

  const snapshotSeqno = signature.txId.seqno;
  const mapsAtSnapshot = store.snapshotMaps();
  const snapshot = encodeSnapshot({
    txId: signature.txId,
    maps: mapsAtSnapshot,
    viewHistory: [
      { view: 2, fromSeqno: 1 },
      { view: 3, fromSeqno: 7 },
    ],
    hashAtSnapshot: writer.tree.leaf(snapshotSeqno),
    key: keyFor(snapshotSeqno),
  });
  const digest = snapshotDigest(snapshot);
  const evidenceValue = encodeSnapshotEvidence({ hash: digest, version: snapshotSeqno });
  const evidence = record(
    writer.appendTransaction(
      { public: [{ name: SNAPSHOT_EVIDENCE_MAP, readVersion: 0n, reads: [], writes: [{ key: SINGLETON_KEY, value: evidenceValue }], removes: [] }], private: [] },
      digest,
    ),
  );
  record(writer.appendTransaction(appWriteSet(`${label}-after`)));
  const proving = record(writer.appendSignature(1_700_000_002));

  const signed = decodePrimarySignature(singletonWrite(proving.writeSet.public, SIGNATURES_MAP)!);
  const receipt = buildReceipt({
    signatureDer: signed.signatureDer,
    nodeId: identity.nodeId,
    certPem: identity.nodeCertPem,
    proof: writer.tree.proofAt(evidence.txId.seqno, proving.txId.seqno),
    writeSetDigest: evidence.writeSetDigest,
    commitEvidence: evidence.commitEvidence,
    claimsDigest: evidence.claimsDigest,
  });
  return {
    store,
    writer,
    appended,
    snapshotSeqno,
    mapsAtSnapshot,
    snapshot,
    evidence,
    file: appendSnapshotReceipt(snapshot, receipt),
    fileName: snapshotFileName(snapshotSeqno, evidence.txId.seqno, true),
  };
}
