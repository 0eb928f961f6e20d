// Reads a file the node wrote itself and reads back at a restart (a ledger chunk, a snapshot). One
// the system will not let it read (permissions, ownership, a directory in its place, a failing disk)
// is not known to be damaged, so it is neither set aside nor skipped: the start stops with one
// error naming the file, the errno and what to do.

import { readFileSync } from 'node:fs';
import { CocoError } from '../errors.js';
import { systemMessage } from './ledger-disk-error.js';

/** The bytes of `path` (`what` says what it is: "ledger chunk", "snapshot"); FileUnreadable if the system refuses them. */
export function readNodeFile(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (!(error instanceof Error) || typeof code !== 'string') throw error;
    throw new CocoError(
      'FileUnreadable',
      `cannot read ${what} ${path}: ${code} (${systemMessage(error)}); make it a file the node's user can read (its owner, its permissions, the disk) and restart the node`,
      { cause: error },
    );
  }
}
