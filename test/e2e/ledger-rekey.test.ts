// Ledger secret rotation with real processes, as members would do it: `trigger_ledger_rekey` on a
// 3-node sandbox, writes before and after read on every node (and historically from the ledger),
// the members' recovery shares rebuild the latest secret and, through it, the previous one, as a
// disaster recovery would; a node that joins afterwards reads both eras and receives the next rekey with its own key,
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
import { fromBase64, fromUtf8 } from '../../src/crypto/bytes.js';
import { aesGcmDecrypt } from '../../src/crypto/aes-gcm.js';
import { rsaOaepDecrypt } from '../../src/crypto/rsa-oaep.js';
import { decodeShare, recoverSecret, shareKey } from '../../src/crypto/secret-sharing.js';
import type { LedgerEntry } from '../../src/ledger/entry.js';
import { openEntry } from '../../src/ledger/entry-sealing.js';
import { HISTORICAL_LEDGER_SECRET_MAP, RECOVERY_SHARES_MAP } from '../../src/governance/recovery-shares.js';
import { decodeChunk } from '../../src/ledger/chunk-file.js';
import { formatTxId, type TxId } from '../../src/ledger/tx-id.js';
import { listChunkFiles } from '../../src/node/ledger-directory.js';
import { ENCRYPTED_LEDGER_SECRETS_MAP } from '../../src/node/ledger-rekey.js';
import { runNode, startJoiner, validFromNow } from '../support/joiner-process.js';
import { startSandbox, type SandboxProcess } from '../support/sandbox-process.js';
import { until } from '../support/until.js';
import { repoRoot } from '../support/paths.js';
import { runCoco } from '../support/run-cli.js';
import { writeIdentity } from '../../src/cli/keygen.js';

const WAIT_MS = 30_000;

function userClient(sandbox: SandboxProcess, url: string): CocoClient {
  return new CocoClient({ url, caCertPem: sandbox.pem('service_cert.pem'), certPem: sandbox.pem('user0_cert.pem'), keyPem: sandbox.pem('user0_privk.pem'), requestTimeoutMs: 5_000 });
}

function ledgerEntries(ledgerDirectory: string): LedgerEntry[] {
  return listChunkFiles(ledgerDirectory).flatMap((file) => decodeChunk(new Uint8Array(readFileSync(file.path)), file.name).entries);
}

/** CCF's serialised GCM cipher: tag (16), IV (12), ciphertext. */
function openSealed(key: Uint8Array, sealed: Uint8Array): Uint8Array {
  return aesGcmDecrypt(key, sealed.subarray(16, 28), sealed.subarray(28), sealed.subarray(0, 16));
}

/** The node IDs each rekey in a node's ledger sent a secret to, in ledger order. */
function rekeysIn(ledgerDirectory: string): string[][] {
  return ledgerEntries(ledgerDirectory)
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

  // In a disaster the two members (threshold 2) could rebuild the ledger secret from their shares,
  // off the service: each decrypts its share with its encryption key; the wrapping key they rebuild
  // unwraps the latest secret (in the ledger's public recovery table), which opens the write after
  // the rekey, and the historical record under it gives the first secret, which opens the write before.
  const shares = await Promise.all(members.map(async (governor, i) => {
    const answer = (await client.request('GET', `/gov/recovery/encrypted-shares/${governor.memberId!}?api-version=2024-07-01`)).json<{ memberId: string; encryptedShare: string }>();
    assert.equal(answer.memberId, governor.memberId);
    return decodeShare(rsaOaepDecrypt(sandbox.pem(`member${i}_enc_privk.pem`), fromBase64(answer.encryptedShare)));
  }));
  const unknown = await client.request('GET', `/gov/recovery/encrypted-shares/${'00'.repeat(32)}?api-version=2024-07-01`, { allowError: true });
  assert.equal(unknown.status, 404);
  // As CCF: a member ID that is not 64 hex digits is a malformed resource name, not a missing share.
  const malformed = await client.request('GET', '/gov/recovery/encrypted-shares/00?api-version=2024-07-01', { allowError: true });
  assert.deepEqual([malformed.status, malformed.json<{ error: { code: string } }>().error.code], [400, 'InvalidResourceName']);
  const entries = ledgerEntries(ledger0);
  const latestOf = (map: string) => JSON.parse(fromUtf8(entries.flatMap((e) => e.publicMaps).filter((m) => m.name === map).at(-1)!.writes[0]!.value)) as Record<string, unknown>;
  const recovered = openSealed(shareKey(recoverSecret(shares, 2)), fromBase64(latestOf(RECOVERY_SHARES_MAP).wrapped_latest_ledger_secret as string));
  const entryAt = (txId: TxId) => entries.find((e) => e.txId.seqno === txId.seqno)!;
  const privateRecord = (txId: TxId, key: Uint8Array) => fromUtf8(openEntry(entryAt(txId), key).find((m) => m.name === 'records')!.writes[0]!.value);
  assert.equal(privateRecord(second, recovered), 'under the second secret');
  const previous = (latestOf(HISTORICAL_LEDGER_SECRET_MAP).previous_ledger_secret as { encrypted_data: string }).encrypted_data;
  assert.equal(privateRecord(first, openSealed(recovered, fromBase64(previous))), 'under the first secret');

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

  // A recovery member added to the open service gets its share as soon as it acknowledges.
  writeIdentity({ name: 'member2', curve: 'P-384', encryptionKey: true, dir: sandbox.common });
  await passProposal(client, [members[0]!], [{ name: 'set_member', args: { cert: sandbox.pem('member2_cert.pem'), encryption_pub_key: sandbox.pem('member2_enc_pubk.pem') } }]);
  const newcomer = new GovernanceClient(client, { member: { certPem: sandbox.pem('member2_cert.pem'), keyPem: sandbox.pem('member2_privk.pem') } });
  const shareOf = (id: string) => client.request('GET', `/gov/recovery/encrypted-shares/${id}?api-version=2024-07-01`, { allowError: true });
  assert.equal((await shareOf(newcomer.memberId!)).status, 404, 'no share before it is Active');
  await newcomer.ack((await newcomer.updateStateDigest()).stateDigest);
  await until('the newcomer\'s share', WAIT_MS, async () => ((await shareOf(newcomer.memberId!)).status === 200 ? true : undefined));
  assert.equal((await shareOf(members[1]!.memberId!)).status, 404, 'the removed member holds no share any more');
  // Two Active members now: one member's `coco app deploy` leaves its proposal Open, which is no success.
  const deploy = runCoco(['app', 'deploy', join(repoRoot, 'samples', 'logging', 'dist', 'bundle.json'), '--workspace', sandbox.workspace]);
  assert.equal(deploy.status, 1, deploy.stderr);
  assert.match(deploy.stderr, /the proposal is Open: other members must vote for [0-9a-f]{64}/);

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
