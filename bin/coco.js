#!/usr/bin/env node
// Entry point of the `coco` command: runs the compiled CLI (built by `npm install` / `npm run build`).
import { existsSync } from 'node:fs';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('coco: the CLI is not built yet; run `npm install` (or `npm run build`) in the Coco checkout first.');
  process.exit(1);
}
// A reader that stops early (`coco ledger show ... | head`) is not an error. A node's log deals
// with its own write failures (dropLogLinesOnWriteFailure in src/node/buffered-log.ts).
if (process.argv[2] !== 'node') {
  process.stdout.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}
// An address-space limit (ulimit -v) can refuse WebAssembly memories as the modules load or as a
// node starts: one line says so and what to do, rather than a stack trace.
const { reportAddressSpaceFailure } = await import(new URL('../dist/src/cli/address-space-failure.js', import.meta.url).href);
try {
  const { run } = await import(main.href);
  process.exitCode = await run(process.argv.slice(2));
} catch (error) {
  if (!reportAddressSpaceFailure(error, process.argv[2])) throw error;
  process.exitCode = 1;
}
