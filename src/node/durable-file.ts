// A small file replaced whole, so that a crash leaves the old or the new content, never half of one:
// written aside, fsynced, renamed into place, and the rename made durable. For files that change rarely (elections, a
// retirement, a rekey), where the fsync's cost does not matter. A change the disk refuses (full, a
// file size limit) throws a LedgerDiskError naming the operation, the file and the errno, as the
// ledger's do (these files are configured under `ledger`), and leaves the old file as it was.

import { closeSync, fsyncSync, openSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { utf8 } from '../crypto/bytes.js';
import { ledgerDiskError, type LedgerDiskOperation } from './ledger-disk-error.js';
import { writeFull } from './write-full.js';
import { fsyncDirectory } from './directory-sync.js';

/** Replaces `path` with `text`, readable by the node's user only. */
export function writeFileDurably(path: string, text: string): void {
  const temporary = `${path}.tmp`;
  // A file's mode is set when it is created: one left over from a crash (or put there by another
  // user) would keep its own mode, or be a link elsewhere. Created afresh, and only by this open.
  onDisk('delete', temporary, () => rmSync(temporary, { force: true }));
  const fd = onDisk('create', temporary, () => openSync(temporary, 'wx', 0o600));
  try {
    try {
      onDisk('write', temporary, () => writeFull(fd, utf8(text), 0));
      onDisk('fsync', temporary, () => fsyncSync(fd));
    } finally {
      closeSync(fd);
    }
    onDisk('rename', `${temporary} to ${basename(path)}`, () => renameSync(temporary, path));
  } catch (error) {
    // What was written aside is of no use (a restart ignores it): the old file stays as it was.
    rmSync(temporary, { force: true });
    throw error;
  }
  // Until then a crash could bring the old file back: a vote this node cast, forgotten.
  onDisk('fsync', dirname(path), () => fsyncDirectory(dirname(path)));
}

/** Runs one change to `file`, naming it and the operation if the system refuses it. */
function onDisk<T>(operation: LedgerDiskOperation, file: string, action: () => T): T {
  try {
    return action();
  } catch (error) {
    throw ledgerDiskError(operation, file, error);
  }
}
