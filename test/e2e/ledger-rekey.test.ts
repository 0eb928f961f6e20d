// Ledger secret rotation with real processes, as members would do it: `trigger_ledger_rekey` on a
// 3-node sandbox, writes before and after read on every node (and historically from the ledger),
// a node that joins afterwards reads both eras and receives the next rekey with its own key,
// removing an active recovery member rekeys again, and a backup killed with SIGKILL restarts from
// its ledger and reads what the latest secret sealed.

import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CocoClient } from '../../src/client/coco-client.js';
import { GovernanceClient } from '../../src/client/governance-client.js';
import { passProposal } from '../../src/client/open-service.js';
import { waitForCommit } from '../../src/client/transactions.js';
import { fromUtf8 } from '../../src/crypto/bytes.js';
import { decodeChunk } from '../../src/ledger/chunk-file.js';
import { formatTxId, type TxId } from '../../src/ledger/tx-id.js';
import { listChunkFiles } from '../../src/node/ledger-directory.js';
import { ENCRYPTED_LEDGER_SECRETS_MAP } from '../../src/node/ledger-rekey.js';
import { runNode, startJoiner, validFromNow } from '../support/joiner-process.js';
import { startSandbox, type SandboxProcess } from '../support/sandbox-process.js';
import { until } from '../support/until.js';

const WAIT_MS = 30_000;

function userClient(sandbox: SandboxProcess, url: string): CocoClient {
  return new CocoClient({ url, caCertPem: sandbox.pem('service_cert.pem'), certPem: sandbox.pem('user0_cert.pem'), keyPem: sandbox.pem('user0_privk.pem'), requestTimeoutMs: 5_000 });
}

/** The node IDs each rekey in a node's ledger sent a secret to, in ledger order. */
function rekeysIn(ledgerDirectory: string): string[][] {
  return listChunkFiles(ledgerDirectory)
    .flatMap((file) => decodeChunk(new Uint8Array(readFileSync(file.path)), file.name).entries)
    .flatMap((entry) => entry.publicMaps.filter((map) => map.name === ENCRYPTED_LEDGER_SECRETS_MAP))
    .map((map) => Object.keys(JSON.parse(fromUtf8(map.writes[0]!.value)) as object).sort());
}

async function historicalRead(client: CocoClient, id: number, at: TxId): Promise<unknown> {
  const headers = { 'x-ms-ccf-transaction-id': formatTxId(at) };
  const response = await until(`the historical state at ${formatTxId(at)}`, WAIT_MS, async () => {
    const answer = await client.request('GET', `/app/log/private/historical?id=${id}`, { headers, allowError: true });
    return answer.status === 202 ? undefined : answer;
  });
  assert.equal(response.status, 200, response.text());
  return response.json();
}

