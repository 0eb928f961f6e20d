// A real node restarted where it cannot write its sealed secrets (a file size limit, `ulimit -f`,
// the way a full disk looks to it): it ends with exit code 1 after one [error] line naming the
// write, the file and the errno, no stack trace; its sealed_secrets.json is as it was, with no
// temporary file beside it, and a restart without the limit serves again.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CocoClient } from '../../src/client/coco-client.js';
import { exitOf } from '../support/child-exit.js';
import { repoRoot } from '../support/paths.js';
import { startSandbox, type SandboxProcess } from '../support/sandbox-process.js';
import { until } from '../support/until.js';

const WAIT_MS = 30_000;
/** Below what sealed_secrets.json holds (keys and certificates: ~4 KB), above nothing else a restart writes before it seals. */
const LIMIT_KB = 2;

/** Runs the sandbox's node 0 again, under `ulimit -f limitKb` when given; its log is piped (no file size limit applies to it). */
function runNode(sandbox: SandboxProcess, limitKb: number | undefined) {
  const dir = join(sandbox.workspace, 'sandbox_0');
  const limit = limitKb === undefined ? '' : `ulimit -f ${limitKb}; `;
  const child = spawn('bash', ['-c', `${limit}exec "$0" "$@"`, process.execPath, join(repoRoot, 'bin', 'coco.js'), 'node', '--config', join(dir, 'config.json')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (data: Buffer) => (err += data.toString()));
  child.stdout!.resume();
  return { child, err: () => err };
}

test('a node restarted where it cannot write its sealed secrets ends with one error line naming the write, and keeps the old file', { timeout: 180_000 }, async (t) => {
  const sandbox = await startSandbox(['--nodes', '1']);
  t.after(() => sandbox.stop());
  await sandbox.stop({ keep: true });
  const dir = join(sandbox.workspace, 'sandbox_0');
  const sealed = join(dir, 'sealed_secrets.json');
  const before = readFileSync(sealed);
  assert.ok(before.length > LIMIT_KB * 1024, `the sealed file (${before.length} bytes) is larger than the limit`);

  const limited = runNode(sandbox, LIMIT_KB);
  t.after(() => limited.child.kill('SIGKILL'));
  assert.equal(await exitOf(limited.child, 'the node that could not seal its secrets'), 1);
  const err = limited.err();
  const errors = err.split('\n').filter((line) => line.includes('[error]'));
  assert.equal(errors.length, 1, err);
  assert.match(errors[0]!, new RegExp(`coco: write of ${sealed}\\.tmp failed: EFBIG \\(file too large\\); .*\\[LedgerWriteFailed\\]$`));
  assert.doesNotMatch(err, /^\s+at /m, 'no stack trace');
  assert.deepEqual(readFileSync(sealed), before, 'the sealed secrets are as they were');
  assert.equal(existsSync(`${sealed}.tmp`), false, 'no temporary file is left');

  const node = runNode(sandbox, undefined);
  t.after(() => node.child.kill('SIGKILL'));
  const client = new CocoClient({ url: sandbox.nodeUrl(0), caCertPem: sandbox.pem('service_cert.pem'), certPem: sandbox.pem('user0_cert.pem'), keyPem: sandbox.pem('user0_privk.pem') });
  t.after(() => client.close());
  await until('the node serves', WAIT_MS, async () => ((await client.request('GET', '/node/state')).status === 200 ? true : undefined));
});
