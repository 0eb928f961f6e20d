// Network benchmark: a 3-node Coco sandbox running the logging app against a 3-member etcd cluster,
// measured one after the other on the same machine in the same run. 32 keep-alive HTTPS clients
// write as fast as they can (committed writes per second, latency to Committed), then at about half
// of Coco's maximum (p99 latency to Committed); and `coco sandbox` is timed from launch to an open
// 3-node network. Coco's writes go to the primary directly, as etcd's go to its leader.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import type { Agent } from 'node:https';
import { join } from 'node:path';
import { CocoClient } from '../src/client/coco-client.js';
import { onInterrupt } from './cleanup.js';
import { CommitTracker, type CommitResult } from './commit-tracker.js';
import { etcdPutBody, etcdTarget, findOrInstallEtcd, startEtcdCluster, type EtcdBinary } from './etcd.js';
import { loadConnections, runLoad, type LoadResult, type LoadTarget } from './load.js';
import { logBody, startCocoSandbox, type CocoSandbox } from './coco-sandbox.js';
import { progress } from './measure.js';
import { CpuMeter, cpuPerRequest, LOAD_GENERATOR, microsPerRequest } from './cpu-time.js';

const NODES = 3;
const CLIENTS = 32;
const WARMUP_MS = 2_000;
const DURATION_MS = 10_000;
/** Commit polls start at most this often, at most a few at a time: light next to 32 writers. */
const COMMIT_POLL_INTERVAL_MS = 2;
const COMMIT_POLLS_IN_FLIGHT = 4;
const SETTLE_TIMEOUT_MS = 10_000;
const STARTUP_RUNS = 3;

// The issue's goals.
const RATIO_MIN = 3;
const HALF_LOAD_P99_MS_MAX = 20;
const STARTUP_S_MAX = 10;

interface CocoRun {
  load: LoadResult;
  commit: CommitResult;
}

/** CPU ms per process over a measured run: the load generator, then each node or member. */
type CpuUse = Map<string, number | undefined>;

type EtcdRuns = { version: string; max: LoadResult; half: LoadResult; maxCpu: CpuUse } | { skipped: string };

type Startup = CocoSandbox['startup'] | { failed: string };

async function runCoco(target: LoadTarget, connections: Agent, poller: CocoClient, durationMs: number, ratePerSecond?: number): Promise<CocoRun> {
  const tracker = new CommitTracker(poller, { pollIntervalMs: COMMIT_POLL_INTERVAL_MS, pollsInFlight: COMMIT_POLLS_IN_FLIGHT });
  const load = await runLoad(target, {
    connections,
    clients: CLIENTS,
    durationMs,
    path: '/app/log/private',
    body: logBody,
    ...(ratePerSecond !== undefined && { ratePerSecond }),
    onResponse: ({ startMs, headers }) => tracker.add(headers['x-ms-ccf-transaction-id'], startMs),
  });
  return { load, commit: await tracker.finish(SETTLE_TIMEOUT_MS) };
}

/** The processes of a cluster by name, for a CpuMeter. */
const processes = (kind: string, pids: readonly number[]) => new Map(pids.map((pid, i) => [`${kind} ${i}`, pid]));

async function measureCoco(coco: CocoSandbox): Promise<{ max: CocoRun; half: CocoRun; halfRate: number; maxCpu: CpuUse }> {
  const primary = await coco.primary();
  progress(`the primary is ${primary.id.slice(0, 16)}… at ${primary.url}; writes go there`);
  const target = coco.target(primary.url);
  const poller = new CocoClient({ url: primary.url, caCertPem: coco.serviceCertPem, ...coco.user0 });
  const connections = loadConnections(target, CLIENTS);
  try {
    progress('warming up Coco');
    await runCoco(target, connections, poller, WARMUP_MS);
    progress(`measuring Coco for ${DURATION_MS / 1000} s, ${CLIENTS} clients as fast as they can`);
    const meter = CpuMeter.start(processes('node', Array.from({ length: NODES }, (_, i) => coco.nodePid(i))));
    const max = await runCoco(target, connections, poller, DURATION_MS);
    const maxCpu = meter.stop();
    const halfRate = Math.max(1, Math.round(max.commit.perSecond / 2));
    progress(`measuring Coco for ${DURATION_MS / 1000} s at ${halfRate} writes/s`);
    const half = await runCoco(target, connections, poller, DURATION_MS, halfRate);
    const after = await coco.primary();
    if (after.id !== primary.id) progress(`note: the primary changed during the run (now ${after.id.slice(0, 16)}…)`);
    return { max, half, halfRate, maxCpu };
  } finally {
    connections.destroy();
    poller.close();
  }
}

