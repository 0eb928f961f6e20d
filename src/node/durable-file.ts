// A small file replaced whole, so that a crash leaves the old or the new content, never half of one:
// written aside, fsynced, then renamed into place. For files that change rarely (elections, a
// retirement), where the fsync's cost does not matter.

import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

/** Replaces `path` with `text`, readable by the node's user only. */
export function writeFileDurably(path: string, text: string): void {
  const temporary = `${path}.tmp`;
  // A file's mode is set when it is created: one left over from a crash (or put there by another
  // user) would keep its own mode, or be a link elsewhere. Created afresh, and only by this open.
  rmSync(temporary, { force: true });
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}
