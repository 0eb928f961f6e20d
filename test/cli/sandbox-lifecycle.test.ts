// How `coco sandbox` begins and ends with real processes: a restart that cannot start every node
// stops those that did and exits 1 with the node's reason; a sandbox whose own nodes have all died
// runs on until Ctrl-C, then stops the nodes restarted by hand as its README says; a workspace
// whose first start did not open the service is refused, not restarted.

import assert from 'node:assert/strict';
import { execSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runningNodePid } from '../../src/cli/node-pid-file.js';
import { LOG_LINE_PREFIX } from '../../src/node/buffered-log.js';
import { runCoco } from '../support/run-cli.js';
import { repoRoot } from '../support/paths.js';
import { startSandbox } from '../support/sandbox-process.js';
import { testPortPair } from '../support/test-ports.js';
import { until } from '../support/until.js';

const NODE_WAIT_MS = 60_000;

test('a restarted sandbox whose node cannot start stops the nodes that did, says why in one line and exits 1', async () => {
  const first = await startSandbox(['--nodes', '2']);
  await first.stop({ keep: true });
  const dirs = [0, 1].map((i) => join(first.workspace, `sandbox_${i}`));
  rmSync(join(dirs[1]!, 'sealed_secrets.json'));
  try {
    // runCoco's timeout kills a sandbox that hangs: no exit status then.
    const restarted = runCoco(['sandbox', '--port', '0', '--workspace', first.workspace, '--nodes', '2', '--members', '3', '--snapshot-tx-interval', '77']);
    assert.equal(restarted.status, 1, restarted.stderr);
    // The flags a restart does not apply are named; those the workspace agrees with are not.
    assert.match(restarted.stderr, /^coco sandbox: warning: --members, --snapshot-tx-interval ignored: \S+ already holds a network, restarted as it was created/m);
    assert.match(restarted.stderr.trim().split('\n').at(-1)!, /^coco: the node exited \(1\): coco: .*sealed_secrets\.json.* is missing.* \[NodeStartFailed\]$/, 'the node\'s last line, without its time and level');
    assert.deepEqual(dirs.map((dir) => runningNodePid(dir)), [undefined, undefined], 'no node left running');
  } finally {
    for (const pid of dirs.flatMap((dir) => runningNodePid(dir) ?? [])) process.kill(pid, 'SIGKILL');
    rmSync(join(first.workspace, '..'), { recursive: true, force: true });
  }
});

test('once every node it started has died, the sandbox runs on, and Ctrl-C stops the node restarted by hand', async () => {
  const sandbox = await startSandbox(['--nodes', '1']);
  const dir = join(sandbox.workspace, 'sandbox_0');
  let restartedPid: number | undefined;
  try {
    process.kill(runningNodePid(dir)!, 'SIGKILL');
    const command = await until('the sandbox to report the killed node', NODE_WAIT_MS, async () => /node 0 exited \(SIGKILL\); .*Restart it with: (.*) \(its log goes on in out and err there\)/.exec(sandbox.output())?.[1]);
    // The printed command itself, as an operator pastes it: the node's log goes on in its files.
    const logged = readFileSync(join(dir, 'out'), 'utf8').length;
    execSync(command, { shell: '/bin/sh', stdio: 'ignore' });
    await until('the node restarted by hand to serve', NODE_WAIT_MS, async () => (readFileSync(join(dir, 'out'), 'utf8').slice(logged).includes('coco node: ready') ? true : undefined));
    restartedPid = runningNodePid(dir);
    assert.ok(restartedPid !== undefined);
    await sandbox.stop({ keep: true });
    assert.equal(sandbox.child.exitCode, 0, sandbox.output());
    assert.match(sandbox.output(), /coco sandbox: stopped\n$/);
    await until('the node restarted by hand to stop with the sandbox', NODE_WAIT_MS, async () => (runningNodePid(dir) === undefined ? true : undefined));
    assert.match(readFileSync(join(dir, 'out'), 'utf8').slice(logged), /coco node: stopped\n$/, 'a clean stop');
    // Every line of the node's logs, from its start to its stop, begins with its UTC time and level.
    for (const file of ['out', 'err']) {
      for (const line of readFileSync(join(dir, file), 'utf8').split('\n').filter((text) => text !== '')) {
        assert.match(line, LOG_LINE_PREFIX, `${file}: ${line}`);
        assert.ok(!Number.isNaN(Date.parse(line.split(' ')[0]!)), `${file}: ${line}`);
      }
    }
  } finally {
    if (restartedPid !== undefined && runningNodePid(dir) !== undefined) process.kill(restartedPid, 'SIGKILL');
    await sandbox.stop();
  }
});