async function measureEtcd(binary: EtcdBinary, dir: string, client: { certPem: string; keyPem: string }, halfRate: number): Promise<EtcdRuns> {
  if ('skipped' in binary) return binary;
  progress(`starting a ${NODES}-member etcd ${binary.version} cluster`);
  mkdirSync(dir);
  let cluster;
  try {
    cluster = await startEtcdCluster(binary, dir, NODES, client);
  } catch (error) {
    return { skipped: `the etcd cluster did not start: ${(error as Error).message}` };
  }
  const stop = onInterrupt(() => cluster.stop());
  try {
    progress(`the etcd leader is at ${cluster.leaderUrl}; writes go there`);
    const target = etcdTarget(cluster, client);
    const load = { clients: CLIENTS, path: '/v3/kv/put', body: etcdPutBody, connections: loadConnections(target, CLIENTS) };
    progress('warming up etcd');
    await runLoad(target, { ...load, durationMs: WARMUP_MS });
    progress(`measuring etcd for ${DURATION_MS / 1000} s, ${CLIENTS} clients as fast as they can`);
    const meter = CpuMeter.start(processes('member', cluster.pids));
    const max = await runLoad(target, { ...load, durationMs: DURATION_MS });
    const maxCpu = meter.stop();
    progress(`measuring etcd for ${DURATION_MS / 1000} s at ${halfRate} writes/s (Coco's half-load rate)`);
    const half = await runLoad(target, { ...load, durationMs: DURATION_MS, ratePerSecond: halfRate });
    load.connections.destroy();
    return { version: binary.version, max, half, maxCpu };
  } finally {
    await stop();
  }
}

const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : '–');
const count = (value: number) => Math.round(value).toLocaleString('en-US');
const verdict = (met: boolean) => (met ? 'met' : '**not met**');

/** "1,050 + 410 + 405 µs per committed write by the nodes, 120 µs by the load generator". */
function cpuSentence(cpu: CpuUse, writes: number, kind: string): string {
  const servers = [...cpu].filter(([name]) => name !== LOAD_GENERATOR).map(([, ms]) => ms);
  return `${servers.map((ms) => microsPerRequest(ms, writes)).join(' + ')} µs by the ${kind}, ${cpuPerRequest(cpu.get(LOAD_GENERATOR), writes)} by the load generator`;
}

