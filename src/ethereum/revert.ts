// A call that reverted, as Ethereum clients expect to hear of it: "execution reverted", followed by
// the reason when the revert data is Solidity's Error(string), and the revert data itself so that
// clients can decode custom errors.

import { bytesToHex } from '@ethereumjs/util';
import { CocoError } from '../errors.js';

/** Selector of Solidity's `Error(string)`: keccak256("Error(string)")[0..4]. */
const ERROR_STRING_SELECTOR = '0x08c379a0';

/** The reason string of `Error(string)` revert data; undefined for any other data. */
export function revertReason(data: Uint8Array): string | undefined {
  if (data.length < 4 + 64 || bytesToHex(data.subarray(0, 4)) !== ERROR_STRING_SELECTOR) return undefined;
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
