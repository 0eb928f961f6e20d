// Retirement is final, across restarts, with real processes: a primary retired by remove_node,
// whose record the operator then deleted, and which an operator restarts later with its
// configuration (`coco node --config config.json`), refuses to start: exit 1 and one line naming the
// transaction that removed it, before it listens on anything (in CCF a retired node cannot restart).

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { spawnNode } from '../../src/cli/node-process.js';
import { runningNodePid } from '../../src/cli/node-pid-file.js';
import { CocoClient } from '../../src/client/coco-client.js';
import { GovernanceClient } from '../../src/client/governance-client.js';
import { CocoError } from '../../src/errors.js';
import { passProposal } from '../../src/client/open-service.js';
import { until } from '../support/until.js';
import { startSandbox } from '../support/sandbox-process.js';
import type { NodeRecord } from '../support/node-record.js';

const WAIT_MS = 30_000;

test('a primary retired and deleted, restarted from its ledger with its configuration, refuses to start in one line naming its removal', async (t) => {
  const sandbox = await startSandbox(['--nodes', '3']);
  const clients: CocoClient[] = [];
  t.after(async () => {
    for (const client of clients) client.close();
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
  // A retried DELETE, whose first answer was lost, is told the record is not there, as CCF says it.
  const again = await other.request('DELETE', `/node/network/nodes/${primary.node_id}`, { allowError: true });
  assert.deepEqual([again.status, again.json<{ error: { code: string } }>().error.code], [400, 'NodeNotRetiredCommitted']);

  // Later its operator restarts it, as the sandbox says to restart a node.
  const dir = join(sandbox.workspace, `sandbox_${index}`);
  const pid = runningNodePid(dir);
  assert.ok(pid !== undefined);
  process.kill(pid, 'SIGKILL');
  await until('the node to stop', WAIT_MS, async () => (runningNodePid(dir) === undefined ? true : undefined));
  const logged: string[] = [];
  const refused = await spawnNode(join(dir, 'config.json'), dir, (chunk) => void logged.push(chunk.toString())).then(
    async (started) => void (await started.stop()),
    (error: unknown) => error,
  );
  assert.ok(refused instanceof CocoError && refused.code === 'NodeStartFailed', String(refused));
  assert.match(refused.message, /^the node exited \(1\): coco: this node retired from the service at \d+\.\d+: its own ledger records its removal, committed; a retired node never takes part again\. Stop starting it: .*join the service anew .* \[NodeRetired\]$/);
  const errors = logged.join('').split('\n').filter((line) => line.includes('[error]'));
  assert.equal(errors.length, 1, logged.join(''));
  assert.equal(runningNodePid(dir), undefined, 'it left no pid file');
  // The service goes on without it.
  const after = await other.request('POST', '/app/log/private', { body: { id: 2, msg: 'after the retirement' } });
  assert.equal(after.status, 200);
});
