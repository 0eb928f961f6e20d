// A backup removed through itself, with real processes: `coco gov vote` on its remove_node, sent
// through that backup (as through a sandbox's service_url node), ends once the removal committed,
// and the retired backup, which never hears that commit from consensus, reports its removal
// Committed once the service told it it retired, as a CCF node whose retirement committed does.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CocoClient } from '../../src/client/coco-client.js';
import { GovernanceClient } from '../../src/client/governance-client.js';
import { waitForCommit } from '../../src/client/transactions.js';
import { runCocoAsync } from '../support/run-cli.js';
import { startSandbox } from '../support/sandbox-process.js';
import { until } from '../support/until.js';
import type { NodeRecord } from '../support/node-record.js';

const WAIT_MS = 60_000;
const TEST_TIMEOUT_MS = 300_000;

test('gov vote through the backup it removes ends Committed, and that backup, once retired, reports its removal Committed', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const sandbox = await startSandbox(['--nodes', '3']);
  const clients: CocoClient[] = [];
  t.after(async () => {
    for (const client of clients) client.close();
    await sandbox.stop();
  });
  const clientOf = (url: string) => {
    const client = new CocoClient({ url, caCertPem: sandbox.pem('service_cert.pem') });
    clients.push(client);
    return client;
  };
  const urls = [0, 1, 2].map((i) => sandbox.nodeUrl(i));
  const records = await until('a primary', WAIT_MS, async () => {
    const nodes = (await clientOf(urls[0]!).request('GET', '/node/network/nodes')).json<{ nodes: NodeRecord[] }>().nodes;
    return nodes.some((n) => n.primary) ? nodes : undefined;
  });
  const urlOf = (n: NodeRecord) => `https://${Object.values(n.rpc_interfaces)[0]!.published_address}`;
  const leaving = records.find((n) => !n.primary)!;
  const staying = clientOf(urlOf(records.find((n) => n !== leaving)!));
  const member = new GovernanceClient(staying, { member: { certPem: sandbox.pem('member0_cert.pem'), keyPem: sandbox.pem('member0_privk.pem') } });
  const proposal = await member.createProposal({ actions: [{ name: 'remove_node', args: { node_id: leaving.node_id } }] });
  await waitForCommit(staying, member.lastTxId!);

  const { status, stdout, stderr } = await runCocoAsync(['gov', 'vote', proposal.proposalId, '--accept', '--workspace', sandbox.workspace, '--url', urlOf(leaving)], { timeoutMs: 120_000 });
  assert.equal(status, 0, stderr);
  assert.equal((JSON.parse(stdout) as { proposalState: string }).proposalState, 'Accepted', stderr);
  const removal = /^waiting for (\d+\.\d+) to be committed\.* committed/.exec(stderr)?.[1];
  assert.ok(removal !== undefined, stderr);
  assert.equal((await staying.request('GET', `/node/tx?transaction_id=${removal}`)).json<{ status: string }>().status, 'Committed');

  const retired = clientOf(urlOf(leaving));
  await until('the removed backup to learn it retired', WAIT_MS, async () => {
    const details = (await retired.request('GET', '/node/consensus')).json<{ details: { retirement_phase?: string } }>().details;
    return details.retirement_phase === 'RetiredCommitted' ? true : undefined;
  });
  assert.deepEqual((await retired.request('GET', `/node/tx?transaction_id=${removal}`)).json(), { transaction_id: removal, status: 'Committed' });
});
