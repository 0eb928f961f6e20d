// Starts `coco node` joining a running sandbox's service from a new directory, as an operator
// adding a node would, with its own free ports; collects what it prints.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../src/cli/free-port.js';
import { repoRoot } from './paths.js';
import type { TestContext } from 'node:test';
import { CocoClient, type CocoClientOptions } from '../../src/client/coco-client.js';
import { startSandbox, type SandboxProcess } from './sandbox-process.js';

export interface JoinerProcess {
  child: ChildProcess;
  dir: string;
  /** The URL of its first RPC interface. */
  url: string;
  /** The URL of each RPC interface, by name. */
  urls: Record<string, string>;
  output(): string;
}

export interface JoinerOptions {
  /** Enabled on each of its interfaces (none by default). */
  operatorFeatures?: string[];
  /** The certificate it trusts: the sandbox's by default. */
  serviceCertificateFile?: string;
  /** Its RPC interfaces: the sandbox's name by default. */
  interfaceNames?: string[];
  /** Where it asks to join: the sandbox's URL by default. */
  targetRpcAddress?: string;
  /** Its `ethereum` section (none by default). */
  ethereum?: Record<string, unknown>;
}

/** A sandbox for tests that add nodes to it by hand: what they push to `children` is killed with it. */
export interface JoinersSandbox {
  sandbox: SandboxProcess;
  children: ChildProcess[];
  /** user0's identity and the service certificate. */
  identity: Omit<CocoClientOptions, 'url'>;
  /** user0's client of the sandbox's first node. */
  client: CocoClient;
}

export async function startJoinersSandbox(t: Pick<TestContext, 'after'>, args: string[]): Promise<JoinersSandbox> {
  const sandbox = await startSandbox(args);
  const children: ChildProcess[] = [];
  t.after(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await sandbox.stop();
  });
  const identity = { caCertPem: sandbox.pem('service_cert.pem'), certPem: sandbox.pem('user0_cert.pem'), keyPem: sandbox.pem('user0_privk.pem') };
  const client = new CocoClient({ url: sandbox.url, ...identity });
  t.after(() => client.close());
  return { sandbox, children, identity, client };
}

/** Writes the joiner's configuration in `<workspace>/<name>` (once) and starts it. */
export async function startJoiner(sandbox: SandboxProcess, name: string, options: JoinerOptions = {}): Promise<JoinerProcess> {
  const { operatorFeatures = [], serviceCertificateFile = sandbox.file('service_cert.pem'), interfaceNames = ['primary_rpc_interface'], targetRpcAddress = new URL(sandbox.url).host, ethereum } = options;
  const dir = join(sandbox.workspace, name);
  const configPath = join(dir, 'config.json');
  mkdirSync(dir, { recursive: true });
  const urls: Record<string, string> = {};
  const rpcInterfaces: Record<string, unknown> = {};
  for (const interfaceName of interfaceNames) {
    const rpcPort = await freePort('127.0.0.1');
    urls[interfaceName] = `https://127.0.0.1:${rpcPort}`;
    rpcInterfaces[interfaceName] = { bind_address: `127.0.0.1:${rpcPort}`, enabled_operator_features: operatorFeatures };
  }
  const nodeToNodePort = await freePort('127.0.0.1');
  writeFileSync(configPath, JSON.stringify({
    network: { rpc_interfaces: rpcInterfaces, node_to_node_interface: { bind_address: `127.0.0.1:${nodeToNodePort}` } },
    command: { type: 'Join', service_certificate_file: serviceCertificateFile, join: { target_rpc_address: targetRpcAddress, retry_timeout_ms: 200 } },
    ...(ethereum !== undefined && { ethereum }),
  }));
  return { ...runNode(dir), url: urls[interfaceNames[0]!]!, urls };
}

/** Runs `coco node` with the configuration in `dir` (a restart of a node started before). */
export function runNode(dir: string): { child: ChildProcess; dir: string; output(): string } {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'coco.js'), 'node', '--config', join(dir, 'config.json')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  return { child, dir, output: () => output };
}

export { validFromNow } from '../../src/client/recover-service.js';
