// A backup down while the configuration changed around it (two nodes joined, the two others
// retired, one of the newcomers now primary) knows none of the nodes that run the service when it is
// restarted with its configuration: it must hear from the new primary, whose address its state does
// not hold, answer it on the connection the primary dialled, and catch up. It once refused the
// primary as "not authorized" and stayed behind for good, while the configuration counted it.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CocoClient } from '../../src/client/coco-client.js';
import { GovernanceClient } from '../../src/client/governance-client.js';
import { passProposal } from '../../src/client/open-service.js';
import { waitForCommit } from '../../src/client/transactions.js';
import { exitOf } from '../support/child-exit.js';
import { runNode, startJoiner, startJoinersSandbox, validFromNow } from '../support/joiner-process.js';
import type { NodeRecord } from '../support/node-record.js';
import { until } from '../support/until.js';

const WAIT_MS = 60_000;

test('a backup restarted after every other node was replaced hears from the new primary and catches up', { timeout: 300_000 }, async (t) => {
  const { sandbox, children, identity, client } = await startJoinersSandbox(t, ['--nodes', '3']);
  const listed = async (c: CocoClient) => (await c.request('GET', '/node/network/nodes')).json<{ nodes: NodeRecord[] }>().nodes;
  const indexOf = (record: NodeRecord) => [0, 1, 2].find((i) => sandbox.nodeUrl(i) === `https://${Object.values(record.rpc_interfaces)[0]!.published_address}`)!;

  // A backup goes down.
  const originals = await until('three Trusted nodes', WAIT_MS, async () => {
    const nodes = (await listed(client)).filter((n) => n.status === 'Trusted');
    return nodes.length === 3 && nodes.some((n) => n.primary) ? nodes : undefined;
  });
  const lagging = indexOf(originals.find((n) => !n.primary)!);
  const laggingDir = join(sandbox.workspace, `sandbox_${lagging}`);
  process.kill(Number(readFileSync(join(laggingDir, 'node.pid'), 'utf8')), 'SIGKILL');

  // Meanwhile two nodes join and are trusted, and the two other originals retire.
  const joiners = [await startJoiner(sandbox, 'd'), await startJoiner(sandbox, 'e')];
  children.push(...joiners.map((j) => j.child));
  const pending = await until('both joiners Pending', WAIT_MS, async () => {
    const nodes = (await listed(client)).filter((n) => n.status === 'Pending');
    return nodes.length === 2 ? nodes : undefined;
  });
  const member = (c: CocoClient) => new GovernanceClient(c, { member: { certPem: sandbox.pem('member0_cert.pem'), keyPem: sandbox.pem('member0_privk.pem') } });
  await passProposal(client, [member(client)], pending.map((n) => ({ name: 'transition_node_to_trusted', args: { node_id: n.node_id, valid_from: validFromNow() } })));
  for (const joiner of joiners) await until(`${joiner.dir} to serve`, WAIT_MS, async () => (joiner.output().includes('coco node: ready') ? true : undefined));
  const newcomer = new CocoClient({ url: joiners[0]!.url, ...identity });
  t.after(() => newcomer.close());
  const retiring = originals.filter((n) => indexOf(n) !== lagging);
  await passProposal(newcomer, [member(newcomer)], retiring.map((n) => ({ name: 'remove_node', args: { node_id: n.node_id } })));
  await until('both retirements to commit', WAIT_MS, async () => {
    const removable = (await newcomer.request('GET', '/node/network/removable_nodes')).json<{ nodes: NodeRecord[] }>().nodes;
    return retiring.every((r) => removable.some((n) => n.node_id === r.node_id)) ? true : undefined;
  });
  for (const node of retiring) {
    const pid = Number(readFileSync(join(sandbox.workspace, `sandbox_${indexOf(node)}`, 'node.pid'), 'utf8'));
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // It stopped on its own once retired.
    }
  }

  // The lagging backup restarts with its configuration, and catches up with what the new primary writes.
  const restarted = runNode(laggingDir);
  t.after(async () => {
    if (restarted.child.exitCode === null) restarted.child.kill('SIGKILL');
    await exitOf(restarted.child, 'the restarted backup');
  });
  const write = await newcomer.request('POST', '/app/log/private', { body: { id: 7, msg: 'after the replacement' } });
  const laggingClient = new CocoClient({ url: sandbox.nodeUrl(lagging), ...identity });
  t.after(() => laggingClient.close());
  await until('the restarted backup to serve', WAIT_MS, async () => (restarted.output().includes('coco node: ready') ? true : undefined));
  await waitForCommit(laggingClient, write.txId!, { timeoutMs: WAIT_MS });
  const read = await laggingClient.request('GET', '/app/log/private?id=7');
  assert.equal(read.json<{ msg: string }>().msg, 'after the replacement');
  assert.doesNotMatch(restarted.output(), /not authorized/);
});
