// `npm run bench -- <suite>`: runs a benchmark suite and prints its results as a Markdown table,
// each figure beside a reference measured in the same run (so ratios survive a slower machine).

import { runEthereumBench } from './ethereum-bench.js';
import { runJsBench } from './js-bench.js';
import { runLedgerBench } from './ledger-bench.js';
import { runMemoryBench } from './memory-bench.js';
import { runNetworkBench } from './network-bench.js';
import { runRestartBench } from './restart-bench.js';
import { runServiceBench } from './service-bench.js';
import { runSnapshotBench } from './snapshot-bench.js';

const SUITES: Record<string, () => Promise<string>> = {
  ledger: runLedgerBench,
  service: runServiceBench,
  js: runJsBench,
  network: runNetworkBench,
  ethereum: runEthereumBench,
  snapshot: runSnapshotBench,
  restart: runRestartBench,
  memory: runMemoryBench,
};

const requested = process.argv.slice(2);
if (requested.includes('--help') || requested.includes('-h')) {
  console.log(`usage: npm run bench -- [SUITE...]\n  suites: ${Object.keys(SUITES).join(', ')}; with none, every suite runs, one after the other (see docs/benchmarks.md)`);
  process.exit(0);
}
const names = requested.length > 0 ? requested : Object.keys(SUITES);
for (const name of names) {
  const suite = SUITES[name];
  if (!suite) {
    console.error(`unknown bench suite "${name}"; available: ${Object.keys(SUITES).join(', ')}`);
    process.exit(2);
  }
  console.log(await suite());
}
