// A node refuses to start while the node its pid file names runs: a second start of a running node's
// configuration used to load its state, fail to bind its ports, and then delete the running node's
// pid file, after which the sandbox's Ctrl-C and its WorkspaceInUse check no longer saw that node.
// A pid file naming a process that is no Coco node (a pid reused, a stale file) does not stop a start.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runningNodePid } from '../../src/cli/node-pid-file.js';
import { spawnNode } from '../../src/cli/node-process.js';
import { exitOf } from '../support/child-exit.js';
import { runNode } from '../support/joiner-process.js';
import { call, writeNodeConfig } from '../support/node-process.js';
import { testPort } from '../support/test-ports.js';
import { until } from '../support/until.js';
import { repoRoot } from '../support/paths.js';

const EXIT_WAIT_MS = 60_000;

test("a second start of a running node's configuration is refused at once in one line, and the running node keeps its pid file", { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'coco-node-pid-'));
  const pidFile = join(dir, 'node.pid');
  const configPath = await writeNodeConfig(dir, {
    network: { rpc_interfaces: { primary: { bind_address: `127.0.0.1:${await testPort()}` } }, node_to_node_interface: { bind_address: `127.0.0.1:${await testPort()}` } },
    output_files: { pid_file: 'node.pid' },
  });
  // A stale pid file naming a live process that is no Coco node (this test's): the node starts.
  writeFileSync(pidFile, `${process.pid}\n`);
  const first = await spawnNode(configPath, dir);
  try {
    const pid = first.child.pid!;
    assert.equal(readFileSync(pidFile, 'utf8'), `${pid}\n`);
    assert.equal(runningNodePid(dir), pid);

    const second = runNode(dir);
    const code = await exitOf(second.child, 'the second start', EXIT_WAIT_MS);
    const lines = second.output().split('\n').filter((line) => line !== '');
    assert.equal(code, 1, lines.join('\n'));
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.ok(
      lines[0]!.endsWith(
        `[error] coco: this node already runs: ${pidFile} (output_files.pid_file) names process ${pid}, a coco node with this pid file; ` +
          `a second process on its files would fight it for its ports, ledger and identity: stop that one first (kill ${pid}), then start this one [NodeAlreadyRunning]`,
      ),
      lines[0],
    );

    // The running node is untouched: its pid file names it, and it serves.
    assert.equal(readFileSync(pidFile, 'utf8'), `${pid}\n`);
    assert.equal(runningNodePid(dir), pid);
    const serviceCertPem = readFileSync(join(dir, 'service_cert.pem'), 'utf8');
    assert.equal((await call(first.url, serviceCertPem, 'GET', '/node/state')).status, 200);
  } finally {
    await first.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a node whose configuration names the ledger directory of a running node is refused before it touches a file, pid file or not (QA: a second recovering node renamed the first one\'s files)', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'coco-node-ledger-'));
  const secondDir = mkdtempSync(join(tmpdir(), 'coco-node-ledger-second-'));
  const bindings = async () => ({ rpc_interfaces: { primary: { bind_address: `127.0.0.1:${await testPort()}` } }, node_to_node_interface: { bind_address: `127.0.0.1:${await testPort()}` } });
  const configPath = await writeNodeConfig(dir, { network: await bindings() });
  const first = await spawnNode(configPath, dir);
  try {
    const ledger = join(dir, 'ledger');
    const files = readdirSync(ledger).sort();
    await writeNodeConfig(secondDir, { network: await bindings(), ledger: { directory: ledger } });
    const second = runNode(secondDir);
    const code = await exitOf(second.child, 'the second node', EXIT_WAIT_MS);
    const lines = second.output().split('\n').filter((line) => line !== '');
    assert.equal(code, 1, lines.join('\n'));
    assert.equal(lines.length, 1, lines.join('\n'));
    const pid = first.child.pid!;
    assert.ok(lines[0]!.endsWith(`[error] coco: process ${pid}, a coco node, already runs on the ledger directory ${ledger} (its configuration names it); a second node on its files would fight it for them: stop that one first (kill ${pid}), or give this node a ledger.directory of its own [NodeAlreadyRunning]`), lines[0]);
    const after = readdirSync(ledger);
    assert.ok(files.every((file) => after.includes(file)) && !after.some((file) => file.endsWith('.ignored')), `the running node's ledger is untouched: ${after.join(', ')}`);
    // Named through a symbolic link, it is the same directory (QA: that one rewrote the running node's sealed secrets).
    const link = join(secondDir, 'link');
    symlinkSync(dir, link);
    await writeNodeConfig(secondDir, { network: await bindings(), ledger: { directory: join(link, 'ledger') } });
    const throughLink = runNode(secondDir);
    assert.equal(await exitOf(throughLink.child, 'the node naming the ledger through a link', EXIT_WAIT_MS), 1, throughLink.output());
    assert.match(throughLink.output(), /already runs on the ledger directory .*link\/ledger .*\[NodeAlreadyRunning\]/);
    // A node of its own ledger started under a wrapper (timeout) is not refused for the wrapper's command line, which names it too (QA).
    const ownDir = mkdtempSync(join(tmpdir(), 'coco-node-ledger-own-'));
    try {
      await writeNodeConfig(ownDir, { network: await bindings() });
      const wrapped = spawn('timeout', ['120', process.execPath, join(repoRoot, 'bin', 'coco.js'), 'node', '--config', 'config.json'], { cwd: ownDir, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      wrapped.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      wrapped.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      try {
        await until('the wrapped node to serve', EXIT_WAIT_MS, async () => (output.includes('coco node: ready') ? true : output.includes('NodeAlreadyRunning') ? assert.fail(output) : undefined));
      } finally {
        wrapped.kill('SIGTERM');
        await exitOf(wrapped, 'the wrapped node', EXIT_WAIT_MS).catch(() => undefined);
      }
    } finally {
      rmSync(ownDir, { recursive: true, force: true });
    }
    const serviceCertPem = readFileSync(join(dir, 'service_cert.pem'), 'utf8');
    assert.equal((await call(first.url, serviceCertPem, 'GET', '/node/state')).status, 200);
  } finally {
    await first.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(secondDir, { recursive: true, force: true });
  }
});