/** Whether a process of group `pgid` (the sandbox and every node it spawned) is left. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

// Each point is a line the sandbox prints as it starts; Ctrl-C follows it at once. A node still
// starting has no node.pid yet: the sandbox must stop it as its child, and start no other.
const START_UP_POINTS = ['creating identities', 'starting node 0 (a new service)', 'starting node 1 (joining)', 'acknowledges the state digest', 'proposal: set_user'];

test('Ctrl-C at any point of the start stops every node started or starting; no process of the sandbox is left', async () => {
  for (const point of START_UP_POINTS) {
    const root = mkdtempSync(join(tmpdir(), 'coco-sandbox-'));
    const workspace = join(root, 'workspace');
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'coco.js'), 'sandbox', '--port', '0', '--workspace', workspace, '--nodes', '2'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    let interrupted = false;
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
      // One Ctrl-C: a second one, as in a terminal, ends the sandbox at once.
      if (output.includes(point) && !interrupted) interrupted = child.kill('SIGINT');
    });
    try {
      const exited = await Promise.race([once(child, 'exit'), new Promise((resolve) => setTimeout(resolve, NODE_WAIT_MS, ['still running']))]);
      assert.deepEqual(exited, [130, null], `${point}: ${output}`);
      assert.match(output, /coco sandbox: interrupted: stopping the nodes started so far\n/, point);
      assert.doesNotMatch(output, /Coco sandbox is running/, point);
      assert.doesNotMatch(output.slice(output.indexOf('interrupted')), /starting node/, `${point}: no node started after Ctrl-C`);
      assert.equal(groupAlive(child.pid!), false, `${point}: a process of the sandbox is left:\n${output}`);
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Nothing of the group is left.
      }
      rmSync(root, { recursive: true, force: true });
    }
  }
});

test('a first start that fails once node 0 has a ledger says to remove the workspace; the next start refuses it in one line', async () => {
  const root = mkdtempSync(join(tmpdir(), 'coco-sandbox-'));
  const workspace = join(root, 'workspace');
  const app = join(root, 'app');
  mkdirSync(join(app, 'src'), { recursive: true });
  writeFileSync(join(app, 'app.json'), JSON.stringify({ endpoints: { '/x': { get: { js_module: 'large.js', js_function: 'x', forwarding_required: 'sometimes', authn_policies: ['user_cert'], mode: 'readonly' } } } }));
  // A sound app (the sandbox checks its endpoints and modules before anything starts), too large for the node's body limit.
  writeFileSync(join(app, 'src', 'large.js'), `// ${'x'.repeat(128 * 1024)}\nexport function x() { return {}; }\n`);
  const dir = join(workspace, 'sandbox_0');
  try {
    const first = runCoco(['sandbox', '--port', '0', '--workspace', workspace, '--nodes', '1', '--app', app, '--max-http-body-size', '65536']);
    assert.equal(first.status, 1, first.stderr);
    // It also says how to start again: with a body limit above the one that refused the app.
    const unfinished = `remove ${workspace} and start again with --max-http-body-size BYTES above 65536: its first start did not finish`;
    const failed = first.stderr.trim().split('\n').at(-1)!;
    assert.ok(failed.startsWith(`coco: ${unfinished} (`), failed);
    assert.match(failed, /RequestBodyTooLarge/, 'the reason the service did not open');
    assert.equal(runningNodePid(dir), undefined, 'no node left running');

    const again = runCoco(['sandbox', '--port', '0', '--workspace', workspace, '--nodes', '1']);
    assert.equal(again.status, 1, again.stderr);
    assert.doesNotMatch(again.stdout, /Coco sandbox is running/);
    const refused = again.stderr.trim().split('\n');
    assert.equal(refused.length, 1, again.stderr);
    assert.ok(refused[0]!.startsWith(`coco: remove ${workspace} and start again`) && refused[0]!.includes('its first start did not finish (') && refused[0]!.endsWith('[WorkspaceUnfinished]'), refused[0]);
    assert.match(refused[0]!, /RequestBodyTooLarge/, 'the first start\'s reason');
    assert.equal(runningNodePid(dir), undefined, 'no node started');
  } finally {
    const pid = runningNodePid(dir);
    if (pid !== undefined) process.kill(pid, 'SIGKILL');
    rmSync(root, { recursive: true, force: true });
  }
});

test('a first start whose node-to-node port another process holds fails in one line and leaves a workspace the next start opens', { timeout: 150_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'coco-sandbox-'));
  const workspace = join(root, 'workspace');
  const port = await testPortPair();
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(port + 1, '127.0.0.1', resolve));
  try {
    const first = runCoco(['sandbox', '--port', String(port), '--workspace', workspace, '--nodes', '1']);
    assert.equal(first.status, 1, first.stderr);
    const failed = first.stderr.trim().split('\n').at(-1)!;
    assert.match(failed, new RegExp(`cannot listen for other nodes on 127\\.0\\.0\\.1:${port + 1} .*EADDRINUSE.*\\[ChannelListenFailed\\]`));
    assert.equal(runningNodePid(join(workspace, 'sandbox_0')), undefined, 'no node left running');

    const again = await startSandbox(['--nodes', '1', '--port', String(await testPortPair())], workspace);
    await again.stop({ keep: true });
  } finally {
    holder.close();
    rmSync(root, { recursive: true, force: true });
  }
});

test('a --workspace that cannot be a directory is refused in one line that names it and the reason', () => {
  const root = mkdtempSync(join(tmpdir(), 'coco-sandbox-'));
  try {
    writeFileSync(join(root, 'file'), '');
    symlinkSync(join(root, 'nowhere'), join(root, 'dangling'));
    const cases: [string, string][] = [
      [join(root, 'file'), 'not a directory'],
      [join(root, 'file', 'workspace'), 'not a directory'],
      [join(root, 'dangling'), `it is a symbolic link to ${join(root, 'nowhere')}, which does not exist`],
    ];
    for (const [workspace, reason] of cases) {
      const result = runCoco(['sandbox', '--port', '0', '--workspace', workspace]);
      assert.equal(result.status, 1, result.stderr);
      assert.equal(result.stderr, `coco: cannot create workspace ${workspace}: ${reason}; pass another --workspace [WriteFailed]\n`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
