// A Raft log as the simulation sees it (a node's in-memory log rebuilt from its Ready batches, or its
// disk), with a digest of every prefix: two logs agree up to a seqno iff their digests there are equal,
// so the invariant checks compare one number instead of walking logs. A digest mixes 32-bit entry
// hashes into 52 bits: a collision (about one in 2^32) could hide a divergence, never invent one.

import type { LogEntry } from '../../src/consensus/log-entry.js';

function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** One FNV-1a step, over a whole number at once rather than byte by byte. */
function fnv(h: number, value: number): number {
  return Math.imul(h ^ value, 0x01000193);
}

/** FNV-1a over everything that makes an entry: seqno, view, kind, configuration and payload. */
function entryHash(entry: LogEntry): number {
  let h = fnv(fnv(fnv(0x811c9dc5, entry.seqno), entry.view), entry.isSignature ? 1 : 0);
  for (const node of entry.configuration ?? []) {
    for (let i = 0; i < node.length; i++) h = fnv(h, node.charCodeAt(i));
    h = fnv(h, 0x10000); // ends a node ID
  }
  for (const byte of entry.data) h = fnv(h, byte);
  return fmix32(h);
}

const LANE = 2 ** 26;

/** The digest of a prefix extended by one entry: two 26-bit lanes, each mixing the other. */
function extend(digest: number, entry: LogEntry): number {
  const hash = entryHash(entry);
  const high = Math.floor(digest / LANE);
  const low = digest % LANE;
  const nextHigh = fmix32(high ^ hash ^ Math.imul(low, 0x9e3779b1)) % LANE;
  const nextLow = fmix32(low ^ Math.imul(hash, 0x7feb352d) ^ high) % LANE;
  return nextHigh * LANE + nextLow;
}

export class DigestLog {
  private readonly list: LogEntry[];
  /** digests[s] covers entries 1..s; digests[0] is the empty log's. */
  private readonly digests: number[];

  constructor(entries: readonly LogEntry[] = []) {
    this.list = [];
    this.digests = [0];
    for (const entry of entries) this.append(entry);
  }

  get length(): number {
    return this.list.length;
  }

  get entries(): readonly LogEntry[] {
    return this.list;
  }

  entry(seqno: number): LogEntry | undefined {
    return seqno >= 1 ? this.list[seqno - 1] : undefined;
  }

  /** The digest of entries 1..seqno, or undefined past the end. */
  digestAt(seqno: number): number | undefined {
    return this.digests[seqno];
  }

  /** Appends `entry` if it follows the last one; returns false, changing nothing, if it does not. */
  append(entry: LogEntry): boolean {
    if (entry.seqno !== this.list.length + 1) return false;
    this.digests.push(extend(this.digests[this.list.length] as number, entry));
    this.list.push(entry);
    return true;
  }

  /** Drops every entry after `seqno` (nothing if the log is not that long). */
  truncateAfter(seqno: number): void {
    if (seqno >= this.list.length) return;
    this.list.length = Math.max(seqno, 0);
    this.digests.length = this.list.length + 1;
  }

  copy(): DigestLog {
    return new DigestLog(this.list);
  }
}
