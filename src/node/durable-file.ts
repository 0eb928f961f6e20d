// A small file replaced whole, so that a crash leaves the old or the new content, never half of one:
// written aside, fsynced, then renamed into place. For files that change rarely (elections, a
// retirement, a rekey), where the fsync's cost does not matter. A write the disk cuts short or
// refuses (full, a file size limit) throws and leaves the old file as it was.

import { closeSync, fsyncSync, openSync, renameSync, rmSync } from 'node:fs';
import { utf8 } from '../crypto/bytes.js';
import { writeFull } from './write-full.js';

/** Replaces `path` with `text`, readable by the node's user only. */
export function writeFileDurably(path: string, text: string): void {
  const temporary = `${path}.tmp`;
  // A file's mode is set when it is created: one left over from a crash (or put there by another
  // user) would keep its own mode, or be a link elsewhere. Created afresh, and only by this open.
  rmSync(temporary, { force: true });
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    try {
      writeFull(fd, utf8(text), 0);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (error) {
    // What was written aside is of no use (a restart ignores it): the old file stays as it was.
    rmSync(temporary, { force: true });
    throw error;
  }
}
