// Historical queries: the state of one past transaction, read back from the ledger files, checked
// against the Merkle tree the node signed (disk is untrusted), decrypted with the ledger secret of
// its seqno. As in CCF, the state holds that transaction's writes. Loading is asynchronous: the
// first request starts it and is told to retry; later ones find it in a bounded cache.

import { CocoError } from '../errors.js';
import { Store } from '../kv/store.js';
import { decodeEntry } from '../ledger/entry.js';
import { openEntry } from '../ledger/entry-sealing.js';
import { leafOf } from '../ledger/leaf.js';
import type { Receipt } from '../ledger/receipt.js';
import { formatTxId, type TxId } from '../ledger/tx-id.js';
import { equalBytes } from '../crypto/bytes.js';

export interface HistoricalState {
  txId: TxId;
  /** A read-only view: the transaction's writes, at its seqno. */
  store: Store;
  receipt: Receipt;
}

export interface HistoricalSource {
  readEntry(seqno: number): Promise<Uint8Array>;
  signedLeaf(seqno: number): Uint8Array;
  ledgerSecretFor(seqno: number): Uint8Array;
  receipt(txId: TxId): Receipt;
}

/** Bounded: each state holds one transaction's writes. */
export const HISTORICAL_CACHE_ENTRIES_MAX = 1024;

export class HistoricalStates {
  private readonly cache = new Map<string, HistoricalState>();
  private readonly loading = new Map<string, Promise<void>>();
  private readonly failures = new Map<string, CocoError>();

  constructor(private readonly source: HistoricalSource) {}

  /** The state if loaded; otherwise starts loading it and returns undefined (ask again shortly). */
  get(txId: TxId): HistoricalState | undefined {
    const key = formatTxId(txId);
    const failure = this.failures.get(key);
    if (failure !== undefined) {
      this.failures.delete(key);
      throw failure;
    }
    const cached = this.cache.get(key);
    if (cached !== undefined) {
      // Refresh its place: the cache evicts the least recently used state.
      this.cache.delete(key);
      this.cache.set(key, cached);
      return cached;
    }
    if (!this.loading.has(key)) {
      const receipt = this.source.receipt(txId);
      this.loading.set(
        key,
        this.load(txId, receipt).then(
          (state) => this.remember(key, state),
          (error: unknown) => void this.failures.set(key, error instanceof CocoError ? error : new CocoError('InternalError', String(error))),
        ).finally(() => this.loading.delete(key)),
      );
    }
    return undefined;
  }

  /** Resolves once a load started by `get` has finished (for callers that can wait). */
  async settled(txId: TxId): Promise<void> {
    await this.loading.get(formatTxId(txId));
  }

  private remember(key: string, state: HistoricalState): void {
    this.cache.set(key, state);
    if (this.cache.size > HISTORICAL_CACHE_ENTRIES_MAX) this.cache.delete(this.cache.keys().next().value!);
  }

  private async load(txId: TxId, receipt: Receipt): Promise<HistoricalState> {
    const bytes = await this.source.readEntry(txId.seqno);
    const { entry } = decodeEntry(bytes);
    if (entry.txId.seqno !== txId.seqno || entry.txId.view !== txId.view || !equalBytes(leafOf(entry), this.source.signedLeaf(txId.seqno))) {
      throw new CocoError('LedgerEntryMalformed', `the ledger file's entry for ${formatTxId(txId)} does not match the signed Merkle tree: the file was altered`);
    }
    const privateMaps = openEntry(entry, this.source.ledgerSecretFor(txId.seqno));
    const store = new Store(BigInt(txId.seqno - 1));
    store.applyWriteSet({ public: entry.publicMaps, private: privateMaps }, BigInt(txId.seqno));
    return { txId, store, receipt };
  }
}
