// Makes the renames, creations and deletions in a directory durable: on Linux a file's new name
// survives a crash only once its directory is fsynced, whatever was done to the file itself.

import { closeSync, fsyncSync, openSync } from 'node:fs';

export function fsyncDirectory(directory: string): void {
  const fd = openSync(directory, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
