// Picks a free TCP port now, for addresses that must be known (and written into configurations
// or the nodes table) before the process that will listen on them starts. The port is drawn below
// the kernel's ephemeral range (32768 and up on Linux), where neither outgoing connections nor
// servers listening on port 0 take ports, so it stays free until its process binds it.
//
// Free now is not free later: two processes drawing at once (sandboxes or tests side by side)
// could get the same port, or one could get a port another was given and has not bound yet, or
// has released for a restart. So each port handed out is also claimed, with a file created
// exclusively in the OS temporary directory; a claim lapses after CLAIM_LIFETIME_MS.

import { closeSync, openSync, statSync, unlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CocoError } from '../errors.js';
import { makeDirectory } from '../node/make-directory.js';

const RANGE_FIRST = 20_000;
const RANGE_END = 32_768;
const ATTEMPTS_MAX = 100;
export const CLAIM_LIFETIME_MS = 30 * 60_000;

export interface FreePortOptions {
  /** Where claims are kept; the OS temporary directory's `coco-port-claims` by default. */
  claimsDirectory?: string;
  /** Ports drawn from, first included, end excluded; 20000 to 32768 by default. */
  range?: readonly [first: number, end: number];
}

function tryListen(host: string, port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/**
 * Claims `port` for this process unless another holds a live claim. Where claims cannot be kept
 * (no writable claims directory), every port counts as unclaimed: the draw is then as good as the
 * listen check alone.
 */
function claim(directory: string, port: number): boolean {
  const file = join(directory, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      closeSync(openSync(file, 'wx'));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return true;
      try {
        if (Date.now() - statSync(file).mtimeMs < CLAIM_LIFETIME_MS) return false;
        unlinkSync(file);
      } catch {
        // Another process renewed or removed the claim meanwhile: try once more.
      }
    }
  }
  return false;
}

export async function freePort(host: string, options: FreePortOptions = {}): Promise<number> {
  const [first, end] = options.range ?? [RANGE_FIRST, RANGE_END];
  const directory = options.claimsDirectory ?? join(tmpdir(), 'coco-port-claims');
  try {
    makeDirectory(directory, 0o1777);
  } catch {
    // No claims then (see claim): opening a claim file fails the same way.
  }
  for (let attempt = 0; attempt < ATTEMPTS_MAX; attempt++) {
    const port = first + Math.floor(Math.random() * (end - first));
    if ((await tryListen(host, port)) && claim(directory, port)) return port;
  }
  throw new CocoError('NoFreePort', `no free port found on ${host} between ${first} and ${end - 1}; pass explicit ports`);
}
