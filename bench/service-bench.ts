// Service benchmark: the logging app's `POST /app/log/private` over HTTPS with user0's client
// certificate, 32 keep-alive clients, against a bare Node HTTPS echo server with the same TLS setup
// measured in the same run. Then time to Committed: sequential writes, each polled until Committed.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNodeIdentity } from '../src/node/identities.js';
import { allocatorEnv } from '../src/cli/allocator.js';
import { loadConnections, percentile, runLoad, type LoadResult, type LoadTarget } from './load.js';
import { logBody, startCocoSandbox } from './coco-sandbox.js';
import { progress } from './measure.js';
import { CpuMeter, cpuPerRequest, LOAD_GENERATOR } from './cpu-time.js';

/** The server process's name in a CpuMeter. */
const SERVER = 'server';

const CLIENTS = 32;
const WARMUP_MS = 2_000;
const DURATION_MS = 10_000;
const COMMIT_SAMPLES = 200;

async function startEcho(dir: string): Promise<{ url: string; pid: number; stop: () => void }> {
  const identity = createNodeIdentity({ ip: ['127.0.0.1'] }, new Date(), 1);
  writeFileSync(join(dir, 'key.pem'), identity.keyPair.privateKeyPem);
  writeFileSync(join(dir, 'cert.pem'), identity.selfSignedCertPem);
  const child = spawn(process.execPath, [fileURLToPath(new URL('./echo-server.js', import.meta.url)), dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
    // The reference gets the nodes' allocator: the ratio is then about Coco's work, not malloc's.
    env: allocatorEnv(),
  });
  const url = await new Promise<string>((resolve) => child.stdout!.on('data', (d: Buffer) => {
    const match = /listening on (\S+)/.exec(d.toString());
    if (match) resolve(match[1]!);
  }));
  return { url, pid: child.pid!, stop: () => child.kill('SIGTERM') };
}

function get(agent: Agent, url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request(url, { agent }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    }).on('error', reject).end();
  });
}

async function timeToCommit(target: LoadTarget): Promise<{ p50: number; p99: number }> {
  const agent = new Agent({ keepAlive: true, ca: target.caPem, cert: target.certPem, key: target.keyPem });
  const samples: number[] = [];
  for (let i = 0; i < COMMIT_SAMPLES; i++) {
    const start = performance.now();
    const txId = await new Promise<string>((resolve, reject) => {
      const body = logBody(1_000_000 + i);
      request(new URL('/app/log/private', target.url), { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.headers['x-ms-ccf-transaction-id'] as string));
      }).on('error', reject).end(body);
    });
    for (;;) {
      const status = JSON.parse(await get(agent, new URL(`/app/tx?transaction_id=${txId}`, target.url).href)).status;
      if (status === 'Committed') break;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    samples.push(performance.now() - start);
  }
  agent.destroy();
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

function row(name: string, result: LoadResult): string {
  return `| ${name} | ${Math.round(result.perSecond).toLocaleString('en-US')} | ${result.p50Ms.toFixed(2)} | ${result.p99Ms.toFixed(2)} | ${result.errors} |`;
}

/** A measured run with the CPU its load generator and its server used. */
async function measured(serverPid: number, run: () => Promise<LoadResult>): Promise<{ result: LoadResult; cpuMs: Map<string, number | undefined> }> {
  const meter = CpuMeter.start(new Map([[SERVER, serverPid]]));
  const result = await run();
  return { result, cpuMs: meter.stop() };
}

function cpuRow(name: string, { result, cpuMs }: Awaited<ReturnType<typeof measured>>): string {
  const server = cpuMs.get(SERVER);
  const cores = server === undefined ? 'n/a' : (server / 1000 / result.seconds).toFixed(2);
  return `| ${name} | ${cpuPerRequest(cpuMs.get(LOAD_GENERATOR), result.requests)} | ${cpuPerRequest(server, result.requests)} | ${cores} |`;
}

export async function runServiceBench(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'coco-bench-service-'));
  const echo = await startEcho(dir);
  progress('starting a one-node sandbox with the logging app');
  const sandbox = await startCocoSandbox(join(dir, 'workspace'), 1);
  try {
    const coco = sandbox.target();
    const echoTarget: LoadTarget = { url: echo.url, caPem: readFileSync(join(dir, 'cert.pem'), 'utf8'), ...sandbox.user0 };
    const load = { clients: CLIENTS, path: '/app/log/private', body: logBody };
    const echoLoad = { ...load, connections: loadConnections(echoTarget, CLIENTS) };
    const cocoLoad = { ...load, connections: loadConnections(coco, CLIENTS) };
    progress('warming up');
    await runLoad(echoTarget, { ...echoLoad, durationMs: WARMUP_MS });
    await runLoad(coco, { ...cocoLoad, durationMs: WARMUP_MS });
    progress(`measuring the echo server for ${DURATION_MS / 1000} s`);
    const echoRun = await measured(echo.pid, () => runLoad(echoTarget, { ...echoLoad, durationMs: DURATION_MS }));
    echoLoad.connections.destroy();
    progress(`measuring Coco for ${DURATION_MS / 1000} s`);
    const cocoRun = await measured(sandbox.nodePid(0), () => runLoad(coco, { ...cocoLoad, durationMs: DURATION_MS }));
    cocoLoad.connections.destroy();
    const echoResult = echoRun.result;
    const cocoResult = cocoRun.result;
    progress(`measuring time to Committed over ${COMMIT_SAMPLES} sequential writes`);
    const commit = await timeToCommit(coco);
    return [
      `### Service: logging app, ${CLIENTS} keep-alive HTTPS clients with client certificates`,
      '',
      '| server | requests/s | p50 ms | p99 ms | errors |',
      '| --- | --- | --- | --- | --- |',
      row('bare Node HTTPS echo (reference)', echoResult),
      row('Coco `POST /app/log/private` (write transactions)', cocoResult),
      '',
      `Ratio Coco / echo: **${(cocoResult.perSecond / echoResult.perSecond).toFixed(2)}**. Time from write to Committed (sequential, polled every 1 ms): p50 ${commit.p50.toFixed(1)} ms, p99 ${commit.p99.toFixed(1)} ms.`,
      '',
      'CPU during each measured run (from /proc, all threads of each process):',
      '',
      '| run | load generator, CPU per request | server, CPU per request | server, cores busy |',
      '| --- | --- | --- | --- |',
      cpuRow('echo server', echoRun),
      cpuRow('Coco node', cocoRun),
      '',
      `${DURATION_MS / 1000} s per run after ${WARMUP_MS / 1000} s warm-up on the same connections; load generator, node and reference share the machine's 2 cores; node ${process.version}; ${new Date().toISOString().slice(0, 10)}.`,
    ].join('\n');
  } finally {
    await sandbox.stop();
    echo.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
