// Historical queries: the state of one past transaction, read back from the ledger files, checked
// against the Merkle tree the node signed (disk is untrusted), decrypted with the ledger secret of
// its seqno. As in CCF, the state holds that transaction's writes. Loading is asynchronous: the
// first request starts it and is told to retry; later ones find it in a bounded cache, or the
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
import { LoadedCache } from './loaded-cache.js';
import { notHeld } from './receipt-coverage.js';

export interface HistoricalState {
  txId: TxId;
  /** A read-only view: the transaction's writes, at its seqno. */
  store: Store;
  receipt: Receipt;
  /** The size of its ledger entry: what a cache of states counts against its bound. */
  entryBytes: number;
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

/** Bounded: each state holds one transaction's writes. */
export const HISTORICAL_CACHE_ENTRIES_MAX = 1024;

export class HistoricalStates {
  private readonly cache = new LoadedCache<string, HistoricalState>(HISTORICAL_CACHE_ENTRIES_MAX);

  constructor(private readonly source: HistoricalSource) {}

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
    return { txId, store, receipt, entryBytes: read.bytes.length };
  }
}
