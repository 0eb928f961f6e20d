// The filters of Ethereum's polling API (eth_newFilter, eth_newBlockFilter,
// eth_newPendingTransactionFilter, then eth_getFilterChanges until eth_uninstallFilter), kept as
// geth keeps them: in the memory of the node that installed them, each remembering the last block
// its polls have covered, and dropped once nobody has polled it for 5 minutes. A node's restart
// forgets them, as geth's does; a client then gets "filter not found" and installs a new one.

import { randomBytes } from 'node:crypto';
import { JsonRpcError } from './json-rpc.js';
import { FILTERS_MAX, FILTERS_PER_CALLER_MAX, FILTER_IDLE_MS } from './limits.js';

/** What a filter reports: logs of new blocks, new blocks' hashes, or new transactions' hashes. */
export type FilterKind = 'logs' | 'blocks' | 'transactions';

export interface Filter<Criteria> {
  readonly kind: FilterKind;
  /** What a logs filter matches; undefined for the others. */
  readonly criteria: Criteria | undefined;
  /** The last block number the filter's polls have covered. */
  cursor: bigint;
  /** That block's hash, when it was not Committed yet (an election may replace it). */
  cursorHash?: Uint8Array | undefined;
  lastPolledMs: number;
  /** Who installed it. */
  readonly owner: string;
}

/** A new filter ID as geth makes them: 16 random bytes in hex, without leading zeros. */
function newFilterId(): string {
  return `0x${randomBytes(16).toString('hex').replace(/^0+(?=.)/, '')}`;
}

export class Filters<Criteria> {
  readonly #filters = new Map<string, Filter<Criteria>>();
  readonly #nowMs: () => number;

  constructor(nowMs: () => number) {
    this.#nowMs = nowMs;
  }

  /** Installs, for `owner`, a filter whose polls start after block `cursor` (of hash `cursorHash`, when not Committed); its ID. */
  install(owner: string, kind: FilterKind, cursor: bigint, criteria?: Criteria, cursorHash?: Uint8Array): string {
    const now = this.#nowMs();
    let owned = 0;
    for (const [id, filter] of this.#filters) {
      if (now - filter.lastPolledMs > FILTER_IDLE_MS) this.#filters.delete(id);
      else if (filter.owner === owner) owned += 1;
    }
    const remedy = `uninstall filters you no longer poll (eth_uninstallFilter), or let them expire after ${FILTER_IDLE_MS / 60_000} minutes unpolled`;
    if (owned >= FILTERS_PER_CALLER_MAX) throw new JsonRpcError(-32000, `too many filters: a caller keeps at most ${FILTERS_PER_CALLER_MAX} on a node; ${remedy}`);
    if (this.#filters.size >= FILTERS_MAX) throw new JsonRpcError(-32000, `too many filters: this node keeps at most ${FILTERS_MAX}; ${remedy}`);
    let id = newFilterId();
    while (this.#filters.has(id)) id = newFilterId();
    this.#filters.set(id, { kind, criteria, cursor, cursorHash, lastPolledMs: now, owner });
    return id;
  }

  /** The filter `id`, its idle time restarted; throws geth's "filter not found" when it is unknown or expired. */
  poll(id: unknown): Filter<Criteria> {
    const filter = typeof id === 'string' ? this.#filters.get(id) : undefined;
    const now = this.#nowMs();
    if (filter === undefined || now - filter.lastPolledMs > FILTER_IDLE_MS) {
      if (filter !== undefined) this.#filters.delete(id as string);
      throw new JsonRpcError(-32000, 'filter not found');
    }
    filter.lastPolledMs = now;
    return filter;
  }

  /** Removes filter `id`; whether it was there. */
  uninstall(id: unknown): boolean {
    return typeof id === 'string' && this.#filters.delete(id);
  }
}
