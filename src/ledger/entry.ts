// One ledger entry in CCF's binary layout: an 8-byte header (format version, flags, u48 size),
// the AES-GCM header (tag, then an IV that carries the TxID), the public domain in clear and the
// private domain encrypted. Decoding keeps every field, so re-encoding gives identical bytes.

import { concatBytes } from '../crypto/bytes.js';
import { AES_GCM_IV_BYTES, AES_GCM_TAG_BYTES } from '../crypto/aes-gcm.js';
import { CocoError } from '../errors.js';
import { ByteReader } from '../kv/byte-reader.js';
import { ByteWriter } from '../kv/byte-writer.js';
import { decodeMapChanges, encodeMapChanges } from '../kv/write-set-codec.js';
import type { MapChanges } from '../kv/write-set.js';
import type { TxId } from './tx-id.js';

export const ENTRY_FORMAT_V1 = 1;
export const ENTRY_HEADER_BYTES = 8;
export const GCM_HEADER_BYTES = AES_GCM_TAG_BYTES + AES_GCM_IV_BYTES;
export const DIGEST_BYTES = 32;
/** The u48 size field of the entry header bounds what follows it. */
export const ENTRY_BODY_BYTES_MAX = 2 ** 48 - 1;

export enum EntryType {
  WriteSet = 0,
  Snapshot = 1,
  WriteSetWithClaims = 2,
  WriteSetWithCommitEvidence = 3,
  WriteSetWithCommitEvidenceAndClaims = 4,
}

export const EntryFlags = {
  forceLedgerChunkAfter: 0x01,
  forceLedgerChunkBefore: 0x02,
} as const;

const KNOWN_FLAGS = EntryFlags.forceLedgerChunkAfter | EntryFlags.forceLedgerChunkBefore;

/** The IV's view field keeps its top bit for "this is a snapshot", so IVs never repeat. */
const IV_SNAPSHOT_BIT = 0x8000_0000;

export function hasClaims(type: EntryType): boolean {
  return type === EntryType.WriteSetWithClaims || type === EntryType.WriteSetWithCommitEvidenceAndClaims;
}

export function hasCommitEvidence(type: EntryType): boolean {
  return type === EntryType.WriteSetWithCommitEvidence || type === EntryType.WriteSetWithCommitEvidenceAndClaims;
}

export interface LedgerEntry {
  /** The whole entry, header included: what the Merkle leaf's write-set digest covers. */
  raw: Uint8Array;
  formatVersion: number;
  flags: number;
  gcmTag: Uint8Array;
  /** The 12-byte IV: seqno (u64), then view (u32, top bit = snapshot). */
  gcmIv: Uint8Array;
  txId: TxId;
  isSnapshotIv: boolean;
  entryType: EntryType;
  claimsDigest: Uint8Array | undefined;
  commitEvidenceDigest: Uint8Array | undefined;
  maxConflictVersion: bigint;
  /** The public domain's bytes: authenticated (as AES-GCM additional data) with the private domain. */
  publicDomain: Uint8Array;
  /** Public maps, or for a snapshot entry nothing (its body layout differs; kept in publicDomain). */
  publicMaps: MapChanges[];
  encryptedPrivateDomain: Uint8Array;
}

export function encodeIv(txId: TxId, isSnapshot: boolean): Uint8Array {
  const iv = new Uint8Array(AES_GCM_IV_BYTES);
  const view = new DataView(iv.buffer);
  view.setBigUint64(0, BigInt(txId.seqno), true);
  view.setUint32(8, (txId.view | (isSnapshot ? IV_SNAPSHOT_BIT : 0)) >>> 0, true);
  return iv;
}

/**
 * Where the entry starting at `offset` ends by its header's u48 size alone, without decoding it;
 * undefined when its header or its body runs past the end of `bytes` (a write cut short).
 */
