// Under an address-space limit (`ulimit -v`) V8 cannot reserve the ~10 GB each WebAssembly memory
// takes, long before memory runs out: coco ends with one line saying so and what to do (a cgroup
// memory limit instead), not a stack trace, whether the limit stops a node as its modules load (the
// Keccak hasher) or as it starts (its interpreters).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { exitOf } from '../support/child-exit.js';
import { runLimitedNode } from '../support/limited-node.js';
import { repoRoot } from '../support/paths.js';
import { startSandbox } from '../support/sandbox-process.js';
import { testPortPair } from '../support/test-ports.js';

/** Too little for one WebAssembly memory's reservation: the modules do not load. */
const BELOW_ONE_MEMORY_KB = 8_000_000;
/** Room for the modules' memories, not for the interpreters a node makes as it starts (~96 GB in all). */
const BELOW_A_NODE_START_KB = 50_000_000;
const CAUSE_AND_REMEDY =
  /reserves about 10 GB of virtual address space, so an address-space limit \(ulimit -v, RLIMIT_AS\) stops the node long before its memory runs out: remove it and bound the node's memory with a cgroup \(systemd's MemoryMax=, docker --memory\)/;

/** `coco ARGS` under `ulimit -v BELOW_ONE_MEMORY_KB`. */
function underLimit(args: string[]) {
  return spawnSync('bash', ['-c', `ulimit -v ${BELOW_ONE_MEMORY_KB}; exec "$0" "$@"`, process.execPath, join(repoRoot, 'bin', 'coco.js'), ...args], { encoding: 'utf8' });
}

test('a node whose modules cannot load under ulimit -v says why in one line; commands that load none work', () => {
  const run = underLimit(['node', '--config', join(repoRoot, 'no-such-config.json')]);
  assert.equal(run.status, 1, run.stderr);
  assert.equal(run.stdout, '');
  const lines = run.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, run.stderr);
  assert.match(lines[0]!, /\[error\] coco: WebAssembly\.\w+\(\): .*[Mm]emory.* \(this process's address space is limited to 8192000000 bytes\); each WebAssembly memory/);
  assert.match(lines[0]!, CAUSE_AND_REMEDY);
  // The node's modules (the Keccak hasher, QuickJS) load with the node command only.
  const version = underLimit(['--version']);
  assert.equal(version.status, 0, version.stderr);
  assert.match(version.stdout, /^coco \d+\.\d+\.\d+\n$/);
});

test('a node that cannot make its interpreters under ulimit -v ends with one error line naming the limit and what to do', { timeout: 180_000 }, async (t) => {
  const sandbox = await startSandbox(['--nodes', '1', '--port', String(await testPortPair())]);
  t.after(() => sandbox.stop());
  await sandbox.stop({ keep: true });
  const dir = join(sandbox.workspace, 'sandbox_0');
  for (const name of ['out', 'err']) writeFileSync(join(dir, name), '');

  const node = runLimitedNode(sandbox, [`-v ${BELOW_A_NODE_START_KB}`]);
  t.after(() => node.child.kill('SIGKILL'));
  assert.equal(await exitOf(node.child, 'the node under the limit'), 1);
  node.client.close();
  const err = node.read('err');
  assert.doesNotMatch(err, /^\s+at /m, 'no stack trace');
  const errors = err.split('\n').filter((line) => line.includes('[error]'));
  assert.equal(errors.length, 1, err);
  assert.match(errors[0]!, /\[error\] coco: WebAssembly\.Memory\(\): could not allocate memory \(this process's address space is limited to 51200000000 bytes\); /);
  assert.match(errors[0]!, CAUSE_AND_REMEDY);
});
