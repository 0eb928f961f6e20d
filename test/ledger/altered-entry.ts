// Ledger entries altered the way an attacker with write access to the files would: an entry
// re-encoded with other public writes (its sizes fixed up), and chunks rebuilt around it.

import { encodeChunk } from '../../src/ledger/chunk-file.js';
import { encodeEntry, encodeIv, encodePublicDomain, EntryType, type LedgerEntry } from '../../src/ledger/entry.js';
import type { MapChanges } from '../../src/kv/write-set.js';

/** One write of `value` at `key` in map `name`, as a transaction's public domain records it. */
export function oneWrite(name: string, key: Uint8Array, value: Uint8Array): MapChanges {
  return { name, readVersion: 0n, reads: [], writes: [{ key, value }], removes: [] };
}

/** `entry` with `extra` maps added to its public domain (and `privateDomain` in place of its own, if given). */
export function withExtraWrites(entry: LedgerEntry, extra: readonly MapChanges[], privateDomain = entry.encryptedPrivateDomain): Uint8Array {
  const publicDomain = encodePublicDomain({
    entryType: entry.entryType,
    seqno: entry.txId.seqno,
    claimsDigest: entry.claimsDigest,
    commitEvidenceDigest: entry.commitEvidenceDigest,
    maxConflictVersion: entry.maxConflictVersion,
    maps: [...entry.publicMaps, ...extra],
  });
  return encodeEntry({ flags: entry.flags, gcmTag: entry.gcmTag, gcmIv: entry.gcmIv, publicDomain, encryptedPrivateDomain: privateDomain });
}

/** A chunk of `entries` with the one at `seqno` replaced by `replacement`; complete (positions table) or open. */
export function chunkWithReplaced(entries: readonly LedgerEntry[], seqno: number, replacement: Uint8Array, complete: boolean): Uint8Array {
  return encodeChunk(
    entries.map((entry) => (entry.txId.seqno === seqno ? replacement : entry.raw)),
    complete,
  );
}

/** A made-up transaction right after `previous` (next seqno, same view) writing `maps`, unencrypted and unsigned. */
export function madeUpEntryAfter(previous: LedgerEntry, maps: readonly MapChanges[]): Uint8Array {
  const txId = { view: previous.txId.view, seqno: previous.txId.seqno + 1 };
  const digest = new Uint8Array(32);
  const publicDomain = encodePublicDomain({ entryType: EntryType.WriteSetWithCommitEvidenceAndClaims, seqno: txId.seqno, claimsDigest: digest, commitEvidenceDigest: digest, maps });
  return encodeEntry({ gcmTag: new Uint8Array(16), gcmIv: encodeIv(txId, false), publicDomain, encryptedPrivateDomain: new Uint8Array(0) });
}
