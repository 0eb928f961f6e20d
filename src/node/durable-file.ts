// A small file replaced whole, so that a crash leaves the old or the new content, never half of one:
// written aside, fsynced, then renamed into place. For files that change rarely (elections, a
// retirement), where the fsync's cost does not matter.

import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';

/** Replaces `path` with `text`, readable by the node's user only. */
export function writeFileDurably(path: string, text: string): void {
  const temporary = `${path}.tmp`;
  const fd = openSync(temporary, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}
