// A retired node's key, in the hands of whoever kept its files, must not lead a joiner: a joiner
// that knows no configuration yet hears only from the nodes the service listed as Trusted when it
// joined. It once heard from any node the service had endorsed, retired ones included, so an
// AppendEntries in a high view signed with a retired node's TLS identity made the joiner follow it
// and deposed the real primary once members trusted the joiner.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { GovernanceClient } from '../../src/client/governance-client.js';
import { passProposal } from '../../src/client/open-service.js';
import { waitForCommit } from '../../src/client/transactions.js';
import { CocoClient } from '../../src/client/coco-client.js';
import { startJoiner, startJoinersSandbox } from '../support/joiner-process.js';
import { hijack } from '../support/hijacker.js';
import { until } from '../support/until.js';
import type { NodeRecord } from '../support/node-record.js';

const WAIT_MS = 60_000;
const HIJACK_VIEW = 100_000;

test("a joiner does not follow a retired node's key into a higher view, and the primary stays", { timeout: 240_000 }, async (t) => {
  const { sandbox, children, identity, client } = await startJoinersSandbox(t, ['--nodes', '3']);
  const member = new GovernanceClient(client, { member: { certPem: sandbox.pem('member0_cert.pem'), keyPem: sandbox.pem('member0_privk.pem') } });
  const nodes = async () => (await client.request('GET', '/node/network/nodes')).json<{ nodes: NodeRecord[] }>().nodes;
  const view = async (c: CocoClient) => (await c.request('GET', '/node/consensus')).json<{ details: { current_view: number } }>().details.current_view;

  // A backup is retired; its key stays in its directory.
  const retiring = await until('a backup', WAIT_MS, async () => (await nodes()).find((n) => n.status === 'Trusted' && !n.primary));
  await passProposal(client, [member], [{ name: 'remove_node', args: { node_id: retiring.node_id } }]);
  await until('the retirement to commit', WAIT_MS, async () => {
    const removable = (await client.request('GET', '/node/network/removable_nodes')).json<{ nodes: NodeRecord[] }>().nodes;
    return removable.some((n) => n.node_id === retiring.node_id) ? true : undefined;
  });
  const index = [0, 1, 2].find((i) => sandbox.nodeUrl(i) === `https://${Object.values(retiring.rpc_interfaces)[0]!.published_address}`)!;
  const retiredKey = (JSON.parse(readFileSync(join(sandbox.workspace, `sandbox_${index}`, 'sealed_secrets.json'), 'utf8')) as { node_private_key: string }).node_private_key;
  const retiredCert = (await member.getNode(retiring.node_id)).certificate;
  const viewBefore = await view(client);

  // A node joins; while it is Pending, the holder of the retired key waits at its node-to-node port.
  const joiner = await startJoiner(sandbox, 'joiner');
  children.push(joiner.child);
  const pending = await until('the joiner to be Pending', WAIT_MS, async () => (await nodes()).find((n) => n.status === 'Pending'));
  const joinerConfig = JSON.parse(readFileSync(join(joiner.dir, 'config.json'), 'utf8')) as { network: { node_to_node_interface: { bind_address: string } } };
  const nodeToNodePort = Number(joinerConfig.network.node_to_node_interface.bind_address.split(':')[1]);
  const attacker = hijack(t, { port: nodeToNodePort, nodeId: pending.node_id }, { nodeId: retiring.node_id, certPem: retiredCert, keyPem: retiredKey }, HIJACK_VIEW);

  // Members trust it; it catches up from the real primary while the retired key keeps calling.
  await passProposal(client, [member], [{ name: 'transition_node_to_trusted', args: { node_id: pending.node_id, valid_from: new Date(Date.now() - 60_000).toISOString() } }]);
  await until('the joiner to serve', WAIT_MS, async () => (joiner.output().includes('coco node: ready') ? true : undefined));
  const joinerClient = new CocoClient({ url: joiner.url, ...identity });
  t.after(() => joinerClient.close());
  const written = (await client.request('POST', '/app/log/private', { body: { id: 1, msg: 'after the trust' } })).txId!;
  await waitForCommit(joinerClient, written, { timeoutMs: WAIT_MS });
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  attacker.stop();
  assert.ok(attacker.accepted > 0, 'the retired key completed TLS handshakes with the joiner (the channel refuses it after them)');

  assert.ok((await view(client)) < HIJACK_VIEW, 'the service never moved to the retired key’s view');
  assert.ok((await view(joinerClient)) < HIJACK_VIEW, 'nor did the joiner');
  assert.equal(await view(client), viewBefore, 'no election: the primary stayed');
  assert.doesNotMatch(joiner.output(), new RegExp(`the primary is node ${retiring.node_id.slice(0, 12)}`));
  assert.match(joiner.output(), new RegExp(`${retiring.node_id.slice(0, 12)}.*not authorized|not authorized.*${retiring.node_id.slice(0, 12)}`));
});