export function entryEndAt(bytes: Uint8Array, offset: number): number | undefined {
  if (offset + ENTRY_HEADER_BYTES > bytes.length) return undefined;
  const header = new DataView(bytes.buffer, bytes.byteOffset + offset, ENTRY_HEADER_BYTES);
  const end = offset + ENTRY_HEADER_BYTES + header.getUint16(6, true) * 0x1_0000_0000 + header.getUint32(2, true);
  return end <= bytes.length ? end : undefined;
}

/** Decodes the entry that starts at `offset` of `bytes`; returns it and the offset just past it. */
export function decodeEntry(bytes: Uint8Array, offset = 0): { entry: LedgerEntry; next: number } {
  const header = new ByteReader(bytes, 'LedgerEntryMalformed', 'ledger entry header', offset);
  // The whole header is read first: too few bytes for it is a truncation, whatever they hold.
  const formatVersion = header.u8('format version');
  const flags = header.u8('flags');
  const sizeLow = header.u32('size');
  const sizeHigh = header.u8('size') | (header.u8('size') << 8);
  const bodySize = sizeHigh * 0x1_0000_0000 + sizeLow;
  if (formatVersion !== ENTRY_FORMAT_V1) header.fail(`unknown entry format version ${formatVersion}`, offset);
  if ((flags & ~KNOWN_FLAGS) !== 0) header.fail(`unknown entry flags 0x${flags.toString(16)}`, offset + 1);
  if (bodySize > header.remaining) {
    header.fail(`entry claims ${bodySize} bytes but only ${header.remaining} remain (truncated file?)`, offset + 2);
  }
  const end = header.offset + bodySize;
  const raw = bytes.subarray(offset, end);
  const body = new ByteReader(bytes.subarray(0, end), 'LedgerEntryMalformed', 'ledger entry', header.offset);
  const gcmTag = body.bytesView(AES_GCM_TAG_BYTES, 'GCM tag');
  const gcmIv = body.bytesView(AES_GCM_IV_BYTES, 'GCM IV');
  const ivView = new DataView(gcmIv.buffer, gcmIv.byteOffset, AES_GCM_IV_BYTES);
  const ivSeqno = ivView.getBigUint64(0, true);
  const ivViewField = ivView.getUint32(8, true);
  const publicSize = body.u64Size('public domain size');
  const publicAt = body.offset;
  const publicDomain = body.bytesView(publicSize, 'public domain');
  const encryptedPrivateDomain = body.bytesView(body.remaining, 'private domain');

  const pub = new ByteReader(publicDomain, 'LedgerEntryMalformed', 'public domain', 0, publicAt);
  const entryType = pub.u8('entry type');
  if (!(entryType in EntryType)) pub.failField(`unknown entry type ${entryType}`);
  const versionAt = pub.offset;
  const version = pub.i64('version');
  const claimsDigest = hasClaims(entryType) ? pub.bytesView(DIGEST_BYTES, 'claims digest') : undefined;
  const commitEvidenceDigest = hasCommitEvidence(entryType)
    ? pub.bytesView(DIGEST_BYTES, 'commit evidence digest')
    : undefined;
  const maxConflictVersion = pub.i64('max conflict version');
  if (version < 1n || version > BigInt(Number.MAX_SAFE_INTEGER)) pub.fail(`seqno ${version} is out of range`, versionAt);
  if (BigInt(version) !== ivSeqno) {
    pub.fail(`seqno ${version} in the public domain differs from seqno ${ivSeqno} in the GCM IV`, versionAt);
  }
  const publicMaps = entryType === EntryType.Snapshot ? [] : decodeMapChanges(pub);

  const entry: LedgerEntry = {
    raw,
    formatVersion,
    flags,
    gcmTag,
    gcmIv,
    txId: { view: ivViewField & ~IV_SNAPSHOT_BIT, seqno: Number(version) },
    isSnapshotIv: (ivViewField & IV_SNAPSHOT_BIT) !== 0,
    entryType,
    claimsDigest,
    commitEvidenceDigest,
    maxConflictVersion,
    publicDomain,
    publicMaps,
    encryptedPrivateDomain,
  };
  return { entry, next: end };
}

