// Hardhat, the reference of the Ethereum benchmark: `hardhat` v2 installed by the benchmark on
// demand into a cache folder (never a project dependency), run as an Ethereum developer runs it:
// `hardhat node` in a project whose config is empty, so with every default (chain 31337, automine,
// its 20 accounts funded from the well-known mnemonic, logging of every call on). Plain HTTP.

import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ethers } from 'ethers';
import { freePort } from '../src/cli/free-port.js';
import { CocoError } from '../src/errors.js';
import { onInterrupt, stopProcessGroup } from './cleanup.js';
import { JsonRpcClient } from './json-rpc-client.js';
import { progress } from './measure.js';

const HOST = '127.0.0.1';
const PACKAGE_SPEC = 'hardhat@^2';
const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 10_000;
const POLL_MS = 200;
/** Hardhat's default accounts come from this mnemonic (its documented default), on the usual path. */
const DEFAULT_MNEMONIC = 'test test test test test test test test test test test junk';
const FIRST_ACCOUNT_PATH = "m/44'/60'/0'/0/0";

export type HardhatInstall = { dir: string; bin: string; version: string } | { skipped: string };

export interface HardhatNode {
  /** The JSON-RPC URL. */
  url: string;
  /** Where Hardhat writes its log (every call, as a developer sees it in the terminal). */
  logPath: string;
  stop(): Promise<void>;
}

/** The benchmarks' cache of reference systems: $COCO_BENCH_CACHE, else $XDG_CACHE_HOME/coco-bench, else ~/.cache/coco-bench. */
export function benchCacheDir(): string {
  return process.env.COCO_BENCH_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'coco-bench');
}

function installed(dir: string): { dir: string; bin: string; version: string } | undefined {
  const packageDir = join(dir, 'node_modules', 'hardhat');
  try {
    const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version?: string; bin?: Record<string, string> | string };
    const bin = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin?.hardhat;
    if (typeof manifest.version !== 'string' || !manifest.version.startsWith('2.') || bin === undefined) return undefined;
    return { dir, bin: join(packageDir, bin), version: manifest.version };
  } catch {
    return undefined;
  }
}

/** Finds Hardhat 2 in the cache, or installs it there with npm (once); says why not when it cannot. */
export function findOrInstallHardhat(): HardhatInstall {
  const dir = join(benchCacheDir(), 'hardhat-2');
  const found = installed(dir);
  if (found !== undefined) return found;
  progress(`Hardhat 2 is not in the cache: running npm install --prefix ${dir} ${PACKAGE_SPEC} (once; takes a minute)`);
  try {
    mkdirSync(dir, { recursive: true });
    // A package.json of its own, so that npm installs here and not in a project above.
    if (!existsSync(join(dir, 'package.json'))) writeFileSync(join(dir, 'package.json'), '{ "private": true, "description": "Hardhat for the Coco benchmarks" }\n');
  } catch (error) {
    return { skipped: `cannot create the cache folder ${dir}: ${(error as Error).message}` };
  }
  // npm's progress goes to stderr with ours; stdout carries only the results table.
  const npm = spawnSync('npm', ['install', '--prefix', dir, '--no-audit', '--no-fund', PACKAGE_SPEC], { stdio: ['ignore', 2, 2] });
  if (npm.error !== undefined) return { skipped: `npm did not run: ${npm.error.message}` };
  if (npm.status !== 0) return { skipped: `\`npm install --prefix ${dir} ${PACKAGE_SPEC}\` failed (exit ${npm.status ?? npm.signal}; see its output above)` };
  return installed(dir) ?? { skipped: `npm installed ${PACKAGE_SPEC} in ${dir}, but no Hardhat 2 is there` };
}

/** Hardhat's first default account, funded with 10,000 ether. */
export function hardhatFunder(): ethers.Wallet {
  return new ethers.Wallet(ethers.HDNodeWallet.fromPhrase(DEFAULT_MNEMONIC, undefined, FIRST_ACCOUNT_PATH).privateKey);
}

/**
 * Starts `hardhat node` on a free loopback port in `projectDir` (a new project: an empty config and
 * the cached installation as its node_modules) and waits until it answers JSON-RPC.
 */
export async function startHardhatNode(install: { dir: string; bin: string }, projectDir: string): Promise<HardhatNode> {
  mkdirSync(projectDir, { recursive: true });
  writeFileSync(join(projectDir, 'hardhat.config.cjs'), 'module.exports = {};\n');
  writeFileSync(join(projectDir, 'package.json'), '{ "private": true }\n');
  symlinkSync(join(install.dir, 'node_modules'), join(projectDir, 'node_modules'), 'dir');
  const port = await freePort(HOST);
  const logPath = join(projectDir, 'hardhat-node.log');
  const log = openSync(logPath, 'a');
  const child = spawn(process.execPath, [install.bin, 'node', '--port', String(port), '--hostname', HOST], {
    cwd: projectDir,
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, HARDHAT_DISABLE_TELEMETRY_PROMPT: 'true' },
  });
  closeSync(log);
  const exited = once(child, 'exit');
  const stop = onInterrupt(() => stopProcessGroup(child, exited, STOP_TIMEOUT_MS));
  const url = `http://${HOST}:${port}/`;
  const client = new JsonRpcClient({ url }, 1);
  try {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new CocoError('BenchFailed', `hardhat node exited (${child.exitCode ?? child.signalCode}): ${readFileSync(logPath, 'utf8').trim().split('\n').slice(-5).join('\n')}`);
      }
      if (await client.call('eth_chainId', []).then(() => true, () => false)) break;
      if (Date.now() > deadline) throw new CocoError('BenchFailed', `hardhat node did not answer within ${START_TIMEOUT_MS / 1000} s (log: ${logPath})`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    return { url, logPath, stop };
  } catch (error) {
    await stop();
    throw error;
  } finally {
    client.close();
  }
}
