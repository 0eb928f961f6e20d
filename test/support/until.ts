// Polls `probe` until it returns a value (errors count as "not yet": a node may be down or
// electing), failing the test with `what` after `timeoutMs`.

import assert from 'node:assert/strict';

const POLL_INTERVAL_MS = 100;

export async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch {
      // Not there yet.
    }
    if (Date.now() > deadline) assert.fail(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}
