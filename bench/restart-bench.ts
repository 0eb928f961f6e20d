// Restart benchmark: a 3-node sandbox takes 100,000 logging writes, is stopped, and is started again
// on the same workspace: every node resumes from its own ledger (the primary from its latest
// snapshot and the ledger after it, the backups, which write no snapshots, from the whole ledger).
// Measured: the time to the "running" banner and each node's peak resident memory, against the
// start of the same network with an empty ledger in the same run (the reference).

import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCocoSandbox, logBody, type CocoSandbox } from './coco-sandbox.js';
import { loadConnections, runLoad } from './load.js';
import { progress } from './measure.js';

const NODES = 3;
const WRITES = 100_000;
const ROUND_MS = 5_000;

interface NodeMemory {
  peakMb: number;
  ledgerMb: number;
}

/** Each node's peak resident memory so far (VmHWM) and the size of its ledger directory. */
function nodeMemory(sandbox: CocoSandbox, workspace: string): NodeMemory[] {
  return Array.from({ length: NODES }, (_, index) => {
    const status = readFileSync(`/proc/${sandbox.nodePid(index)}/status`, 'utf8');
    const ledger = join(workspace, `sandbox_${index}`, 'ledger');
    const ledgerBytes = readdirSync(ledger).reduce((sum, name) => sum + statSync(join(ledger, name)).size, 0);
    return { peakMb: Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024, ledgerMb: ledgerBytes / 2 ** 20 };
  });
}

async function write(sandbox: CocoSandbox, count: number): Promise<number> {
  const primary = await sandbox.primary();
  const target = sandbox.target(primary.url);
  const connections = loadConnections(target, 32);
  let written = 0;
  try {
    while (written < count) {
      const round = await runLoad(target, { clients: 32, durationMs: ROUND_MS, path: '/app/log/private', body: (i) => logBody(written + i), connections });
      written += round.requests - round.errors;
      progress(`restart bench: ${written.toLocaleString('en-US')} of ${count.toLocaleString('en-US')} writes`);
    }
  } finally {
    connections.destroy();
  }
  return written;
}

export async function runRestartBench(): Promise<string> {
  const workspace = join(mkdtempSync(join(tmpdir(), 'coco-bench-restart-')), 'workspace');
  try {
    let sandbox = await startCocoSandbox(workspace, NODES);
    const fresh = sandbox.startup;
    let written: number;
    try {
      written = await write(sandbox, WRITES);
    } finally {
      await sandbox.stop();
    }
    progress('restart bench: restarting the network on its ledgers');
    sandbox = await startCocoSandbox(workspace, NODES);
    let memory: NodeMemory[];
    try {
      memory = nodeMemory(sandbox, workspace);
    } finally {
      await sandbox.stop();
    }
    const restarted = sandbox.startup;
    const seconds = (ms: number) => (ms / 1000).toFixed(1);
    return [
      `### Restart: a ${NODES}-node sandbox restarted on its ledgers after ${written.toLocaleString('en-US')} writes`,
      '',
      '| start | to the "running" banner, s | reported by the sandbox, s |',
      '| --- | --- | --- |',
      `| a new network, empty ledger (reference) | ${seconds(fresh.wallMs)} | ${seconds(fresh.reportedMs)} |`,
      `| restart on the ledgers | ${seconds(restarted.wallMs)} | ${seconds(restarted.reportedMs)} |`,
      '',
      `Ratio restart / new network: **${(restarted.wallMs / fresh.wallMs).toFixed(1)}**.`,
      '',
      '| node | ledger, MB | peak resident memory after the restart, MB |',
      '| --- | --- | --- |',
      ...memory.map((m, index) => `| ${index} | ${m.ledgerMb.toFixed(1)} | ${m.peakMb.toFixed(0)} |`),
      '',
    ].join('\n');
  } finally {
    rmSync(join(workspace, '..'), { recursive: true, force: true });
  }
}
