// The network a restarted `coco sandbox` prints: a Trusted node of the service that the sandbox did
// not start (one joined by hand) and that is not running is listed as down, not as a backup.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GovernanceClient } from '../../src/client/governance-client.js';
import { passProposal } from '../../src/client/open-service.js';
import { startJoiner, startJoinersSandbox, validFromNow } from '../support/joiner-process.js';
import { startSandbox } from '../support/sandbox-process.js';
import { until } from '../support/until.js';

const WAIT_MS = 30_000;

test('a restarted sandbox lists a Trusted node joined by hand that is not running as down', { timeout: 240_000 }, async (t) => {
  const { sandbox, children, client } = await startJoinersSandbox(t, ['--nodes', '2']);
  const joiner = await startJoiner(sandbox, 'by-hand');
  children.push(joiner.child);
  const member = new GovernanceClient(client, { member: { certPem: sandbox.pem('member0_cert.pem'), keyPem: sandbox.pem('member0_privk.pem') } });
  const listed = async () => (await client.request('GET', '/node/network/nodes')).json<{ nodes: { node_id: string; status: string }[] }>().nodes;
  const pending = await until('the joiner to be Pending', WAIT_MS, async () => (await listed()).find((n) => n.status === 'Pending'));
  await passProposal(client, [member], [{ name: 'transition_node_to_trusted', args: { node_id: pending.node_id, valid_from: validFromNow() } }]);
  await until('the joiner to serve', WAIT_MS, async () => (joiner.output().includes('coco node: ready') ? true : undefined));
  joiner.child.kill('SIGKILL');
  await sandbox.stop({ keep: true });

  const restarted = await startSandbox([], sandbox.workspace);
  t.after(() => restarted.stop());
  const lines = restarted.output().split('\n');
  const line = (id: string) => lines.find((l) => l.trim().startsWith(`${id.slice(0, 16)}…`));
  assert.match(line(pending.node_id) ?? '', /…\s+down\s+Trusted\s+https:\/\/127\.0\.0\.1:\d+$/, restarted.output());
  const others = (await listed()).filter((n) => n.node_id !== pending.node_id);
  for (const n of others) assert.match(line(n.node_id) ?? '', /…\s+(primary|backup)\s+Trusted /, restarted.output());
});
