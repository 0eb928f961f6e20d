// The Coco side of the service, network and Ethereum benchmarks: `coco sandbox` exactly as `npm start`
// runs it (the logging sample app, the funded Ethereum development accounts), in a new workspace on
// free loopback ports, timed from launch to its "running" banner; the logging app's request body;
// user0 as the load target of any node; where the primary is. The sandbox runs in its own process
// group, so stopping it ends every node it started even when it failed half-way.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../src/cli/node-process.js';
import { CocoClient } from '../src/client/coco-client.js';
import { CocoError } from '../src/errors.js';
import { onInterrupt, stopProcessGroup } from './cleanup.js';
import type { LoadTarget } from './load.js';
import { progress } from './measure.js';

const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 30_000;
const PRIMARY_TIMEOUT_MS = 10_000;

export interface CocoSandbox {
  /** Node 0's client URL. */
  url: string;
  /** The workspace's `sandbox_common` folder (certificates, keys, `ethereum_accounts.json`). */
  common: string;
  /** From launch to the banner, and the start-up time the sandbox reports itself. */
  startup: { wallMs: number; reportedMs: number };
  serviceCertPem: string;
  user0: { certPem: string; keyPem: string };
  /** user0 calling the node at `url` (default: node 0). */
  target(url?: string): LoadTarget;
  /** The primary's node ID and client URL, once there is one. */
  primary(): Promise<{ id: string; url: string }>;
  /** The process ID of node `index` (0: the first node), from its `node.pid`. */
  nodePid(index: number): number;
  /** Stops the sandbox (SIGTERM: it stops its nodes cleanly), then kills whatever is left of its group. */
  stop(): Promise<void>;
}

/** The body of `POST /app/log/private` for message `i`. */
export const logBody = (i: number): string => JSON.stringify({ id: i, msg: `benchmark message number ${i}` });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startCocoSandbox(workspace: string, nodes: number): Promise<CocoSandbox> {
  const launchedMs = performance.now();
  const args = [join(PACKAGE_ROOT, 'bin', 'coco.js'), 'sandbox', '--port', '0', '--workspace', workspace, '--nodes', String(nodes)];
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = once(child, 'exit');
  // SIGTERM stops the nodes cleanly; the group's SIGKILL takes any node the sandbox could not stop.
  const stop = onInterrupt(() => stopProcessGroup(child, exited, STOP_TIMEOUT_MS));
  try {
    let out = '';
    let err = '';
    const { url, startup } = await new Promise<{ url: string; startup: CocoSandbox['startup'] }>((resolve, reject) => {
      const fail = (why: string) => {
        clearTimeout(timer);
        reject(new CocoError('BenchFailed', `coco sandbox did not start: ${why}`));
      };
      const timer = setTimeout(() => fail(`not running after ${START_TIMEOUT_MS / 1000} s`), START_TIMEOUT_MS);
      child.stderr!.on('data', (d: Buffer) => {
        const text = d.toString();
        err += text;
        for (const line of text.split('\n')) if (line.startsWith('coco sandbox: ')) progress(line);
        // The CLI's one-line fatal error; it may not exit while a half-started node lingers.
        const fatal = /^coco: (.*)$/m.exec(err);
        if (fatal) fail(fatal[1]!);
      });
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const banner = /Coco sandbox is running: (\S+)[\s\S]*started in:\s+([\d.]+) s/.exec(out);
        if (banner) {
          clearTimeout(timer);
          resolve({ url: banner[1]!, startup: { wallMs: performance.now() - launchedMs, reportedMs: Number(banner[2]) * 1000 } });
        }
      });
      child.once('exit', (code, signal) => fail(`it exited (${signal ?? code}): ${err.trim().split('\n').at(-1) ?? ''}`));
    });
    const common = join(workspace, 'sandbox_common');
    const serviceCertPem = readFileSync(join(common, 'service_cert.pem'), 'utf8');
    const user0 = { certPem: readFileSync(join(common, 'user0_cert.pem'), 'utf8'), keyPem: readFileSync(join(common, 'user0_privk.pem'), 'utf8') };
    return {
      url,
      common,
      startup,
      serviceCertPem,
      user0,
      target: (at = url) => ({ url: at, caPem: serviceCertPem, ...user0 }),
      primary: () => findPrimary(url, serviceCertPem),
      nodePid: (index) => Number(readFileSync(join(workspace, `sandbox_${index}`, 'node.pid'), 'utf8')),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The primary's client URL, from `/node/network` (primary_id) and `/node/network/nodes/{id}`. */
async function findPrimary(url: string, serviceCertPem: string): Promise<{ id: string; url: string }> {
  const client = new CocoClient({ url, caCertPem: serviceCertPem });
  try {
    const deadline = Date.now() + PRIMARY_TIMEOUT_MS;
    for (;;) {
      const { primary_id: id } = (await client.request('GET', '/node/network')).json<{ primary_id: string | null }>();
      if (id !== null) {
        const { rpc_interfaces: interfaces } = (await client.request('GET', `/node/network/nodes/${id}`)).json<{ rpc_interfaces: Record<string, { published_address: string }> }>();
        const address = Object.values(interfaces)[0]?.published_address;
        if (address === undefined) throw new CocoError('BenchFailed', `the primary ${id} publishes no RPC interface`);
        return { id, url: `https://${address}` };
      }
      if (Date.now() > deadline) throw new CocoError('BenchFailed', `no primary after ${PRIMARY_TIMEOUT_MS / 1000} s`);
      await sleep(100);
    }
  } finally {
    client.close();
  }
}
