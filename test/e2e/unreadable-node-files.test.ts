// A real node restarted on a latest snapshot or an open ledger chunk it cannot read (here a
// directory in the file's place, which root cannot read either) refuses to start: exit code 1
// after one [error] line naming the file, the errno and what to do, no stack trace. The file is
// not taken for a damaged one: nothing is set aside, and once it is readable again the node starts.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CocoClient } from '../../src/client/coco-client.js';
import { waitForCommit } from '../../src/client/transactions.js';
import { parseChunkName } from '../../src/ledger/chunk-file.js';
import { exitOf } from '../support/child-exit.js';
import { repoRoot } from '../support/paths.js';
import { startSandbox, type SandboxProcess } from '../support/sandbox-process.js';
import { until } from '../support/until.js';

const WAIT_MS = 30_000;
const SNAPSHOT_TX_INTERVAL = 10;

/** Runs the sandbox's node 0 again; its log is piped. */
function runNode(sandbox: SandboxProcess) {
  const dir = join(sandbox.workspace, 'sandbox_0');
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'coco.js'), 'node', '--config', join(dir, 'config.json')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (data: Buffer) => (err += data.toString()));
  child.stdout.resume();
  return { child, err: () => err };
}

/** Puts something else in the place of `path` while `body` runs (`put` makes it), then puts the file back. */
async function withReplacementOf(path: string, put: (path: string) => void, body: () => Promise<void>): Promise<void> {
  renameSync(path, `${path}.moved`);
  put(path);
  try {
    await body();
  } finally {
    rmSync(path, { recursive: true });
    renameSync(`${path}.moved`, path);
  }
}

test('a node restarted on a snapshot or ledger chunk it cannot read refuses to start with one error line naming it, and sets nothing aside', { timeout: 240_000 }, async (t) => {
  const sandbox = await startSandbox(['--nodes', '1', '--snapshot-tx-interval', String(SNAPSHOT_TX_INTERVAL)]);
  t.after(() => sandbox.stop());
  const dir = join(sandbox.workspace, 'sandbox_0');
  const user = new CocoClient({ url: sandbox.url, caCertPem: sandbox.pem('service_cert.pem'), certPem: sandbox.pem('user0_cert.pem'), keyPem: sandbox.pem('user0_privk.pem') });
  const write = async (id: number) => waitForCommit(user, (await user.request('POST', '/app/log/private', { body: { id, msg: 'kept' } })).txId!);
  const snapshots = join(dir, 'snapshots');
  for (let id = 1; id <= SNAPSHOT_TX_INTERVAL; id++) await write(id);
  await until('a committed snapshot', WAIT_MS, async () => (readdirSync(snapshots).some((name) => name.endsWith('.committed')) ? true : undefined));
  // The chunk ends at the snapshot: one more write opens the next.
  await write(0);
  user.close();
  await sandbox.stop({ keep: true });

  const latestSnapshot = readdirSync(snapshots).filter((name) => name.endsWith('.committed')).sort((a, b) => Number(b.split('_')[1]) - Number(a.split('_')[1]))[0]!;
  const openChunk = readdirSync(join(dir, 'ledger')).find((name) => parseChunkName(name)?.last === undefined);
  assert.ok(openChunk !== undefined, 'the ledger has an open chunk');
  const directory = (path: string) => mkdirSync(path);
  // A link to nowhere: listed as a snapshot, its size and content unreadable.
  const danglingLink = (path: string) => symlinkSync(join(dir, 'nowhere'), path);
  const unreadable = [
    { what: 'snapshot', path: join(snapshots, latestSnapshot), put: directory, errno: 'EISDIR (illegal operation on a directory)' },
    { what: 'snapshot', path: join(snapshots, latestSnapshot), put: danglingLink, errno: 'ENOENT (no such file or directory)' },
    { what: 'ledger chunk', path: join(dir, 'ledger', openChunk), put: directory, errno: 'EISDIR (illegal operation on a directory)' },
  ];
  for (const { what, path, put, errno } of unreadable) {
    await withReplacementOf(path, put, async () => {
      const node = runNode(sandbox);
      t.after(() => node.child.kill('SIGKILL'));
      assert.equal(await exitOf(node.child, `the node with an unreadable ${what}`), 1);
      const err = node.err();
      const errors = err.split('\n').filter((line) => line.includes('[error]'));
      assert.equal(errors.length, 1, err);
      assert.ok(errors[0]!.includes(`coco: cannot read ${what} ${path}: ${errno}; make it a file the node's user can read`), errors[0]);
      assert.match(errors[0]!, /\[FileUnreadable\]$/);
      assert.doesNotMatch(err, /^\s+at /m, 'no stack trace');
      assert.equal(existsSync(`${path}.ignored`), false, `the ${what} is not set aside`);
    });
  }

  const node = runNode(sandbox);
  t.after(() => node.child.kill('SIGKILL'));
  const client = new CocoClient({ url: sandbox.nodeUrl(0), caCertPem: sandbox.pem('service_cert.pem'), certPem: sandbox.pem('user0_cert.pem'), keyPem: sandbox.pem('user0_privk.pem') });
  t.after(() => client.close());
  await until('the node serves', WAIT_MS, async () => ((await client.request('GET', '/node/state')).status === 200 ? true : undefined));
  assert.doesNotMatch(node.err(), /\[error\]/, 'no error once it can read its files');
});
