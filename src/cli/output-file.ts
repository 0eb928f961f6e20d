// Writes a file the configuration named, turning the file system's errors into one clear CocoError.

import { writeFileSync } from 'node:fs';
import { CocoError } from '../errors.js';

export function writeOutputFile(path: string, data: string | Uint8Array, what: string): void {
  try {
    writeFileSync(path, data);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'its directory does not exist' : (error as Error).message;
    throw new CocoError('FileUnwritable', `cannot write ${what} ${path}: ${reason}`);
  }
}
