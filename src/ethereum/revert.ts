// A call that reverted, as Ethereum clients expect to hear of it: "execution reverted", followed by
// the reason when the revert data is Solidity's Error(string) or Panic(uint256) (in geth's words),
// and the revert data itself so that clients can decode custom errors.

import { bytesToHex } from '@ethereumjs/util';
import { CocoError } from '../errors.js';

/** Selector of Solidity's `Error(string)`: keccak256("Error(string)")[0..4]. */
const ERROR_STRING_SELECTOR = '0x08c379a0';

/** Selector of Solidity's `Panic(uint256)`, what assert, overflow checks and the like revert with. */
const PANIC_SELECTOR = '0x4e487b71';

/** What each Solidity panic code means, in the words geth answers with. */
const PANIC_REASONS: ReadonlyMap<bigint, string> = new Map([
  [0x00n, 'generic panic'],
  [0x01n, 'assert(false)'],
  [0x11n, 'arithmetic underflow or overflow'],
  [0x12n, 'division or modulo by zero'],
  [0x21n, 'enum overflow'],
  [0x22n, 'invalid encoded storage byte array accessed'],
  [0x31n, 'out-of-bounds array access; popping on an empty array'],
  [0x32n, 'out-of-bounds access of an array or bytesN'],
  [0x41n, 'out of memory'],
  [0x51n, 'uninitialized function'],
]);

/** The reason of `Error(string)` or `Panic(uint256)` revert data; undefined for any other data. */
export function revertReason(data: Uint8Array): string | undefined {
  const selector = data.length < 4 ? undefined : bytesToHex(data.subarray(0, 4));
  if (selector === PANIC_SELECTOR && data.length >= 4 + 32) {
    const code = BigInt(bytesToHex(data.subarray(4, 4 + 32)));
    return PANIC_REASONS.get(code) ?? `unknown panic code: 0x${code.toString(16)}`;
  }
  if (data.length < 4 + 64 || selector !== ERROR_STRING_SELECTOR) return undefined;
  const view = new DataView(data.buffer, data.byteOffset + 4, data.length - 4);
  // ABI: a 32-byte offset (32), then at that offset a 32-byte length, then the UTF-8 bytes.
  const word = (at: number): number | undefined => {
    if (at + 32 > view.byteLength) return undefined;
    for (let i = 0; i < 28; i++) if (view.getUint8(at + i) !== 0) return undefined;
    return view.getUint32(at + 28);
  };
  const offset = word(0);
  if (offset === undefined) return undefined;
  const length = word(offset);
  if (length === undefined || offset + 32 + length > view.byteLength) return undefined;
  return new TextDecoder('utf-8', { fatal: false }).decode(data.subarray(4 + offset + 32, 4 + offset + 32 + length));
}

/** Ethereum's message for a revert with `data`: "execution reverted", with the reason when there is one. */
export function revertMessage(data: Uint8Array): string {
  const reason = revertReason(data);
  return reason === undefined ? 'execution reverted' : `execution reverted: ${reason}`;
}

export class ExecutionReverted extends CocoError {
  /** The revert data, as the contract returned it. */
  readonly data: Uint8Array;

  constructor(data: Uint8Array) {
    super('ExecutionReverted', revertMessage(data));
    this.data = data;
  }
}