export interface PublicDomainFields {
  entryType: EntryType;
  seqno: number;
  claimsDigest?: Uint8Array | undefined;
  commitEvidenceDigest?: Uint8Array | undefined;
  maxConflictVersion?: bigint;
  maps: readonly MapChanges[];
}

export function encodePublicDomain(fields: PublicDomainFields): Uint8Array {
  return writePublicDomain(new ByteWriter(), fields).finish();
}

/** Writes the public domain to `writer` (a scratch buffer the caller reuses). */
export function writePublicDomain(writer: ByteWriter, fields: PublicDomainFields): ByteWriter {
  writer.u8(fields.entryType).i64(fields.seqno);
  if (hasClaims(fields.entryType)) writer.bytes(requireDigest(fields.claimsDigest, 'claims digest'));
  if (hasCommitEvidence(fields.entryType)) {
    writer.bytes(requireDigest(fields.commitEvidenceDigest, 'commit evidence digest'));
  }
  writer.i64(fields.maxConflictVersion ?? 0n);
  encodeMapChanges(writer, fields.maps);
  return writer;
}

function requireDigest(digest: Uint8Array | undefined, what: string): Uint8Array {
  if (digest?.length !== DIGEST_BYTES) {
    throw new CocoError('InvalidArgument', `this entry type needs a ${DIGEST_BYTES}-byte ${what}`);
  }
  return digest;
}

export interface EntryParts {
  flags?: number;
  gcmTag: Uint8Array;
  gcmIv: Uint8Array;
  /** One array, or the pieces of a large one (a snapshot's), joined only by encodeEntry. */
  publicDomain: Uint8Array | readonly Uint8Array[];
  encryptedPrivateDomain: Uint8Array | readonly Uint8Array[];
}

/** The length of a whole entry, from its first bytes (at least its 8-byte header); NaN if they are no entry header. */
export function entryBytes(start: Uint8Array): number {
  if (start.length < ENTRY_HEADER_BYTES || start[0] !== ENTRY_FORMAT_V1) return NaN;
  const view = new DataView(start.buffer, start.byteOffset, ENTRY_HEADER_BYTES);
  return ENTRY_HEADER_BYTES + view.getUint16(6, true) * 0x1_0000_0000 + view.getUint32(2, true);
}

/** Assembles an entry from its already-encrypted parts. */
export function encodeEntry(parts: EntryParts): Uint8Array {
  return concatBytes(...entryPieces(parts));
}

/**
 * An entry as the pieces it is made of, in order: for writing or hashing one of megabytes (a
 * snapshot) without first copying it into one array.
 */
export function entryPieces(parts: EntryParts): Uint8Array[] {
  const publicPieces = piecesOf(parts.publicDomain);
  const privatePieces = piecesOf(parts.encryptedPrivateDomain);
  const publicBytes = bytesIn(publicPieces);
  const bodySize = GCM_HEADER_BYTES + 8 + publicBytes + bytesIn(privatePieces);
  const header = new Uint8Array(ENTRY_HEADER_BYTES);
  const view = new DataView(header.buffer);
  view.setUint8(0, ENTRY_FORMAT_V1);
  view.setUint8(1, parts.flags ?? 0);
  view.setUint32(2, bodySize % 0x1_0000_0000, true);
  view.setUint16(6, Math.floor(bodySize / 0x1_0000_0000), true);
  const publicSize = new Uint8Array(8);
  new DataView(publicSize.buffer).setBigUint64(0, BigInt(publicBytes), true);
  return [header, parts.gcmTag, parts.gcmIv, publicSize, ...publicPieces, ...privatePieces];
}

function piecesOf(domain: Uint8Array | readonly Uint8Array[]): readonly Uint8Array[] {
  return domain instanceof Uint8Array ? [domain] : domain;
}

function bytesIn(pieces: readonly Uint8Array[]): number {
  let bytes = 0;
  for (const piece of pieces) bytes += piece.length;
  return bytes;
}
