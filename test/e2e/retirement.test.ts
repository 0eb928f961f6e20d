// Retirement is final, across restarts, with real processes: a primary retired by remove_node,
// whose record the operator then deleted, and which an operator restarts later with its
// configuration (`coco node --config config.json`), starts retired from what its own ledger holds:
// no longer ready, its writes and questions for the primary refused as NodeRetired, and it says so
// in its log.

import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { spawnNode } from '../../src/cli/node-process.js';
import { runningNodePid } from '../../src/cli/node-pid-file.js';
import { CocoClient } from '../../src/client/coco-client.js';
import { GovernanceClient } from '../../src/client/governance-client.js';
import { passProposal } from '../../src/client/open-service.js';
import { until } from '../support/until.js';
import { startSandbox } from '../support/sandbox-process.js';

const WAIT_MS = 30_000;
/** Client ports 8120-8122, node-to-node ports after them. */
const FIRST_PORT = 8120;

interface NodeRecord {
  node_id: string;
  primary: boolean;
  rpc_interfaces: Record<string, { published_address: string }>;
}

test('a primary retired and deleted, restarted from its ledger with its configuration, starts retired', async (t) => {
  const sandbox = await startSandbox(['--nodes', '3', '--port', String(FIRST_PORT)]);
  const children: ChildProcess[] = [];
  const clients: CocoClient[] = [];
  t.after(async () => {
    for (const client of clients) client.close();
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await sandbox.stop();
  });
  const user = { caCertPem: sandbox.pem('service_cert.pem'), certPem: sandbox.pem('user0_cert.pem'), keyPem: sandbox.pem('user0_privk.pem') };
  const clientOf = (url: string) => {
    const client = new CocoClient({ url, ...user });
    clients.push(client);
    return client;
  };
  const urls = [0, 1, 2].map((i) => sandbox.nodeUrl(i));
  const nodes = async (client: CocoClient) => (await client.request('GET', '/node/network/nodes')).json<{ nodes: NodeRecord[] }>().nodes;
  const primary = await until('a primary', WAIT_MS, async () => (await nodes(clientOf(urls[1]!))).find((n) => n.primary));
  const index = urls.indexOf(`https://${Object.values(primary.rpc_interfaces)[0]!.published_address}`);
  assert.ok(index >= 0, JSON.stringify(primary));
  const other = clientOf(urls[(index + 1) % 3]!);
  const member = new GovernanceClient(other, { member: { certPem: sandbox.pem('member0_cert.pem'), keyPem: sandbox.pem('member0_privk.pem') } });
  await other.request('POST', '/app/log/private', { body: { id: 1, msg: 'before the retirement' } });

  // The primary is retired, hands over, and the operator deletes its record.
  await passProposal(other, [member], [{ name: 'remove_node', args: { node_id: primary.node_id } }]);
  await until('the retirement to commit', WAIT_MS, async () => {
    const removable = (await other.request('GET', '/node/network/removable_nodes')).json<{ nodes: NodeRecord[] }>().nodes;
    return removable.some((n) => n.node_id === primary.node_id) ? true : undefined;
  });
  assert.deepEqual((await other.request('DELETE', `/node/network/nodes/${primary.node_id}`)).json(), true);

  // Later its operator restarts it, as the sandbox says to restart a node.
  const dir = join(sandbox.workspace, `sandbox_${index}`);
  const pid = runningNodePid(dir);
  assert.ok(pid !== undefined);
  process.kill(pid, 'SIGKILL');
  await until('the node to stop', WAIT_MS, async () => (runningNodePid(dir) === undefined ? true : undefined));
  const restarted = await spawnNode(join(dir, 'config.json'), dir);
  children.push(restarted.child);
  const retired = clientOf(urls[index]!);
  const state = (await retired.request('GET', '/node/state')).json<{ node_id: string; stop_notice: boolean }>();
  assert.deepEqual([state.node_id, state.stop_notice], [primary.node_id, true]);
  assert.match(restarted.output(), /this node's retirement from the service committed \(its own ledger records it, to seqno \d+\); it takes no further part: stop it/);
  for (const frontend of ['app', 'gov']) assert.equal((await retired.request('GET', `/node/ready/${frontend}`, { allowError: true })).status, 503, frontend);
  const write = await retired.request('POST', '/app/log/private', { body: { id: 2, msg: 'to a retired node' }, allowError: true });
  assert.deepEqual([write.status, write.json<{ error: { code: string } }>().error.code], [503, 'NodeRetired']);
  // Asked for the primary, it says it retired (not that an election is under way, for ever).
  const noPrimary = await retired.request('GET', '/node/network/nodes/primary', { allowError: true });
  const { error } = noPrimary.json<{ error: { code: string; message: string } }>();
  assert.deepEqual([noPrimary.status, error.code], [503, 'NodeRetired']);
  assert.match(error.message, /^this node has retired from the service \(its retirement committed\) and knows no primary; send requests to another node of the service/);
  const consensus = (await retired.request('GET', '/node/consensus')).json<{ details: { membership_state: string } }>().details;
  assert.equal(consensus.membership_state, 'Retired');
});
