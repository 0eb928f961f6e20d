// The node a pid file (output_files.pid_file) names, if it still runs: a node refuses to start
// while the node its pid file names runs (a second process on one node's files would fight it for
// its ports, ledger and identity), a sandbox refuses a workspace whose nodes still run (a second
// network on the same identities and ports would fight the first), and on Ctrl-C stops nodes
// restarted by hand as well as its own. A process removes a pid file only while it holds its pid.
// Nor does a node start on the ledger directory of a running node, whatever their pid files.

import { readdirSync, readFileSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CocoError } from '../errors.js';
import { parseJsonText } from '../json-text.js';
import { parseNodeConfig } from '../node/node-config.js';

const STOP_POLL_MS = 100;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readPid(pidFile: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The configuration file a `coco node` process was started with (`--config FILE` or
 * `--config=FILE`), resolved where it runs: a Node.js executable running the coco script with the
 * `node` command, not a process that wraps one (`timeout`, `time`, `strace`: QA).
 */
function configFileOf(pid: number): string | undefined {
  const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  if (!/^node(js)?$/.test(basename(args[0] ?? '')) && args[0] !== process.execPath) return undefined;
  // Node's own options come before the script.
  const script = args.findIndex((arg, i) => i > 0 && !arg.startsWith('-'));
  if (script < 0 || !/^coco(\.js)?$/.test(basename(args[script]!)) || args[script + 1] !== 'node') return undefined;
  const at = args.findIndex((arg, i) => i > script + 1 && (arg === '--config' || arg.startsWith('--config=')));
  if (at < 0) return undefined;
  const file = args[at] === '--config' ? args[at + 1] : args[at]!.slice('--config='.length);
  return file === undefined ? undefined : resolve(readlinkSync(`/proc/${pid}/cwd`), file);
}

/** The pid file the node configured by `configFile` writes, as the node resolves it. */
function pidFileOf(configFile: string): string | undefined {
  return parseNodeConfig(parseJsonText(readFileSync(configFile, 'utf8')), configFile).pidFile;
}

/**
 * The pid in `pidFile` if that process is still a Coco node that writes this pid file: on Linux its
 * command line names its configuration, which names the file (a pid can be reused, by another node
 * too); elsewhere, that it is alive. Never this process.
 */
export function runningNodeWithPidFile(pidFile: string): number | undefined {
  const pid = readPid(pidFile);
  if (pid === undefined || pid === process.pid || !isAlive(pid)) return undefined;
  try {
    const configFile = configFileOf(pid);
    return configFile !== undefined && pidFileOf(configFile) === resolve(pidFile) ? pid : undefined;
  } catch {
    return process.platform === 'linux' ? undefined : pid;
  }
}

/** The `coco sandbox` process that started node `pid`, when it is still the node's parent (Linux: read from /proc). */
export function sandboxOfNode(pid: number): number | undefined {
  try {
    // "pid (command) state ppid ...": the command may hold spaces and parentheses, so read after its last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return readFileSync(`/proc/${parent}/cmdline`, 'utf8').split('\0').includes('sandbox') ? parent : undefined;
  } catch {
    return undefined;
  }
}

/** The node a sandbox node directory `dir` runs (its `node.pid`), if it still runs. */
export function runningNodePid(dir: string): number | undefined {
  return runningNodeWithPidFile(join(dir, 'node.pid'));
}

/** Refuses to start a second node on the files of the one `pidFile` names while that one runs. */
export function refuseIfNodeRunning(pidFile: string): void {
  const pid = runningNodeWithPidFile(pidFile);
  if (pid === undefined) return;
  throw new CocoError(
    'NodeAlreadyRunning',
    `this node already runs: ${pidFile} (output_files.pid_file) names process ${pid}, a coco node with this pid file; ` +
      `a second process on its files would fight it for its ports, ledger and identity: stop that one first (kill ${pid}), then start this one`,
  );
}

/** The ledger directory the node configured by `configFile` writes, as the node resolves it. */
function ledgerDirectoryOf(configFile: string): string {
  return parseNodeConfig(parseJsonText(readFileSync(configFile, 'utf8')), configFile).ledgerDirectory;
}

/**
 * Another running Coco node whose configuration names `ledgerDirectory` as its own (Linux: found
 * through /proc; elsewhere none is found). Checked before anything is written: a second node on
 * the files of one with no pid file, or another, would rename or rewrite them under it.
 */
export function runningNodeOnLedger(ledgerDirectory: string): number | undefined {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  // Compared as the file system resolves them: a symbolic link is the same directory (QA).
  const wanted = physicalPath(ledgerDirectory);
  for (const name of pids) {
    const pid = Number(name);
    if (pid === process.pid) continue;
    try {
      const configFile = configFileOf(pid);
      if (configFile !== undefined && physicalPath(ledgerDirectoryOf(configFile)) === wanted) return pid;
    } catch {
      // A process that ended meanwhile, another user's, or a configuration that no longer reads.
    }
  }
  return undefined;
}

/** `path` with its symbolic links resolved; as given (absolute) while it does not exist. */
function physicalPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

export function refuseIfLedgerInUse(ledgerDirectory: string): void {
  const pid = runningNodeOnLedger(ledgerDirectory);
  if (pid === undefined) return;
  throw new CocoError(
    'NodeAlreadyRunning',
    `process ${pid}, a coco node, already runs on the ledger directory ${ledgerDirectory} (its configuration names it); ` +
      `a second node on its files would fight it for them: stop that one first (kill ${pid}), or give this node a ledger.directory of its own`,
  );
}

/** Removes `pidFile` if it still names this process: one another process wrote since is theirs. */
export function removeOwnPidFile(pidFile: string): void {
  if (readPid(pidFile) === process.pid) rmSync(pidFile, { force: true });
}

/** Sends SIGTERM (a clean stop), then SIGKILL if the process has not ended after `timeoutMs`. */
export async function stopProcess(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  process.kill(pid, 'SIGTERM');
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      return;
    }
    await sleep(STOP_POLL_MS);
  }
}
