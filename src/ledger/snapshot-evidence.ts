// Snapshot evidence: the transaction that records a snapshot's digest in the ledger. It writes
// `public:ccf.internal.snapshot_evidence` (singleton key) = {"hash": hex digest, "version": seqno}
// and carries the same digest as its claims digest, so that its receipt binds the snapshot (CCF:
// src/node/snapshotter.h snapshot_, src/service/tables/snapshot_evidence.h; checked against a real
// CCF ledger).

import { fromHex, fromUtf8, isValidUtf8, toHex, utf8 } from '../crypto/bytes.js';
import { CocoError } from '../errors.js';
import { DIGEST_BYTES } from './entry.js';

export const SNAPSHOT_EVIDENCE_MAP = 'public:ccf.internal.snapshot_evidence';

export interface SnapshotEvidence {
  /** snapshotDigest of the snapshot entry. */
  hash: Uint8Array;
  /** The snapshot's seqno. */
  version: number;
}

/** The map value, byte for byte as CCF's JSON writer emits it. */
export function encodeSnapshotEvidence(evidence: SnapshotEvidence): Uint8Array {
  if (!(evidence.hash instanceof Uint8Array) || evidence.hash.length !== DIGEST_BYTES) {
    throw new CocoError('InvalidArgument', `snapshot evidence needs a ${DIGEST_BYTES}-byte hash`);
  }
  if (!Number.isSafeInteger(evidence.version) || evidence.version < 1) {
    throw new CocoError('InvalidArgument', `snapshot evidence needs a positive seqno as version, got ${evidence.version}`);
  }
  return utf8(JSON.stringify({ hash: toHex(evidence.hash), version: evidence.version }));
}

export function decodeSnapshotEvidence(value: Uint8Array): SnapshotEvidence {
  let json: unknown;
  try {
    json = isValidUtf8(value) ? JSON.parse(fromUtf8(value)) : undefined;
  } catch {
    json = undefined;
  }
  const record = typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : {};
  const { hash, version } = record;
  if (typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash) || !Number.isSafeInteger(version) || (version as number) < 1) {
    throw new CocoError(
      'SnapshotEvidenceMalformed',
      `${SNAPSHOT_EVIDENCE_MAP} value must be {"hash": 64 lowercase hex digits, "version": positive seqno}, got ${fromUtf8(value).slice(0, 120)}`,
    );
  }
  return { hash: fromHex(hash), version: version as number };
}
