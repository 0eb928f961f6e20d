// The one line a coco command ends with when V8 could not reserve address space for a WebAssembly
// memory (under `ulimit -v`): that happens as the modules load (the Keccak hasher) or as a node
// starts (its interpreters), where it would otherwise end in a stack trace. Imports nothing that
// makes a WebAssembly memory, so that it loads when the CLI's modules did not.

import { logLine } from '../node/buffered-log.js';
import { isWasmReservationFailure, WASM_ADDRESS_SPACE_REMEDY } from '../js/wasm-address-space.js';
import { readAddressSpaceLimitBytes } from '../rpc/node-memory.js';

/** Says `error` in one line, as `command` says its failures, and returns true, when it is such a failure; otherwise says nothing and returns false. */
export function reportAddressSpaceFailure(error: unknown, command: string | undefined): boolean {
  if (!isWasmReservationFailure(error)) return false;
  const limitBytes = readAddressSpaceLimitBytes();
  const under = limitBytes === undefined ? '' : ` (this process's address space is limited to ${limitBytes} bytes)`;
  const line = `coco: ${(error as Error).message}${under}; ${WASM_ADDRESS_SPACE_REMEDY} [AddressSpaceExhausted]`;
  // A node's last words go to its log, in the log's format, as the CLI's other failures do.
  if (command === 'node') logLine('error', line);
  else console.error(line);
  return true;
}
