// `coco sandbox` (and `npm start`): a local service in one command, laid out like CCF's sandbox:
// `workspace/sandbox_common/` with the service certificate and the member and user identities,
// `workspace/sandbox_0/` with the node's configuration, ledger, logs and pid. It starts the node,
// opens the service through the governance API as member0 would, prints how to use it, and runs
// until Ctrl-C, when it stops the node cleanly.

import type { ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadAppBundle } from '../client/app-bundle-files.js';
import { openService } from '../client/open-service.js';
import { CocoError } from '../errors.js';
import { parseChunkName } from '../ledger/chunk-file.js';
import { writeIdentity } from './keygen.js';
import { PACKAGE_ROOT, spawnNode } from './node-process.js';

export const SANDBOX_USAGE = `Usage: coco sandbox [options]

Starts a local Coco service and opens it, like CCF's sandbox.sh.
  --port P              client port of the first node (default 8000)
  --workspace DIR       where keys, ledger and logs go (default ./workspace)
  --members N           initial members, each with an encryption key (default 1)
  --users N             users to add (default 1)
  --app DIR|FILE        application bundle to deploy: bundle.json or a directory with app.json and
                        src/ (default: the logging sample)
  --constitution FILE   constitution file; repeat to concatenate several (default: Coco's)
  --nodes N             number of nodes (only 1 until the network arrives)
Stop it with Ctrl-C.
`;

const DEFAULT_CONSTITUTION = ['actions.js', 'validate.js', 'resolve.js', 'apply.js'].map((f) => join(PACKAGE_ROOT, 'constitution', 'default', f));
const DEFAULT_APP = join(PACKAGE_ROOT, 'samples', 'logging', 'dist', 'bundle.json');

export interface SandboxOptions {
  port: number;
  workspace: string;
  members: number;
  users: number;
  app: string;
  constitution: string[];
}

function count(value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new CocoError('UsageError', `--${name} takes a whole number from ${min} to ${max}`);
  return n;
}

export function parseSandboxArgs(args: string[]): SandboxOptions | 'help' {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string' },
      workspace: { type: 'string' },
      members: { type: 'string' },
      users: { type: 'string' },
      app: { type: 'string' },
      constitution: { type: 'string', multiple: true },
      nodes: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  if (count(values.nodes, 'nodes', 1, 1, 1) !== 1) throw new CocoError('UsageError', 'only one node for now');
  return {
    port: count(values.port, 'port', 8000, 0, 65535),
    workspace: resolve(values.workspace ?? 'workspace'),
    members: count(values.members, 'members', 1, 1, 16),
    users: count(values.users, 'users', 1, 0, 64),
    app: resolve(values.app ?? DEFAULT_APP),
    constitution: (values.constitution ?? DEFAULT_CONSTITUTION).map((f) => resolve(f)),
  };
}

function ensureIdentity(dir: string, name: string, encryptionKey: boolean): { certPem: string; keyPem: string } {
  if (!existsSync(join(dir, `${name}_cert.pem`))) writeIdentity({ name, curve: 'P-384', encryptionKey, dir });
  return { certPem: readFileSync(join(dir, `${name}_cert.pem`), 'utf8'), keyPem: readFileSync(join(dir, `${name}_privk.pem`), 'utf8') };
}

export interface RunningSandbox {
  url: string;
  workspace: string;
  common: string;
  nodeDir: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Creates the workspace, starts node 0 and opens the service; `step` reports progress. */
export async function startSandbox(options: SandboxOptions, step: (text: string) => void): Promise<RunningSandbox> {
  const common = join(options.workspace, 'sandbox_common');
  const nodeDir = join(options.workspace, 'sandbox_0');
  const ledgerDir = join(nodeDir, 'ledger');
  const configPath = join(nodeDir, 'config.json');
  if (existsSync(ledgerDir) && readdirSync(ledgerDir).some((name) => parseChunkName(name) !== undefined)) {
    // An earlier sandbox: restart its service from the ledger, with its identities and config.
    if (!existsSync(configPath)) throw new CocoError('SandboxExists', `${options.workspace} holds a ledger but no ${configPath}; remove the workspace to start afresh`);
    step('restarting the service from its ledger');
    return runNode(options, common, nodeDir, configPath, async () => undefined);
  }
  mkdirSync(common, { recursive: true });
  mkdirSync(nodeDir, { recursive: true });
  step('creating identities');
  const members = Array.from({ length: options.members }, (_, i) => ensureIdentity(common, `member${i}`, true));
  const users = Array.from({ length: options.users }, (_, i) => ensureIdentity(common, `user${i}`, false));
  const app = loadAppBundle(options.app);
  const config = {
    network: { rpc_interfaces: { primary_rpc_interface: { bind_address: `127.0.0.1:${options.port}` } } },
    ledger: { directory: 'ledger' },
    output_files: { pid_file: 'node.pid' },
    command: {
      type: 'Start',
      service_certificate_file: join(common, 'service_cert.pem'),
      start: {
        members: members.map((_, i) => ({ certificate_file: join(common, `member${i}_cert.pem`), encryption_public_key_file: join(common, `member${i}_enc_pubk.pem`) })),
        constitution_files: options.constitution,
      },
    },
  };
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  return runNode(options, common, nodeDir, configPath, (url) =>
    openService({ url, serviceCertPem: readFileSync(join(common, 'service_cert.pem'), 'utf8'), members, users, app, onProgress: step }),
  );
}

/** Starts node 0 from its configuration, then runs `prepare` (opening a new service). */
async function runNode(options: SandboxOptions, common: string, nodeDir: string, configPath: string, prepare: (url: string) => Promise<void>): Promise<RunningSandbox> {
  const out = createWriteStream(join(nodeDir, 'out'), { flags: 'a' });
  const err = createWriteStream(join(nodeDir, 'err'), { flags: 'a' });
  const node = await spawnNode(configPath, nodeDir, (chunk, stream) => (stream === 'out' ? out : err).write(chunk));
  const { child, url } = node;
  const stop = async () => {
    await node.stop();
  };
  try {
    await prepare(url);
  } catch (error) {
    await stop();
    throw error;
  }
  // Where `coco gov` and `coco app` find the service by default.
  writeFileSync(join(common, 'service_url'), `${url}\n`);
  return { url, workspace: options.workspace, common, nodeDir, child, stop };
}

export async function runSandbox(args: string[]): Promise<number> {
  const options = parseSandboxArgs(args);
  if (options === 'help') {
    process.stdout.write(SANDBOX_USAGE);
    return 0;
  }
  const step = (text: string) => process.stderr.write(`coco sandbox: ${text}\n`);
  const sandbox = await startSandbox(options, step);
  const { url, common, nodeDir } = sandbox;
  const cert = (name: string) => join(common, name);
  console.log(`
Coco sandbox is running: ${url}
  workspace:          ${options.workspace}
  service cert:       ${cert('service_cert.pem')}
  node logs:          ${join(nodeDir, 'out')}, ${join(nodeDir, 'err')}

Write and read a message as user0:
  curl ${url}/app/log/private --cacert ${cert('service_cert.pem')} --cert ${cert('user0_cert.pem')} --key ${cert('user0_privk.pem')} -H "Content-Type: application/json" --data-binary '{"id": 42, "msg": "hello"}'
  curl "${url}/app/log/private?id=42" --cacert ${cert('service_cert.pem')} --cert ${cert('user0_cert.pem')} --key ${cert('user0_privk.pem')}

Press Ctrl-C to stop.`);
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    sandbox.child.once('exit', done);
  });
  step('stopping');
  await sandbox.stop();
  return 0;
}
