// A real node under a file size limit (`ulimit -f`), the way a full disk looks to it: a ledger
// write that fails ends the node with one [error] line naming the write, the file and EFBIG, and
// exit code 1, no stack trace, and a restart without the limit serves what it committed; a log
// write that fails drops log lines, says so once on the other stream, and the node goes on serving.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CocoClient } from '../../src/client/coco-client.js';
import { waitForCommit } from '../../src/client/transactions.js';
import { exitOf } from '../support/child-exit.js';
import { runLimitedNode } from '../support/limited-node.js';
import { startSandbox, type SandboxProcess } from '../support/sandbox-process.js';

// Above what the ledger's open chunk holds after the sandbox's start and the restarts below (~160 KB
// with the logging sample's bundle, which genesis holds more than once), so that only the entry too
// large for it fails; below the 1 MiB a request body may have, so that entry reaches the ledger.
const LIMIT_KB = 512;

/** Runs the sandbox's node 0 again, under `ulimit -f limitKb` when given, its log appended to out and err in its directory. */
function runNode(sandbox: SandboxProcess, limitKb: number | undefined) {
  return runLimitedNode(sandbox, limitKb === undefined ? [] : [`-f ${limitKb}`]);
}

test('a node under a file size limit: a failed ledger write ends it with one error line, a failed log write does not', async (t) => {
  const sandbox = await startSandbox(['--nodes', '1']);
  t.after(() => sandbox.stop());
  const user = new CocoClient({ url: sandbox.url, caCertPem: sandbox.pem('service_cert.pem'), certPem: sandbox.pem('user0_cert.pem'), keyPem: sandbox.pem('user0_privk.pem') });
  await waitForCommit(user, (await user.request('POST', '/app/log/private', { body: { id: 1, msg: 'kept' } })).txId!);
  user.close();
  await sandbox.stop({ keep: true });
  const dir = join(sandbox.workspace, 'sandbox_0');
  for (const name of ['out', 'err']) writeFileSync(join(dir, name), '');
  // The handler copies a 512 KiB message: on a machine busy with other tests it may take longer than
  // the default cap of half the election timeout (250 ms), and the entry would never be written.
  const configPath = join(dir, 'config.json');
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as { consensus?: Record<string, unknown> };
  writeFileSync(configPath, JSON.stringify({ ...config, consensus: { ...config.consensus, election_timeout_ms: 10_000 } }, null, 2));

  await t.test('a ledger write past the limit', async () => {
    const node = runNode(sandbox, LIMIT_KB);
    t.after(() => node.child.kill('SIGKILL'));
    await node.ready();
    // An entry larger than the limit: its write fails with EFBIG.
    const answer = await node.client.request('POST', '/app/log/private', { body: { id: 2, msg: 'x'.repeat(LIMIT_KB * 1024 + 1) }, allowError: true }).then(
      (response) => `${response.status} ${response.text()}`,
      (error: Error) => error.message,
    );
    const exit = await exitOf(node.child, 'the node whose ledger write failed').catch((error: Error) => {
      throw new Error(`${error.message}; the oversized write was answered: ${answer.slice(0, 300)}`);
    });
    assert.equal(exit, 1);
    const err = node.read('err');
    const errors = err.split('\n').filter((line) => line.includes('[error]'));
    assert.equal(errors.length, 1, err);
    assert.match(errors[0]!, new RegExp(`stopped applying transactions: write of ${join(dir, 'ledger', 'ledger_')}\\d+ failed: EFBIG \\(file too large\\); fix the disk`));
    assert.doesNotMatch(err, /^\s+at /m, 'no stack trace');
    node.client.close();
  });

  await t.test('restarted without the limit, it serves what it committed', async () => {
    const node = runNode(sandbox, undefined);
    t.after(() => node.child.kill('SIGKILL'));
    await node.ready();
    assert.equal((await node.client.request('GET', '/app/log/private?id=1')).json<{ msg: string }>().msg, 'kept');
    node.child.kill('SIGTERM');
    assert.equal(await exitOf(node.child, 'the restarted node'), 0);
    node.client.close();
  });

  await t.test('a log write past the limit', async () => {
    // The log file is one line short of the limit: the next lines fail with EFBIG.
    writeFileSync(join(dir, 'out'), 'x'.repeat(LIMIT_KB * 1024 - 100));
    writeFileSync(join(dir, 'err'), '');
    const node = runNode(sandbox, LIMIT_KB);
    t.after(() => node.child.kill('SIGKILL'));
    await node.ready();
    for (let id = 10; id < 20; id++) assert.equal((await node.client.request('POST', '/app/log/private', { body: { id, msg: 'logged' } })).status, 200);
    assert.equal(node.child.exitCode, null, 'the node goes on');
    assert.match(node.read('err'), /\[error\] coco node: writing the log to stdout failed \(EFBIG\): its lines are dropped from now on/);
    assert.doesNotMatch(node.read('err'), /^\s+at /m, 'no stack trace');
    node.child.kill('SIGTERM');
    assert.equal(await exitOf(node.child, 'the node whose log failed'), 0);
    node.client.close();
  });
});
