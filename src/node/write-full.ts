// Writes every byte asked for. One write call may write fewer (a disk nearly full, a file size
// limit reached midway) and say so only in the count it returns: a caller that ignores the count
// keeps a file cut short as if it were whole.

import { writeSync } from 'node:fs';

/** Writes all of `bytes` to `fd` from `position` on; a write the system refuses throws its error. */
export function writeFull(fd: number, bytes: Uint8Array, position: number): void {
  let written = 0;
  while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written, position + written);
}
