// Runs a stopped sandbox's node 0 again as a real process under shell resource limits (`ulimit`
// options, e.g. `-n 512`), its log appended to out and err in its directory as the sandbox keeps it.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CocoClient } from '../../src/client/coco-client.js';
import { repoRoot } from './paths.js';
import type { SandboxProcess } from './sandbox-process.js';
import { until } from './until.js';

const READY_WAIT_MS = 30_000;

export interface LimitedNode {
  child: ChildProcess;
  /** A user0 client of the node. */
  client: CocoClient;
  /** The node directory's out or err, as written so far. */
  read(name: 'out' | 'err'): string;
  /** Resolves once the node answers GET /node/state. */
  ready(): Promise<unknown>;
}

/** Node 0 of `sandbox` (stopped with `keep`), started under `ulimit <option>` for each of `limits`. */
export function runLimitedNode(sandbox: SandboxProcess, limits: readonly string[]): LimitedNode {
  const dir = join(sandbox.workspace, 'sandbox_0');
  const ulimits = limits.map((limit) => `ulimit ${limit}; `).join('');
  const out = openSync(join(dir, 'out'), 'a');
  const err = openSync(join(dir, 'err'), 'a');
  const child = spawn('bash', ['-c', `${ulimits}exec "$0" "$@"`, process.execPath, join(repoRoot, 'bin', 'coco.js'), 'node', '--config', join(dir, 'config.json')], { cwd: dir, stdio: ['ignore', out, err] });
  closeSync(out);
  closeSync(err);
  const client = new CocoClient({ url: sandbox.nodeUrl(0), caCertPem: sandbox.pem('service_cert.pem'), certPem: sandbox.pem('user0_cert.pem'), keyPem: sandbox.pem('user0_privk.pem') });
  return {
    child,
    client,
    read: (name) => readFileSync(join(dir, name), 'utf8'),
    ready: () => until('the node serves', READY_WAIT_MS, async () => ((await client.request('GET', '/node/state')).status === 200 ? true : undefined)),
  };
}
