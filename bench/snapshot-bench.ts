// Snapshot benchmark: how long a node's event loop stalls while its state grows and it takes a
// snapshot every 10,000 transactions (CCF's default `snapshots.tx_count`), against the same writes
// with no snapshots in the same run. A 1 ms timer measures the loop; a write load in batches of
// 200, each a new key, grows the state to 100,000 keys.

import { readdirSync } from 'node:fs';
import { startInProcessNode } from '../test/support/in-process-node.js';
import { utf8 } from '../src/crypto/bytes.js';
import { progress } from './measure.js';

const KEYS = 100_000;
const SNAPSHOT_TX_COUNT = 10_000;
const BATCH = 200;
const STALL_MS = 50;

interface StallFigures {
  seconds: number;
  longestMs: number[];
  stalls: number;
  snapshots: number;
}

async function fill(snapshotTxCount: number, label: string): Promise<StallFigures> {
  const inProcess = startInProcessNode({ signatureTxCount: 1000, signatureDelayMs: 5, snapshotTxCount });
  const { node } = inProcess;
  const gaps: number[] = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    gaps.push(now - last);
    last = now;
  }, 1);
  const startMs = performance.now();
  try {
    for (let i = 0; i < KEYS; i++) {
      node.execute((tx) => {
        tx.map('records').set(utf8(String(i)), utf8(`benchmark message number ${i}`));
        return { result: undefined, applyWrites: true };
      });
      if (i % BATCH === BATCH - 1) await new Promise((resolve) => setTimeout(resolve, 2));
      if (i % 20_000 === 19_999) progress(`${label}: ${i + 1} keys written`);
    }
    // Let the last snapshot finish.
    await new Promise((resolve) => setTimeout(resolve, 1000));
  } finally {
    clearInterval(timer);
  }
  const seconds = (performance.now() - startMs) / 1000;
  const snapshots = readdirSync(node.snapshots.directory).filter((name) => name.endsWith('.committed')).length;
  await inProcess.close();
  const sorted = gaps.sort((a, b) => b - a);
  return { seconds, longestMs: sorted.slice(0, 5), stalls: sorted.filter((gap) => gap > STALL_MS).length, snapshots };
}

export async function runSnapshotBench(): Promise<string> {
  const reference = await fill(Number.MAX_SAFE_INTEGER, 'no snapshots (reference)');
  const measured = await fill(SNAPSHOT_TX_COUNT, `a snapshot every ${SNAPSHOT_TX_COUNT} transactions`);
  const row = (name: string, f: StallFigures) => `| ${name} | ${f.seconds.toFixed(1)} | ${f.longestMs.map((ms) => ms.toFixed(0)).join(', ')} | ${f.stalls} |`;
  return [
    `### Snapshots: event-loop stalls while the state grows to ${KEYS.toLocaleString('en-US')} keys`,
    '',
    `| node | seconds to write ${KEYS.toLocaleString('en-US')} keys | longest gaps of a 1 ms timer, ms | gaps over ${STALL_MS} ms |`,
    '| --- | --- | --- | --- |',
    row('no snapshots (reference)', reference),
    row(`a snapshot every ${SNAPSHOT_TX_COUNT.toLocaleString('en-US')} transactions (${measured.snapshots} taken)`, measured),
    '',
    `One in-process node (ledger and snapshot files on disk, signatures every 1,000 writes or 5 ms); writes in batches of ${BATCH} with 2 ms between; node ${process.version}.`,
  ].join('\n');
}
