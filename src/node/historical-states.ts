// Historical queries: the state of one past transaction, read back from the ledger files, checked
// against the Merkle tree the node signed (disk is untrusted), decrypted with the ledger secret of
// its seqno. As in CCF, the state holds that transaction's writes. Loading is asynchronous: the
// first request starts it and is told to retry; later ones find it in a cache bounded by the bytes
// its states keep alive (CCF's historical_cache_soft_limit, least recently used out first), or the
// LedgerEntryMalformed that names the file and seqno of an entry that failed those checks.

import { CocoError } from '../errors.js';
import { Store } from '../kv/store.js';
import { decodeEntry } from '../ledger/entry.js';
import { openEntry } from '../ledger/entry-sealing.js';
import { leafOf } from '../ledger/leaf.js';
import type { Receipt } from '../ledger/receipt.js';
import { formatTxId, type TxId } from '../ledger/tx-id.js';
import { equalBytes } from '../crypto/bytes.js';
import { parseReadBack, type EntryReadBack } from './entry-read-back.js';
import { HISTORICAL_STATE_OVERHEAD_BYTES } from './historical-ranges.js';
import { LoadedCache } from './loaded-cache.js';
import { notHeld } from './receipt-coverage.js';

export interface HistoricalState {
  txId: TxId;
  /** A read-only view: the transaction's writes, at its seqno. */
  store: Store;
  receipt: Receipt;
  /** The size of its ledger entry. */
  entryBytes: number;
  /** What it keeps alive (see `pinnedBytes`): what the cache of states counts against its soft limit. */
  pinnedBytes: number;
}

export interface HistoricalSource {
  readEntry(seqno: number): Promise<EntryReadBack>;
  /** Whether the node's ledger files may hold the entry of `seqno` (see LedgerCoverageSource.mayHold). */
  mayHold(seqno: number): boolean;
  signedLeaf(seqno: number): Uint8Array;
  ledgerSecretFor(seqno: number): Uint8Array;
  /** Throws CocoError('TransactionNotCached') while the receipt is read back from the ledger. */
  receipt(txId: TxId): Receipt;
  /** Resolves once a read of the receipt of `txId` started by `receipt` has finished. */
  receiptSettled(txId: TxId): Promise<void>;
}

/** CCF's `historical_cache_soft_limit` default ("512MB"): what the cached states may keep alive together. */
export const HISTORICAL_CACHE_SOFT_LIMIT_BYTES_DEFAULT = 512 * 1024 * 1024;
/** States (and failed loads) cached at most, whatever their bytes: the default limit's worth of the smallest states. */
export const HISTORICAL_CACHE_ENTRIES_MAX = HISTORICAL_CACHE_SOFT_LIMIT_BYTES_DEFAULT / HISTORICAL_STATE_OVERHEAD_BYTES;

/**
 * The bytes a state keeps alive: its keys and short values (strings, a char per byte), the buffer
 * of each longer value, and HISTORICAL_STATE_OVERHEAD_BYTES for its store and receipt.
 */
function pinnedBytes(store: Store): number {
  const buffers = new Set<ArrayBufferLike>();
  let bytes = HISTORICAL_STATE_OVERHEAD_BYTES;
  for (const { key, data } of store.committedEntries()) {
    bytes += key.length;
    if (typeof data === 'string') bytes += data.length;
    else buffers.add(data.buffer);
  }
  for (const buffer of buffers) bytes += buffer.byteLength;
  return bytes;
}

export class HistoricalStates {
  private readonly cache: LoadedCache<string, HistoricalState>;

  /**
   * `softLimitBytes`: what the cached states may keep alive together (CCF's historical_cache_soft_limit);
   * the state loaded last stays even if it alone is larger.
   */
  constructor(
    private readonly source: HistoricalSource,
    softLimitBytes = HISTORICAL_CACHE_SOFT_LIMIT_BYTES_DEFAULT,
  ) {
    this.cache = new LoadedCache(HISTORICAL_CACHE_ENTRIES_MAX, { max: softLimitBytes, sizeOf: (state) => state.pinnedBytes });
  }

  /** What the cached states keep alive together, as counted against the soft limit. */
  get cachedBytes(): number {
    return this.cache.valuesSize;
  }

  /**
   * The state if loaded; otherwise starts loading it and returns undefined (ask again shortly).
   * ResourceNotFound, at once, for an entry the node's ledger files cannot hold: the one of the
   * snapshot it started from too, whose receipt it has but not the writes.
   */
  get(txId: TxId): HistoricalState | undefined {
    // The receipt first: a committed transaction's, or the source's error (a receipt still being read back).
    const receipt = this.source.receipt(txId);
    if (!this.source.mayHold(txId.seqno)) throw notHeld(`the entry of ${formatTxId(txId)}`);
    return this.cache.get(formatTxId(txId), () => this.load(txId, receipt));
  }

  /** Resolves once a load started by `get` has finished (for callers that can wait). */
  async settled(txId: TxId): Promise<void> {
    await this.cache.settled(formatTxId(txId));
  }

  /** The state, loaded first if need be, for callers that can wait (a range loading in the background). */
  async loaded(txId: TxId): Promise<HistoricalState> {
    for (;;) {
      try {
        const state = this.get(txId);
        if (state !== undefined) return state;
        await this.settled(txId);
      } catch (error) {
        if (!(error instanceof CocoError && error.code === 'TransactionNotCached')) throw error;
        await Promise.all([this.source.receiptSettled(txId), this.settled(txId)]);
        // A turn of the event loop before asking again, should nothing have been left to wait for.
        await new Promise(setImmediate);
      }
    }
  }

  private async load(txId: TxId, receipt: Receipt): Promise<HistoricalState> {
    const read = await this.source.readEntry(txId.seqno);
    const signedLeaf = this.source.signedLeaf(txId.seqno);
    const ledgerSecret = this.source.ledgerSecretFor(txId.seqno);
    const store = parseReadBack(read, (bytes) => {
      const { entry } = decodeEntry(bytes);
      if (entry.txId.seqno !== txId.seqno || entry.txId.view !== txId.view || !equalBytes(leafOf(entry), signedLeaf)) {
        throw new CocoError('LedgerEntryMalformed', `the entry for ${formatTxId(txId)} does not match the signed Merkle tree`);
      }
      const state = new Store(BigInt(txId.seqno - 1));
      state.applyWriteSet({ public: entry.publicMaps, private: openEntry(entry, ledgerSecret) }, BigInt(txId.seqno));
      return state;
    });
    return { txId, store, receipt, entryBytes: read.bytes.length, pinnedBytes: pinnedBytes(store) };
  }
}
