// Reads a file the user named, turning the file system's errors into one clear CocoError.

import { readFileSync } from 'node:fs';
import { CocoError } from '../errors.js';

export function readInputFile(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new CocoError('FileUnreadable', `cannot read ${what} ${path}: ${reason}`);
  }
}
