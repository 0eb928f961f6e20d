// Paths of the repository and of the shared test data, derived from this module's own location so
// tests run from any working directory. Compiled to dist/test/support/paths.js: the repo root is
// three levels up, and shared/ (real CCF ledgers, references) sits beside the repo.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(fileURLToPath(new URL('../../../', import.meta.url)));
export const sharedDir = resolve(repoRoot, '..', 'shared');
export const ccfLedgersDir = join(sharedDir, 'ccf-ledgers');

if (!existsSync(ccfLedgersDir)) {
  throw new Error(`the tests need the shared test data at ${ccfLedgersDir}: check out shared/ beside the repository`);
}