test('members rotate the ledger secret: every node, a later joiner and a restarted backup read what each secret sealed', async (t) => {
  const sandbox = await startSandbox(['--nodes', '3', '--members', '2']);
  const children: ChildProcess[] = [];
  t.after(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await sandbox.stop();
  });
  const client = userClient(sandbox, sandbox.url);
  t.after(() => client.close());
  const members = [0, 1].map((i) => new GovernanceClient(client, { member: { certPem: sandbox.pem(`member${i}_cert.pem`), keyPem: sandbox.pem(`member${i}_privk.pem`) } }));
  const nodeIds = async () => (await client.request('GET', '/node/network/nodes')).json<{ nodes: { node_id: string; status: string }[] }>().nodes
    .filter((n) => n.status === 'Trusted').map((n) => n.node_id).sort();

  const first = (await client.request('POST', '/app/log/private', { body: { id: 1, msg: 'under the first secret' } })).txId!;
  const rekey = await passProposal(client, members, [{ name: 'trigger_ledger_rekey', args: {} }]);
  assert.equal(rekey.proposalState, 'Accepted', JSON.stringify(rekey));
  const second = (await client.request('POST', '/app/log/private', { body: { id: 2, msg: 'under the second secret' } })).txId!;
  await waitForCommit(client, second, { timeoutMs: WAIT_MS });
  const ledger0 = join(sandbox.workspace, 'sandbox_0', 'ledger');
  assert.deepEqual(rekeysIn(ledger0), [await nodeIds()], 'one rekey, sent to the three Trusted nodes');

  for (const i of [0, 1, 2]) {
    const node = userClient(sandbox, sandbox.nodeUrl(i));
    await waitForCommit(node, second, { timeoutMs: WAIT_MS });
    assert.deepEqual((await node.request('GET', '/app/log/private?id=1')).json(), { msg: 'under the first secret' }, `node ${i}`);
    assert.deepEqual((await node.request('GET', '/app/log/private?id=2')).json(), { msg: 'under the second secret' }, `node ${i}`);
    node.close();
  }
  // The ledger files before the rekey are still read with the secret that sealed them.
  assert.deepEqual(await historicalRead(client, 1, first), { msg: 'under the first secret' });

  // A fourth node joins after the rekey: it receives both secrets and publishes its encryption key.
  const joiner = await startJoiner(sandbox, 'joiner');
  children.push(joiner.child);
  const pending = await until('the joiner to be Pending', WAIT_MS, async () => (await client.request('GET', '/node/network/nodes')).json<{ nodes: { node_id: string; status: string }[] }>().nodes.find((n) => n.status === 'Pending'));
  await passProposal(client, members, [{ name: 'transition_node_to_trusted', args: { node_id: pending.node_id, valid_from: validFromNow() } }]);
  await until('the joiner to serve', WAIT_MS, async () => (joiner.output().includes('coco node: ready') ? true : undefined));
  const joinerClient = userClient(sandbox, joiner.url);
  t.after(() => joinerClient.close());
  await waitForCommit(joinerClient, second, { timeoutMs: WAIT_MS });
  assert.deepEqual((await joinerClient.request('GET', '/app/log/private?id=1')).json(), { msg: 'under the first secret' });
  assert.deepEqual((await joinerClient.request('GET', '/app/log/private?id=2')).json(), { msg: 'under the second secret' });

  // The next rekey reaches the four nodes, the joiner through its own encryption key.
  await passProposal(client, members, [{ name: 'trigger_ledger_rekey', args: {} }]);
  const third = (await client.request('POST', '/app/log/private', { body: { id: 3, msg: 'under the third secret' } })).txId!;
  await waitForCommit(joinerClient, third, { timeoutMs: WAIT_MS });
  assert.deepEqual((await joinerClient.request('GET', '/app/log/private?id=3')).json(), { msg: 'under the third secret' });
  const rekeys = rekeysIn(ledger0);
  assert.equal(rekeys.length, 2);
  assert.deepEqual(rekeys[1], await nodeIds());
  assert.ok(rekeys[1]!.includes(pending.node_id));

  // Removing an active recovery member rekeys too, once the threshold lets it go (two members, so 2).
  await passProposal(client, members, [{ name: 'set_recovery_threshold', args: { recovery_threshold: 1 } }]);
  const removal = await passProposal(client, members, [{ name: 'remove_member', args: { member_id: members[1]!.memberId! } }]);
  assert.equal(removal.proposalState, 'Accepted', JSON.stringify(removal));
  await until('the removal\'s rekey in the ledger', WAIT_MS, async () => (rekeysIn(ledger0).length === 3 ? true : undefined));

  // A backup killed with SIGKILL restarts from its ledger with its sealed secrets and reads on.
  const backupDir = join(sandbox.workspace, 'sandbox_1');
  process.kill(Number(readFileSync(join(backupDir, 'node.pid'), 'utf8')), 'SIGKILL');
  const restarted = runNode(backupDir);
  children.push(restarted.child);
  await until('the restarted backup to serve', WAIT_MS, async () => (restarted.output().includes('coco node: ready') ? true : undefined));
  const fourth = (await client.request('POST', '/app/log/private', { body: { id: 4, msg: 'after the restart' } })).txId!;
  const backup = userClient(sandbox, sandbox.nodeUrl(1));
  t.after(() => backup.close());
  await waitForCommit(backup, fourth, { timeoutMs: WAIT_MS });
  for (const [id, msg] of [[1, 'under the first secret'], [2, 'under the second secret'], [3, 'under the third secret'], [4, 'after the restart']] as const) {
    assert.deepEqual((await backup.request('GET', `/app/log/private?id=${id}`)).json(), { msg });
  }
});
