// Changing the network's membership as an operator and the members would, with real processes: a
// node that joins an open service stays Pending until members pass transition_node_to_trusted,
// then catches up and counts in the configuration; remove_node retires a node, whose retirement is
// recorded once committed and which can then be deleted; a joiner whose attestation is no longer
// allowed is refused with the reason and never appears in the service.

import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { CocoClient } from '../../src/client/coco-client.js';
import { GovernanceClient } from '../../src/client/governance-client.js';
import { passProposal } from '../../src/client/open-service.js';
import { waitForCommit } from '../../src/client/transactions.js';
import { fromBase64, fromUtf8 } from '../../src/crypto/bytes.js';
import { formatTxId, parseTxId } from '../../src/ledger/tx-id.js';
import { startJoiner, validFromNow } from '../support/joiner-process.js';
import { exitOf } from '../support/child-exit.js';
import { until } from '../support/until.js';
import { getUnverified } from '../support/unverified-get.js';
import { startSandbox } from '../support/sandbox-process.js';
import type { NodeRecord } from '../support/node-record.js';

const WAIT_MS = 30_000;

test('a node joins an open service once members trust it, a node is retired and removed, and a disallowed joiner is refused', async (t) => {
  const sandbox = await startSandbox(['--nodes', '3']);
  const children: ChildProcess[] = [];
  t.after(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await sandbox.stop();
  });
  const client = new CocoClient({ url: sandbox.url, caCertPem: sandbox.pem('service_cert.pem'), certPem: sandbox.pem('user0_cert.pem'), keyPem: sandbox.pem('user0_privk.pem') });
  const member = new GovernanceClient(client, { member: { certPem: sandbox.pem('member0_cert.pem'), keyPem: sandbox.pem('member0_privk.pem') } });
  const nodes = async () => (await client.request('GET', '/node/network/nodes')).json<{ nodes: NodeRecord[] }>().nodes;
  const before = (await client.request('POST', '/app/log/private', { body: { id: 1, msg: 'before the join' } })).txId!;
  await waitForCommit(client, before, { timeoutMs: 10_000 });

  // A fourth node joins the open service: Pending until the members trust it.
  const joiner = await startJoiner(sandbox, 'joiner');
  children.push(joiner.child);
  const pending = await until('the joiner to be Pending', WAIT_MS, async () => (await nodes()).find((n) => n.status === 'Pending'));
  assert.equal((await nodes()).length, 4);
  // Meanwhile the joiner says so itself, with its self-signed certificate (the service has endorsed none yet).
  const selfSigned = (await getUnverified(`${joiner.url}/node/self_signed_certificate`)).json.self_signed_certificate as string;
  const serviceTrusting = new CocoClient({ url: joiner.url, caCertPem: sandbox.pem('service_cert.pem') });
  await assert.rejects(serviceTrusting.request('GET', '/node/state'), /certificate/);
  serviceTrusting.close();
  const pendingClient = new CocoClient({ url: joiner.url, caCertPem: selfSigned, certPem: sandbox.pem('user0_cert.pem'), keyPem: sandbox.pem('user0_privk.pem') });
  t.after(() => pendingClient.close());
  const pendingState = await pendingClient.request('GET', '/node/state');
  assert.deepEqual(pendingState.json(), { node_id: pending.node_id, state: 'Pending', last_signed_seqno: 0, startup_seqno: 0, stop_notice: false });
  assert.equal(pendingState.txId, undefined, 'a pending node names no transaction');
  assert.equal((await pendingClient.request('GET', '/node/quotes/self')).json<{ node_id: string }>().node_id, pending.node_id);
  for (const [path, status, code] of [['/app/log/private?id=1', 404, 'FrontendNotOpen'], ['/gov/service/members?api-version=2024-07-01', 404, 'FrontendNotOpen'], ['/node/ready/app', 503, 'FrontendNotOpen'], ['/node/network', 404, 'ResourceNotFound']] as const) {
    const answer = await pendingClient.request('GET', path, { allowError: true });
    assert.equal(answer.status, status, path);
    const { error } = answer.json<{ error: { code: string; message: string } }>();
    assert.equal(error.code, code, path);
    if (code === 'FrontendNotOpen') assert.match(error.message, /Pending.*transition_node_to_trusted/, path);
  }
  await passProposal(client, [member], [{ name: 'transition_node_to_trusted', args: { node_id: pending.node_id, valid_from: validFromNow() } }]);
  await until('the joiner to serve', WAIT_MS, async () => (joiner.output().includes('coco node: ready') ? true : undefined));
  // It asked every 200 ms while Pending, and said so once.
  assert.equal(joiner.output().match(/Pending: waiting for members to trust this node .*GET \/node\/state/g)?.length, 1, joiner.output());
  const joinerClient = new CocoClient({ url: joiner.url, caCertPem: sandbox.pem('service_cert.pem'), certPem: sandbox.pem('user0_cert.pem'), keyPem: sandbox.pem('user0_privk.pem') });
  t.after(() => joinerClient.close());
  await waitForCommit(joinerClient, before, { timeoutMs: WAIT_MS });
  assert.deepEqual((await joinerClient.request('GET', '/app/log/private?id=1')).json(), { msg: 'before the join' }, 'the new node caught up');
  type ConsensusDetails = { configs: { idx: number; rid: number; nodes: Record<string, unknown> }[]; acks: Record<string, { seqno: number; last_received_ms: number }> };
  const consensus = (await client.request('GET', '/node/consensus')).json<{ details: ConsensusDetails }>().details;
  const latestConfig = consensus.configs.at(-1)!;
  assert.equal(Object.keys(latestConfig.nodes).length, 4, 'the configuration holds four nodes');
  assert.ok(latestConfig.idx > 0 && latestConfig.rid === latestConfig.idx, 'a configuration is named by the seqno that set it');
  // The primary (the client's node) says what each other node last acknowledged, the new one too.
  const primaryId = (await nodes()).find((n) => n.primary)!.node_id;
  assert.deepEqual(Object.keys(consensus.acks).sort(), Object.keys(latestConfig.nodes).filter((id) => id !== primaryId).sort());
  assert.ok(consensus.acks[pending.node_id]!.seqno >= before.seqno && consensus.acks[pending.node_id]!.last_received_ms >= 0, JSON.stringify(consensus.acks));
  const fromJoiner = (await joinerClient.request('GET', '/node/consensus')).json<{ details: ConsensusDetails }>().details;
  assert.deepEqual(fromJoiner.acks, Object.fromEntries(Object.keys(latestConfig.nodes).filter((id) => id !== pending.node_id).map((id) => [id, { seqno: 0, last_received_ms: 0 }])), 'a backup lists the other nodes, as CCF does, knowing no progress');

  // Retire a backup that is not the new node: it leaves the configuration, then can be removed.
  const retiring = (await nodes()).find((n) => !n.primary && n.node_id !== pending.node_id)!;
  await passProposal(client, [member], [{ name: 'remove_node', args: { node_id: retiring.node_id } }]);
  const removable = await until('the retirement to commit', WAIT_MS, async () => {
    const list = (await client.request('GET', '/node/network/removable_nodes')).json<{ nodes: NodeRecord[] }>().nodes;
    return list.find((n) => n.node_id === retiring.node_id);
  });
  assert.equal(removable.status, 'Retired');
  const notRemovable = await client.request('DELETE', `/node/network/nodes/${pending.node_id}`, { allowError: true });
  assert.equal(notRemovable.status, 400, 'a Trusted node cannot be deleted');
  const deleted = await client.request('DELETE', `/node/network/nodes/${retiring.node_id}`);
  assert.deepEqual([deleted.status, deleted.json()], [200, true], 'as in CCF: true');
  assert.ok(!(await nodes()).some((n) => n.node_id === retiring.node_id), 'the retired node is gone from the service');
  // The retired node cannot hear that its retirement committed (the others no longer talk to it):
  // without a primary, it asks them, then says it takes no further part and may be stopped.
  const retired = new CocoClient({ url: `https://${Object.values(retiring.rpc_interfaces)[0]!.published_address}`, caCertPem: sandbox.pem('service_cert.pem') });
  t.after(() => retired.close());
  const noticed = await until('the retired node to know it is retired', WAIT_MS, async () => {
    const state = (await retired.request('GET', '/node/state')).json<{ node_id: string; stop_notice: boolean }>();
    return state.stop_notice ? state : undefined;
  });
  assert.equal(noticed.node_id, retiring.node_id);
  const retiredConsensus = (await retired.request('GET', '/node/consensus')).json<{ details: { membership_state: string; retirement_phase: string; leadership_state: string } }>().details;
  assert.deepEqual([retiredConsensus.membership_state, retiredConsensus.retirement_phase, retiredConsensus.leadership_state], ['Retired', 'RetiredCommitted', 'Follower'], 'a retired node no longer campaigns');
  for (const frontend of ['app', 'gov']) assert.equal((await retired.request('GET', `/node/ready/${frontend}`, { allowError: true })).status, 503);
  // A write there says the node retired (not that an election is under way), and is not asked again.
  const retiredUser = new CocoClient({ url: retired.url, caCertPem: sandbox.pem('service_cert.pem'), certPem: sandbox.pem('user0_cert.pem'), keyPem: sandbox.pem('user0_privk.pem') });
  t.after(() => retiredUser.close());
  const retiredWrite = await retiredUser.request('POST', '/app/log/private', { body: { id: 3, msg: 'to a retired node' }, allowError: true });
  assert.equal(retiredWrite.status, 503);
  assert.equal(retiredWrite.json<{ error: { code: string } }>().error.code, 'NodeRetired');
  const after = (await client.request('POST', '/app/log/private', { body: { id: 2, msg: 'after the retirement' } })).txId!;
  await waitForCommit(client, after, { timeoutMs: 10_000 });
  await waitForCommit(joinerClient, after, { timeoutMs: WAIT_MS });
  assert.equal((await joinerClient.request('GET', `/app/tx?transaction_id=${formatTxId(after)}`)).json<{ status: string }>().status, 'Committed');

  // Members withdraw the host data the nodes report: the next joiner is refused and says why.
  const quote = (await client.request('GET', '/node/quotes/self')).json<{ raw: string }>();
  const hostData = (JSON.parse(fromUtf8(fromBase64(quote.raw))) as { host_data: string }).host_data;
  await passProposal(client, [member], [{ name: 'remove_virtual_host_data', args: { host_data: hostData } }]);
  const refused = await startJoiner(sandbox, 'refused');
  children.push(refused.child);
  const code = await exitOf(refused.child, 'the joiner whose host data was withdrawn');
  assert.equal(code, 1);
  assert.match(refused.output(), /refused this node.*InvalidQuote.*host data .* members allow it with an add_virtual_host_data proposal/s);
  assert.equal((await nodes()).length, 3, 'the refused node was never recorded');

  // What governance allows, as CCF lists it under every frontend of every node.
  const measurement = 'ab'.repeat(48);
  const policy = 'package policy\nallow_all := true';
  const policyDigest = createHash('sha256').update(policy).digest('hex');
  await passProposal(client, [member], [
    { name: 'add_snp_measurement', args: { measurement } },
    { name: 'add_snp_host_data', args: { host_data: policyDigest, security_policy: policy } },
  ]);
  const latest = (await client.request('GET', '/app/commit')).json<{ transaction_id: string }>().transaction_id;
  await waitForCommit(joinerClient, parseTxId(latest), { timeoutMs: WAIT_MS });
  for (const [on, frontend] of [[client, 'node'], [joinerClient, 'app'], [joinerClient, 'gov']] as const) {
    assert.deepEqual((await on.request('GET', `/${frontend}/snp/measurements`)).json(), { versions: [{ digest: measurement, status: 'AllowedToJoin' }] });
    assert.deepEqual((await on.request('GET', `/${frontend}/snp/host_data`)).json(), { host_data: [{ raw: policyDigest, metadata: policy }] });
    assert.deepEqual((await on.request('GET', `/${frontend}/snp/host_data?key=${'0'.repeat(64)}`)).json(), { host_data: [] });
    assert.deepEqual((await on.request('GET', `/${frontend}/code`)).json(), { versions: [] }, 'no SGX code IDs');
  }
  const joinPolicy = (await client.request('GET', '/gov/service/join-policy?api-version=2024-07-01')).json<{ snp: unknown }>();
  assert.deepEqual(joinPolicy.snp, { measurements: [measurement], hostData: { [policyDigest]: policy }, uvmEndorsements: {}, tcbVersions: {} }, 'the governance API shows the same');
  client.close();
});
