// What a log query selects (eth_getLogs, eth_newFilter): the addresses a log may come from and, per
// topic position, the topics it may have there, bounded as geth bounds them. Each list is kept
// sorted in one buffer, so that a filter held for minutes costs its bytes and little more, and a
// log is tested where it lies in a stored receipt (see stored-receipt.ts), without copying it.

import { ADDRESS_BYTES, HASH_BYTES } from './ethereum-maps.js';
import { JsonRpcError } from './json-rpc.js';
import { LOG_FILTER_ITEMS_MAX } from './limits.js';
import { invalidParams, parseAddress, parseHash } from './rpc-values.js';

/** Items of one width (addresses, topics), sorted and without repeats in one buffer; found by binary search. */
export class ByteItems {
  readonly #items: Uint8Array;
  readonly #width: number;
  readonly count: number;

  constructor(items: readonly Uint8Array[], width: number) {
    const sorted = [...items].sort((a, b) => compareAt(a, 0, b, 0, width));
    const unique = sorted.filter((item, i) => i === 0 || compareAt(item, 0, sorted[i - 1] as Uint8Array, 0, width) !== 0);
    this.#items = new Uint8Array(unique.length * width);
    unique.forEach((item, i) => this.#items.set(item, i * width));
    this.#width = width;
    this.count = unique.length;
  }

  /** Whether the `width` bytes of `source` at `offset` are one of the items. */
  includes(source: Uint8Array, offset: number): boolean {
    let low = 0;
    let high = this.count - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const order = compareAt(this.#items, middle * this.#width, source, offset, this.#width);
      if (order === 0) return true;
      if (order < 0) low = middle + 1;
      else high = middle - 1;
    }
    return false;
  }
}

function compareAt(a: Uint8Array, aOffset: number, b: Uint8Array, bOffset: number, width: number): number {
  for (let i = 0; i < width; i++) {
    const difference = (a[aOffset + i] as number) - (b[bOffset + i] as number);
    if (difference !== 0) return difference;
  }
  return 0;
}

export interface LogFilter {
  /** The addresses a log must come from; undefined: any. */
  readonly addresses: ByteItems | undefined;
  /** Per topic position, the topics a log may have there; undefined: any. */
  readonly topics: readonly (ByteItems | undefined)[];
}

/** Topic positions a log has at most (LOG0 to LOG4), so a filter too. */
const TOPIC_POSITIONS_MAX = 4;

/**
 * A filter's list of addresses, or of topics at one position: at most LOG_FILTER_ITEMS_MAX, counted
 * before any is parsed. Past it, geth's words (-32000), which clients take as "split the filter".
 */
function boundedList(items: unknown[]): unknown[] {
  if (items.length > LOG_FILTER_ITEMS_MAX) throw new JsonRpcError(-32000, 'exceed max addresses or topics per search position');
  return items;
}

/**
 * The address and topic criteria of a filter object's fields: -32602 when malformed, -32000 with
 * geth's words when past geth's bounds (4 topic positions, LOG_FILTER_ITEMS_MAX per list).
 */
export function parseLogFilter(fields: Record<string, unknown>): LogFilter {
  const addressField = fields.address;
  // As geth: an empty list, like an absent field, matches any address (or any topic at a position).
  const addressList = boundedList(addressField === undefined || addressField === null ? [] : Array.isArray(addressField) ? addressField : [addressField]);
  const addresses = addressList.length === 0 ? undefined : new ByteItems(addressList.map((a, i) => parseAddress(a, `filter.address[${i}]`)), ADDRESS_BYTES);
  const topicsField = fields.topics ?? [];
  if (!Array.isArray(topicsField)) throw invalidParams('filter.topics must be a list of at most 4 positions, each null, a topic or a list of topics');
  if (topicsField.length > TOPIC_POSITIONS_MAX) throw new JsonRpcError(-32000, 'exceed max topics');
  const topics = topicsField.map((position, i) => {
    if (position === null) return undefined;
    const alternatives = boundedList(Array.isArray(position) ? position : [position]);
    if (alternatives.length === 0 || alternatives.includes(null)) return undefined;
    return new ByteItems(alternatives.map((topic, j) => parseHash(topic, `filter.topics[${i}][${j}]`)), HASH_BYTES);
  });
  return { addresses, topics };
}

/**
 * Whether `filter` selects the log whose address lies at `addressOffset` of `bytes`, and whose
 * `topicCount` topics follow one another from `topicsOffset`. As geth's filterLogs: a log with
 * fewer topics than the filter has positions is not selected, wildcard positions included (`[null]`
 * selects the logs with a topic, `[null, null, null, null]` those with four).
 */
export function selectsLog(filter: LogFilter, bytes: Uint8Array, addressOffset: number, topicCount: number, topicsOffset: number): boolean {
  if (filter.topics.length > topicCount) return false;
  if (filter.addresses !== undefined && !filter.addresses.includes(bytes, addressOffset)) return false;
  for (let i = 0; i < filter.topics.length; i++) {
    const wanted = filter.topics[i];
    if (wanted !== undefined && !wanted.includes(bytes, topicsOffset + i * HASH_BYTES)) return false;
  }
  return true;
}