function report(results: { max: CocoRun; half: CocoRun; halfRate: number; maxCpu: CpuUse; etcd: EtcdRuns; startups: Startup[]; loadBefore: number[] }): string {
  const { max, half, halfRate, maxCpu, etcd, startups } = results;
  const etcdName = 'skipped' in etcd ? 'etcd' : `etcd ${etcd.version}`;
  const etcdRow = (result: (e: Exclude<EtcdRuns, { skipped: string }>) => string) => ('skipped' in etcd ? `| ${etcdName}, ${NODES} members | skipped: ${etcd.skipped} |` : result(etcd));
  const ratio = 'skipped' in etcd ? undefined : max.commit.perSecond / etcd.max.perSecond;
  const started = startups.filter((s): s is CocoSandbox['startup'] => !('failed' in s));
  const failedStarts = startups.length - started.length;
  const worstStartS = Math.max(...started.map((s) => s.wallMs)) / 1000;
  const startMet = failedStarts === 0 && worstStartS <= STARTUP_S_MAX;
  const cpu = cpus();
  return [
    `### Network: ${NODES} nodes, logging app writes, ${CLIENTS} keep-alive HTTPS clients, latency to Committed`,
    '',
    '| system | committed writes/s | p50 ms to Committed | p99 ms to Committed | errors | not committed |',
    '| --- | --- | --- | --- | --- | --- |',
    `| Coco, ${NODES} nodes: \`POST /app/log/private\` to the primary | ${count(max.commit.perSecond)} | ${ms(max.commit.p50Ms)} | ${ms(max.commit.p99Ms)} | ${max.load.errors} | ${max.commit.notCommitted} |`,
    etcdRow((e) => `| ${etcdName}, ${NODES} members: \`POST /v3/kv/put\` to the leader | ${count(e.max.perSecond)} | ${ms(e.max.p50Ms)} | ${ms(e.max.p99Ms)} | ${e.max.errors} | 0 |`),
    '',
    ratio === undefined ? 'Ratio Coco / etcd: not measured (etcd skipped).' : `Ratio Coco / etcd: **${ratio.toFixed(2)}**.`,
    `Coco's primary answered ${count(max.load.perSecond)} writes/s (response p50 ${ms(max.load.p50Ms)} ms, p99 ${ms(max.load.p99Ms)} ms); ` +
      `${count(max.commit.polls / max.load.seconds)} polls/s of \`/app/commit\` settled them.`,
    `CPU per committed write in these runs (from /proc, all threads of each process): Coco ${cpuSentence(maxCpu, max.commit.committed, 'nodes')}` +
      ('skipped' in etcd ? '.' : `; etcd ${cpuSentence(etcd.maxCpu, etcd.max.requests, 'members')}.`),
    '',
    `At about half of Coco's maximum: open loop, ${count(halfRate)} writes/s offered for ${DURATION_MS / 1000} s, latency from each write's scheduled start.`,
    '',
    '| system | committed writes/s | p50 ms to Committed | p99 ms to Committed | errors | not committed |',
    '| --- | --- | --- | --- | --- | --- |',
    `| Coco, ${NODES} nodes | ${count(half.commit.perSecond)} | ${ms(half.commit.p50Ms)} | ${ms(half.commit.p99Ms)} | ${half.load.errors} | ${half.commit.notCommitted} |`,
    etcdRow((e) => `| ${etcdName}, ${NODES} members, same rate | ${count(e.half.perSecond)} | ${ms(e.half.p50Ms)} | ${ms(e.half.p99Ms)} | ${e.half.errors} | 0 |`),
    '',
    `Coco's primary answered with p50 ${ms(half.load.p50Ms)} ms, p99 ${ms(half.load.p99Ms)} ms; ${count(half.commit.polls / half.load.seconds)} polls/s of \`/app/commit\`.`,
    '',
    `Start to an open ${NODES}-node network, \`coco sandbox --port 0 --workspace <new dir> --nodes ${NODES}\` (what \`npm start\` runs), ${STARTUP_RUNS} runs:`,
    '',
    '| run | launch to "running" banner, s | start-up the sandbox reports, s |',
    '| --- | --- | --- |',
    ...startups.map((s, i) => ('failed' in s ? `| ${i + 1} | failed: ${s.failed.split('\n')[0]} | |` : `| ${i + 1} | ${(s.wallMs / 1000).toFixed(1)} | ${(s.reportedMs / 1000).toFixed(1)} |`)),
    '',
    '| goal | measured | verdict |',
    '| --- | --- | --- |',
    `| Coco committed writes/s ≥ ${RATIO_MIN} × etcd puts/s | ${ratio === undefined ? 'etcd skipped' : `${ratio.toFixed(2)} ×`} | ${ratio === undefined ? 'not measured' : verdict(ratio >= RATIO_MIN)} |`,
    `| p99 to Committed ≤ ${HALF_LOAD_P99_MS_MAX} ms at half of the maximum | ${ms(half.commit.p99Ms)} ms | ${verdict(half.commit.p99Ms <= HALF_LOAD_P99_MS_MAX)} |`,
    `| start to an open ${NODES}-node network ≤ ${STARTUP_S_MAX} s | ${started.length > 0 ? `${worstStartS.toFixed(1)} s (slowest run)` : 'no run started'}${failedStarts > 0 ? `, ${failedStarts} of ${startups.length} runs failed` : ''} | ${verdict(startMet)} |`,
    '',
    `${DURATION_MS / 1000} s per run after ${WARMUP_MS / 1000} s warm-up, on connections opened by the warm-up; Committed seen by polling the primary's \`/app/commit\` (a poll starts at most every ${COMMIT_POLL_INTERVAL_MS} ms, at most ${COMMIT_POLLS_IN_FLIGHT} outstanding); ` +
      `${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown CPU'}) shared by the load generator and the nodes or members; ` +
      `load average before the run ${results.loadBefore.map((l) => l.toFixed(2)).join(' / ')}; node ${process.version}; ${new Date().toISOString().slice(0, 10)}.`,
  ].join('\n');
}

export async function runNetworkBench(): Promise<string> {
  const loadBefore = loadavg();
  const dir = mkdtempSync(join(tmpdir(), 'coco-bench-network-'));
  const removeDir = onInterrupt(async () => rmSync(dir, { recursive: true, force: true }));
  try {
    // First, so that an installation (and a sudo prompt) happens before anything is measured.
    const etcdBinary = findOrInstallEtcd();
    const startups: Startup[] = [];
    for (let i = 0; i < STARTUP_RUNS; i++) {
      progress(`timing the start of a ${NODES}-node sandbox, run ${i + 1} of ${STARTUP_RUNS}`);
      const sandbox = await startCocoSandbox(join(dir, `startup-${i}`), NODES).catch((error: Error) => error);
      if (sandbox instanceof Error) {
        progress(sandbox.message);
        startups.push({ failed: sandbox.message });
      } else {
        startups.push(sandbox.startup);
        await sandbox.stop();
      }
    }
    progress(`starting the ${NODES}-node sandbox to measure`);
    const coco = await startCocoSandbox(join(dir, 'workspace'), NODES);
    let measured;
    try {
      measured = await measureCoco(coco);
    } finally {
      await coco.stop();
    }
    const etcd = await measureEtcd(etcdBinary, join(dir, 'etcd'), coco.user0, measured.halfRate);
    return report({ ...measured, etcd, startups, loadBefore });
  } finally {
    await removeDir();
  }
}
