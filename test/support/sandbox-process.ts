// Runs `coco sandbox` as a real process in a temporary workspace (port 0), waits until it has
// opened the service, and stops it (SIGTERM) at the end. Gives paths to the workspace's identities.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

export interface SandboxProcess {
  url: string;
  workspace: string;
  common: string;
  file(name: string): string;
  pem(name: string): string;
  /** `https://host:port` of node `i`'s client interface, from its configuration. */
  nodeUrl(i: number): string;
  child: ChildProcess;
  /** What the sandbox printed so far, stdout and stderr together. */
  output(): string;
  /** Stops the sandbox; removes its workspace unless `keep`. */
  stop(options?: { keep?: boolean }): Promise<void>;
}

const START_TIMEOUT_MS = 90_000;

/** The end of each node's error log, to say why a sandbox did not start. */
function nodeLogs(workspace: string): string {
  if (!existsSync(workspace)) return '';
  return readdirSync(workspace)
    .filter((name) => name.startsWith('sandbox_') && existsSync(join(workspace, name, 'err')))
    .map((name) => `\n--- ${name}/err (end):\n${readFileSync(join(workspace, name, 'err'), 'utf8').split('\n').slice(-15).join('\n')}`)
    .join('');
}

/** `coco sandbox` on `workspace`, in its own process group with the nodes it starts: however it ends, none of them outlives the test. */
function spawnSandbox(root: string, workspace: string, extraArgs: string[]): { child: ChildProcess; killGroup: () => void; output: () => string } {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'coco.js'), 'sandbox', '--port', '0', '--workspace', workspace, ...extraArgs], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const killGroup = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // Nothing of the group is left.
    }
  };
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  return { child, killGroup, output: () => output };
}

/**
 * Runs `coco sandbox` on the existing `workspace` until its output matches `at`, then kills it and
 * its nodes at once (SIGKILL to the group), as a crash of the machine would; resolves with what it printed.
 */
export async function crashSandbox(extraArgs: string[], workspace: string, at: RegExp): Promise<string> {
  const { child, killGroup, output } = spawnSandbox(join(workspace, '..'), workspace, extraArgs);
  const exited = once(child, 'exit');
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the sandbox printed nothing matching ${at} in time:\n${output()}${nodeLogs(workspace)}`)), START_TIMEOUT_MS);
    const check = () => {
      if (!at.test(output())) return;
      clearTimeout(timer);
      resolve();
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the sandbox exited with ${code} before printing ${at}:\n${output()}${nodeLogs(workspace)}`));
    });
  }).finally(killGroup);
  await exited;
  return output();
}

/** Starts a sandbox in a new temporary workspace, or restarts the one at `existingWorkspace`. */
export async function startSandbox(extraArgs: string[] = [], existingWorkspace?: string): Promise<SandboxProcess> {
  const root = existingWorkspace === undefined ? mkdtempSync(join(tmpdir(), 'coco-sandbox-')) : join(existingWorkspace, '..');
  const workspace = existingWorkspace ?? join(root, 'workspace');
  const { child, killGroup, output } = spawnSandbox(root, workspace, extraArgs);
  const opened = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup();
      reject(new Error(`the sandbox did not open in time:\n${output()}${nodeLogs(workspace)}`));
    }, START_TIMEOUT_MS);
    child.stdout!.on('data', () => {
      const match = /Coco sandbox is running: (https:\/\/[\d.:]+)/.exec(output());
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      killGroup();
      reject(new Error(`the sandbox exited with ${code}:\n${output()}${nodeLogs(workspace)}`));
    });
  });
  let url: string;
  try {
    url = await opened;
  } catch (error) {
    // The error already carries the output and the nodes' logs; a workspace made here goes with the sandbox.
    if (existingWorkspace === undefined) rmSync(root, { recursive: true, force: true });
    throw error;
  }
  child.removeAllListeners('exit');
  const common = join(workspace, 'sandbox_common');
  return {
    url,
    workspace,
    common,
    file: (name) => join(common, name),
    pem: (name) => readFileSync(join(common, name), 'utf8'),
    nodeUrl: (i) => {
      const config = JSON.parse(readFileSync(join(workspace, `sandbox_${i}`, 'config.json'), 'utf8')) as { network: { rpc_interfaces: Record<string, { bind_address: string }> } };
      return `https://${Object.values(config.network.rpc_interfaces)[0]!.bind_address}`;
    },
    child,
    output,
    async stop(options = {}) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(killGroup, 15_000);
        await once(child, 'exit');
        clearTimeout(killer);
      }
      // A node the sandbox could not stop (or one restarted by hand in its group) goes too.
      killGroup();
      if (!options.keep) rmSync(root, { recursive: true, force: true });
    },
  };
}
