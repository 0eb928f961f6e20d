// `coco sandbox --recover`, CCF's sandbox.sh --recover: a workspace whose service is taken as lost
// is recovered from its longest committed ledger by a new node 0, opened with the members' shares,
// and the other nodes join it anew; every record comes back, readable from every node. A recovery
// the machine's crash interrupts is finished by running --recover again, and refused by a plain start.

import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crashSandbox, startSandbox, type SandboxProcess } from '../support/sandbox-process.js';
import { call } from '../support/node-process.js';
import { runCoco } from '../support/run-cli.js';

const TIMEOUT_MS = 300_000;
const RECORDS = 2;

/** A 2-node, 2-member sandbox that wrote RECORDS private records, stopped as if lost for good (its workspace kept). */
async function lostService(t: { after(fn: () => Promise<void>): void }): Promise<{ first: SandboxProcess; user: { cert: string; key: string }; previousCertPem: string }> {
  const first = await startSandbox(['--nodes', '2', '--members', '2']);
  t.after(() => first.stop());
  const user = { cert: first.pem('user0_cert.pem'), key: first.pem('user0_privk.pem') };
  const previousCertPem = first.pem('service_cert.pem');
  for (let id = 1; id <= RECORDS; id++) {
    const written = await call(first.url, previousCertPem, 'POST', '/app/log/private', { ...user, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, msg: `kept ${id}` }) });
    assert.equal(written.status, 200, written.body);
  }
  await first.stop({ keep: true });
  return { first, user, previousCertPem };
}

/** Every record is read back from both nodes of the recovered sandbox. */
async function assertRecordsOnBothNodes(recovered: SandboxProcess, certPem: string, user: { cert: string; key: string }): Promise<void> {
  for (const i of [0, 1]) {
    for (let id = 1; id <= RECORDS; id++) {
      const read = await call(recovered.nodeUrl(i), certPem, 'GET', `/app/log/private?id=${id}`, user);
      assert.equal(read.status, 200, `node ${i}: ${read.body}`);
      assert.equal(read.json().msg, `kept ${id}`);
    }
  }
}

