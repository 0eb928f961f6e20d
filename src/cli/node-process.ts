// Runs `coco node` as a child process and waits until it serves: the sandbox's nodes, and the
// end-to-end tests'. Stopping sends SIGTERM (a clean stop: last signature, ledger synced), then
// SIGKILL if the node has not exited in time.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CocoError } from '../errors.js';
import { messageOfLogLine } from '../node/buffered-log.js';
import { allocatorEnv } from './allocator.js';
import { OutputTail } from './output-tail.js';

export const PACKAGE_ROOT = resolve(fileURLToPath(new URL('../../../', import.meta.url)));
/**
 * A starting node that writes nothing for this long is taken for hung. Not a bound on the start
 * itself: a node resuming from a large snapshot loads it for a minute or more (1.5 million keys,
 * 206 MB: 40-60 s on a loaded 2-core machine), having said so first.
 */
const NODE_START_SILENCE_MS = 600_000;
export const NODE_STOP_TIMEOUT_MS = 15_000;

export interface NodeProcess {
  child: ChildProcess;
  /** `https://host:port` of the node's first RPC interface. */
  url: string;
  /** What the node printed: all of it until it served, then the last part (see OutputTail). */
  output(): string;
  stop(): Promise<number | null>;
}

/**
 * Starts a node and resolves once it serves. Once `signal` aborts, no node is started, and one still
 * starting is stopped (SIGTERM, then SIGKILL) and rejects with the signal's reason once it has exited.
 */
export async function spawnNode(
  configPath: string,
  cwd: string,
  onOutput: (chunk: Buffer, stream: 'out' | 'err') => void = () => undefined,
  signal?: AbortSignal,
): Promise<NodeProcess> {
  signal?.throwIfAborted();
  const child = spawn(process.execPath, [join(PACKAGE_ROOT, 'bin', 'coco.js'), 'node', '--config', configPath], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: allocatorEnv(),
  });
  const output = new OutputTail();
  child.stdout!.on('data', (chunk: Buffer) => {
    output.append(chunk.toString());
    onOutput(chunk, 'out');
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    output.append(chunk.toString());
    onOutput(chunk, 'err');
  });
  const url = await new Promise<string>((resolveUrl, reject) => {
    const silent = () => {
      // A node that never came up is not left running behind the error.
      child.kill('SIGKILL');
      reject(new CocoError('NodeStartFailed', `the node in ${cwd} wrote nothing for ${NODE_START_SILENCE_MS / 1000} s while starting, and was stopped; its output so far:\n${output.text}`));
    };
    let timer = setTimeout(silent, NODE_START_SILENCE_MS);
    const heard = () => {
      clearTimeout(timer);
      timer = setTimeout(silent, NODE_START_SILENCE_MS);
    };
    child.stdout!.on('data', heard);
    child.stderr!.on('data', heard);
    let killer: NodeJS.Timeout | undefined;
    const abort = () => {
      child.kill('SIGTERM');
      killer = setTimeout(() => child.kill('SIGKILL'), NODE_STOP_TIMEOUT_MS);
    };
    signal?.addEventListener('abort', abort, { once: true });
    const check = () => {
      const match = /listening on (https:\/\/[\d.:]+)/.exec(output.text);
      if (match && output.text.includes('coco node: ready')) {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        child.stdout!.off('data', heard);
        child.stderr!.off('data', heard);
        // Serving, it is stopped by its owner (stop()).
        signal?.removeEventListener('abort', abort);
        resolveUrl(match[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      clearTimeout(killer);
      if (signal?.aborted) return reject(signal.reason);
      // Its last line, without the log's time and level.
      const last = messageOfLogLine(output.text.trim().split('\n').at(-1) ?? '');
      reject(new CocoError('NodeStartFailed', `the node exited (${code}): ${last}`, { cause: reportedError(last) }));
    });
  });
  child.removeAllListeners('exit');
  output.bound();
  return {
    child,
    url,
    output: () => output.text,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), NODE_STOP_TIMEOUT_MS);
        await once(child, 'exit');
        clearTimeout(killer);
      }
      return child.exitCode;
    },
  };
}

/** The error a node's last line reports, as `coco` prints one (`coco: <message> [<code>]`); undefined for any other line. */
function reportedError(line: string): CocoError | undefined {
  const match = /^coco: (.*) \[(\w+)\]$/.exec(line);
  return match === null ? undefined : new CocoError(match[2]!, match[1]!);
}
