#!/usr/bin/env node
// Entry point of the `coco` command: runs the compiled CLI (built by `npm install` / `npm run build`).
import { existsSync } from 'node:fs';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('coco: the CLI is not built yet; run `npm install` (or `npm run build`) in the Coco checkout first.');
  process.exit(1);
}
const { run } = await import(main.href);
process.exitCode = await run(process.argv.slice(2));