test('sandbox --recover recovers the workspace service under a new identity, its records back on every node', { timeout: TIMEOUT_MS }, async (t) => {
  const { first, user, previousCertPem } = await lostService(t);

  const recovered = await startSandbox(['--recover', '--members', '3'], first.workspace);
  t.after(() => recovered.stop());
  const output = recovered.output();
  assert.match(output, /warning: --members ignored: --recover starts the recovered service's nodes with the settings and ports of the lost ones/);
  assert.match(output, /the previous service's nodes moved to .*previous_service_1\n/);
  assert.match(output, /recovering the ledger of node \d \(committed to seqno \d+\)\n/);
  assert.match(output, /2\/2 recovery shares successfully submitted; End of recovery procedure initiated/);
  assert.match(output, /service status: {5}Open\n/);
  const certPem = recovered.pem('service_cert.pem');
  assert.notEqual(certPem, previousCertPem);
  assert.equal(readFileSync(join(first.workspace, 'previous_service_1', 'service_cert.pem'), 'utf8'), previousCertPem, 'the previous certificate is kept with its nodes');
  assert.deepEqual(readdirSync(join(first.workspace, 'previous_service_1')).sort(), ['sandbox_0', 'sandbox_1', 'service_cert.pem']);
  await assertRecordsOnBothNodes(recovered, certPem, user);
  const info = (await call(recovered.url, certPem, 'GET', '/gov/service/info?api-version=2024-07-01')).json();
  assert.equal(info.status, 'Open');
  assert.equal(info.recoveryCount, 1);
  const trusted = (await call(recovered.url, certPem, 'GET', '/node/network/nodes')).json().nodes.filter((n: { status: string }) => n.status === 'Trusted');
  assert.equal(trusted.length, 2, 'node 0 and the node that joined it');
});

test('sandbox --recover on a workspace with no ledger says there is nothing to recover, and makes no workspace that does not exist', { timeout: 60_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'coco-recover-'));
  try {
    const missing = runCoco(['sandbox', '--recover', '--port', '0', '--workspace', join(root, 'mistyped')]);
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /--recover recovers the service whose ledgers the workspace holds, but .*mistyped does not exist: is --workspace the directory of the sandbox to recover\? \[LedgerMissing\]/);
    assert.ok(!existsSync(join(root, 'mistyped')), 'no workspace is made (QA: an empty sandbox_common was left)');
    mkdirSync(join(root, 'workspace'));
    const result = runCoco(['sandbox', '--recover', '--port', '0', '--workspace', join(root, 'workspace')]);
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /--recover recovers the service whose ledgers .* holds, but .* holds none: nothing to recover \[LedgerMissing\]/);
    assert.ok(!existsSync(join(root, 'workspace', 'sandbox_0')), 'no node directory is made');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('sandbox --recover killed as the nodes move, as members submit shares and as they trust a joiner is finished by --recover; a plain start refuses it meanwhile', { timeout: TIMEOUT_MS }, async (t) => {
  const { first, user, previousCertPem } = await lostService(t);
  const workspace = first.workspace;

  await crashSandbox(['--recover'], workspace, /the previous service's nodes moved to/);
  const plain = runCoco(['sandbox', '--port', '0', '--workspace', workspace]);
  assert.notEqual(plain.status, 0);
  assert.match(plain.stderr, /holds a recovery that did not finish \(the previous service's nodes are in .*previous_service_1\): run coco sandbox --recover \(npm start -- --recover\) on it again to finish it \[SandboxRecoveryUnfinished\]/);
  // Killed again once the recovering node overwrote the workspace's certificate and a member submitted its share.
  const second = await crashSandbox(['--recover'], workspace, /1\/2 recovery shares successfully submitted/);
  assert.match(second, /finishing the recovery begun earlier on this workspace/);
  assert.notEqual(first.pem('service_cert.pem'), previousCertPem);
  // Killed again as members trust the joiner: resumed, a service whose trusted joiner never sealed
  // its secrets could elect no primary; the attempt is set aside and the recovery starts again.
  await crashSandbox(['--recover'], workspace, /proposal: transition_node_to_trusted/);

  const recovered = await startSandbox(['--recover'], workspace);
  t.after(() => recovered.stop());
  assert.match(recovered.output(), /finishing the recovery begun earlier on this workspace/);
  const certPem = recovered.pem('service_cert.pem');
  assert.notEqual(certPem, previousCertPem);
  assert.deepEqual(readdirSync(workspace).filter((name) => name.startsWith('previous_service_')), ['previous_service_1'], 'one recovery, not one per attempt');
  // The attempts the last two kills interrupted are set aside there too (the first may have made none).
  const kept = readdirSync(join(workspace, 'previous_service_1')).sort();
  assert.deepEqual(kept.filter((name) => !name.startsWith('interrupted_')), ['sandbox_0', 'sandbox_1', 'service_cert.pem']);
  assert.ok(kept.filter((name) => name.startsWith('interrupted_')).length >= 2, kept.join(', '));
  assert.match(recovered.output(), /the interrupted attempt's nodes set aside in .*previous_service_1\/interrupted_\d: recovering again from the previous service's ledgers/);
  assert.equal(readFileSync(join(workspace, 'previous_service_1', 'service_cert.pem'), 'utf8'), previousCertPem);
  assert.ok(!existsSync(join(workspace, 'recovery.json')), 'the recovery is finished');
  await assertRecordsOnBothNodes(recovered, certPem, user);
  const info = (await call(recovered.url, certPem, 'GET', '/gov/service/info?api-version=2024-07-01')).json();
  assert.equal(info.recoveryCount, 1, 'the interrupted attempts do not count');
});
