// `coco sandbox` restarted on a workspace where governance retired one of its nodes, with real
// processes: the retired node refuses to start (the service told it its removal committed, which its
// own ledger does not show), the sandbox says so in one line and runs the service on the others.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { runningNodePid } from '../../src/cli/node-pid-file.js';
import { CocoClient } from '../../src/client/coco-client.js';
import { GovernanceClient } from '../../src/client/governance-client.js';
import { passProposal } from '../../src/client/open-service.js';
import { startSandbox, type SandboxProcess } from '../support/sandbox-process.js';
import { until } from '../support/until.js';

const WAIT_MS = 30_000;

interface NodeRecord {
  node_id: string;
  primary: boolean;
  rpc_interfaces: Record<string, { published_address: string }>;
}

function userClient(sandbox: SandboxProcess, url: string): CocoClient {
  return new CocoClient({ url, caCertPem: sandbox.pem('service_cert.pem'), certPem: sandbox.pem('user0_cert.pem'), keyPem: sandbox.pem('user0_privk.pem') });
}

test('a sandbox restarted after governance retired one of its nodes skips that node in one line and serves on the others', { timeout: 240_000 }, async (t) => {
  const first = await startSandbox(['--nodes', '3']);
  // The restart runs in the first one's workspace: stopped first, before the workspace goes.
  const sandboxes = [first];
  t.after(async () => {
    for (const sandbox of sandboxes.reverse()) await sandbox.stop();
  });
  const urls = [0, 1, 2].map((i) => first.nodeUrl(i));
  const urlOf = (n: NodeRecord) => `https://${Object.values(n.rpc_interfaces)[0]!.published_address}`;
  const anyNode = userClient(first, urls[0]!);
  const listed = await until('a primary', WAIT_MS, async () => {
    const { nodes } = (await anyNode.request('GET', '/node/network/nodes')).json<{ nodes: NodeRecord[] }>();
    return nodes.some((n) => n.primary) ? nodes : undefined;
  });
  anyNode.close();
  const client = userClient(first, urlOf(listed.find((n) => n.primary)!));
  const member = new GovernanceClient(client, { member: { certPem: first.pem('member0_cert.pem'), keyPem: first.pem('member0_privk.pem') } });
  // A backup is retired, as in a rolling upgrade: it learns from the others that its removal committed.
  const backup = listed.find((n) => !n.primary)!;
  const index = urls.indexOf(urlOf(backup));
  assert.ok(index >= 0, JSON.stringify(backup));
  await passProposal(client, [member], [{ name: 'remove_node', args: { node_id: backup.node_id } }]);
  const retired = new CocoClient({ url: urlOf(backup), caCertPem: first.pem('service_cert.pem') });
  await until('the retired node to know it', WAIT_MS, async () => ((await retired.request('GET', '/node/state')).json<{ stop_notice: boolean }>().stop_notice ? true : undefined));
  retired.close();
  client.close();
  await first.stop({ keep: true });

  const restarted = await startSandbox([], first.workspace);
  sandboxes.push(restarted);
  const output = restarted.output();
  const skipped = output.split('\n').filter((line) => line.includes('not restarted'));
  assert.equal(skipped.length, 1, output);
  assert.match(skipped[0]!, new RegExp(`^coco sandbox: node ${index} not restarted: it retired from the service at \\d+\\.\\d+; the others run the service$`));
  assert.match(output, /coco sandbox: network of 2 node\(s\) ready in/);
  assert.equal(runningNodePid(join(first.workspace, `sandbox_${index}`)), undefined, 'the retired node is not running');
  const user = userClient(restarted, restarted.url);
  t.after(() => user.close());
  assert.equal((await user.request('POST', '/app/log/private', { body: { id: 1, msg: 'after the restart' } })).status, 200);
});
