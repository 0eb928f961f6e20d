// Restarting a service from its ledger: a second sandbox on the same workspace continues the
// service (same service identity, same nodes, a new view) with everything committed before readable, old
// receipts still valid; a tampered ledger is refused.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CocoClient } from '../../src/client/coco-client.js';
import { getReceipt, waitForCommit } from '../../src/client/transactions.js';
import { verifyCoseReceipt } from '../../src/ledger/cose-receipt.js';
import { verifyReceipt } from '../../src/ledger/receipt.js';
import { formatTxId, type TxId } from '../../src/ledger/tx-id.js';
import { runCoco } from '../support/run-cli.js';
import { startSandbox, type SandboxProcess } from '../support/sandbox-process.js';

function userClient(sandbox: SandboxProcess): CocoClient {
  return new CocoClient({ url: sandbox.url, caCertPem: sandbox.pem('service_cert.pem'), certPem: sandbox.pem('user0_cert.pem'), keyPem: sandbox.pem('user0_privk.pem') });
}

test('a restarted sandbox continues its service with every committed write, and old receipts still verify', async () => {
  const first = await startSandbox(['--nodes', '1']);
  let written: TxId;
  const workspace = first.workspace;
  const serviceCert = first.pem('service_cert.pem');
  try {
    const user = userClient(first);
    const response = await user.request('POST', '/app/log/private', { body: { id: 1, msg: 'written before the restart' } });
    written = response.txId!;
    await waitForCommit(user, written, { timeoutMs: 10_000 });
    user.close();
  } finally {
    await first.stop({ keep: true });
  }

  const second = await startSandbox([], workspace);
  try {
    assert.equal(second.pem('service_cert.pem'), serviceCert, 'the service keeps its identity');
    const user = userClient(second);
    assert.deepEqual((await user.request('GET', '/app/log/private?id=1')).json(), { msg: 'written before the restart' });
    const status = (await user.request('GET', `/app/tx?transaction_id=${formatTxId(written!)}`)).json<{ status: string }>();
    assert.equal(status.status, 'Committed');
    const receipt = await getReceipt(user, written!, { timeoutMs: 10_000 });
    assert.equal(verifyReceipt(receipt, serviceCert, { at: new Date() }).txId, formatTxId(written!));
    const cose = await user.request('GET', `/app/receipt?transaction_id=${formatTxId(written!)}`, { headers: { accept: 'application/cose' } });
    assert.equal(verifyCoseReceipt(cose.body, serviceCert).txId, formatTxId(written!));

    const after = await user.request('POST', '/app/log/private', { body: { id: 2, msg: 'written after the restart' } });
    assert.ok(after.txId!.view > written!.view, 'the restarted node writes in a new view');
    await waitForCommit(user, after.txId!, { timeoutMs: 10_000 });
    // A seqno the old view never reached cannot be committed in it any more.
    const lost = (await user.request('GET', `/app/tx?transaction_id=${written!.view}.${after.txId!.seqno}`)).json<{ status: string }>();
    assert.equal(lost.status, 'Invalid');
    const nodes = (await user.request('GET', '/node/network/nodes')).json<{ nodes: { status: string }[] }>().nodes;
    assert.deepEqual(nodes.map((n) => n.status), ['Trusted'], 'the restarted node keeps its identity');
    // Another sandbox on the workspace while this one runs is refused at once, and disturbs nothing.
    const third = runCoco(['sandbox', '--port', '0', '--workspace', workspace]);
    assert.equal(third.status, 1, third.stderr);
    assert.match(third.stderr, /is in use: a node still runs from .*sandbox_0 \(pid \d+\).* \[WorkspaceInUse\]/);
    // It names the sandbox to stop, not the node: killing the node alone would leave the sandbox running.
    assert.match(third.stderr, new RegExp(`stop the sandbox that runs them first \\(Ctrl-C where it runs, or kill ${second.child.pid}\\)`));
    const undisturbed = await user.request('POST', '/app/log/private', { body: { id: 3, msg: 'written beside a refused sandbox' } });
    assert.equal(undisturbed.txId!.view, after.txId!.view, 'no election');
    user.close();
  } finally {
    await second.stop({ keep: true });
  }
  const verified = runCoco(['ledger', 'verify', join(workspace, 'sandbox_0', 'ledger'), '--service-cert', join(workspace, 'sandbox_common', 'service_cert.pem')]);
  assert.equal(verified.status, 0, verified.stderr);

  // Tamper with a committed chunk: the next restart refuses, naming the problem.
  const ledger = join(workspace, 'sandbox_0', 'ledger');
  const chunk = join(ledger, readdirSync(ledger).sort()[0]!);
  const bytes = readFileSync(chunk);
  bytes[bytes.indexOf('public:ccf.gov.members.info') + 5]! ^= 1;
  writeFileSync(chunk, bytes);
  await assert.rejects(startSandbox([], workspace), /LedgerVerificationFailed|does not match|altered/);
  rmSync(join(workspace, '..'), { recursive: true, force: true });
});
