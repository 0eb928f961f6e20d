// Limits of the key-value store and the checks that enforce them at its boundary. Every map name,
// key and value that enters the store passes here, so a transaction can never hold more than these
// bounds. CCF has no hard key limit; ours keeps one key far below one ledger entry.

import { CocoError } from '../errors.js';
import { utf8 } from '../crypto/bytes.js';

/** Longest map name, in UTF-8 bytes. CCF's own names are under 64. */
export const MAP_NAME_BYTES_MAX = 256;
/** Longest key: 64 KiB. */
export const KEY_BYTES_MAX = 64 * 1024;
/** Longest value: 64 MiB. */
export const VALUE_BYTES_MAX = 64 * 1024 * 1024;
/**
 * Most distinct keys one transaction may set or delete (over all its maps). `clear()` counts every
 * key the map holds when it is called: its commit removes each one and its ledger entry lists them.
 */
export const WRITES_PER_TRANSACTION_MAX = 100_000;

/** A JS string that holds a lone surrogate has no UTF-8 form. */
const LONE_SURROGATE = /\p{Surrogate}/u;

/** Checks a map name and returns its UTF-8 bytes (the order maps are sorted in a write set). */
export function checkMapName(name: unknown): Uint8Array {
  if (typeof name !== 'string') {
    throw new CocoError('InvalidArgument', `a map name must be a string, got ${typeof name}`);
  }
  if (name.length === 0) throw new CocoError('InvalidMapName', 'a map name must not be empty');
  if (LONE_SURROGATE.test(name)) {
    throw new CocoError('InvalidMapName', `map name ${JSON.stringify(name)} is not valid UTF-8 (lone surrogate)`);
  }
  const bytes = utf8(name);
  if (bytes.length > MAP_NAME_BYTES_MAX) {
    throw new CocoError(
      'LimitExceeded',
      `map name is ${bytes.length} bytes, over MAP_NAME_BYTES_MAX (${MAP_NAME_BYTES_MAX}); use a shorter name`,
    );
  }
  return bytes;
}

export function checkKey(key: unknown): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array)) {
    throw new CocoError('InvalidArgument', `a key must be a Uint8Array, got ${describe(key)}`);
  }
  if (key.length > KEY_BYTES_MAX) {
    throw new CocoError(
      'LimitExceeded',
      `key is ${key.length} bytes, over KEY_BYTES_MAX (${KEY_BYTES_MAX}); store a hash of it instead`,
    );
  }
}

export function checkValue(value: unknown): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new CocoError('InvalidArgument', `a value must be a Uint8Array, got ${describe(value)}`);
  }
  if (value.length > VALUE_BYTES_MAX) {
    throw new CocoError(
      'LimitExceeded',
      `value is ${value.length} bytes, over VALUE_BYTES_MAX (${VALUE_BYTES_MAX}); split it over several keys`,
    );
  }
}

/** A `clear()` being counted: the map and how many keys it removes. */
export interface ClearedMap {
  readonly name: string;
  readonly keys: number;
}

/** Checks that a transaction writing `count` distinct keys (a clear's removes included) is within its bound. */
export function checkWriteCount(count: number, clearing?: ClearedMap): void {
  if (count <= WRITES_PER_TRANSACTION_MAX) return;
  if (clearing !== undefined) {
    throw new CocoError(
      'LimitExceeded',
      `clear() of map '${clearing.name}' removes its ${clearing.keys} keys, which makes the transaction write ${count} keys, ` +
        `over WRITES_PER_TRANSACTION_MAX (${WRITES_PER_TRANSACTION_MAX}); delete the map's keys in batches of fewer ` +
        'than that, one transaction per batch, then clear what is left',
    );
  }
  throw new CocoError(
    'LimitExceeded',
    `transaction writes ${count} keys, over WRITES_PER_TRANSACTION_MAX (${WRITES_PER_TRANSACTION_MAX}); ` +
      'split the work over several transactions',
  );
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (typeof x === 'object') return x.constructor?.name ?? 'object';
  return typeof x;
}
