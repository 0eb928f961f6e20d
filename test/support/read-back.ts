// Waiting for what a node reads back from its ledger files for callers that cannot wait: it
// answers TransactionNotCached (202 over HTTP) until the read is done.

import assert from 'node:assert/strict';
import { CocoError } from '../../src/errors.js';

export const notCached = (e: unknown): boolean => e instanceof CocoError && e.code === 'TransactionNotCached';

/** What `read` answers once the node has read its material back (other errors are thrown at once). */
export async function onceRead<T>(read: () => T | undefined): Promise<T> {
  for (let attempt = 0; attempt < 500; attempt++) {
    try {
      const value = read();
      if (value !== undefined) return value;
    } catch (error) {
      if (!notCached(error)) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail('the node did not read it back from its ledger within 5 s');
}
