// `coco sandbox` restarted on a workspace where governance retired some of its nodes, with real
// processes: a retired node refuses to start (the service told it its removal committed, which its
// own ledger may not show), the sandbox says so in one line and runs the service on the others; when
// every node retired (the service moved to other nodes), the restart fails at once, naming each.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { runningNodePid } from '../../src/cli/node-pid-file.js';
import { CocoClient } from '../../src/client/coco-client.js';
import { GovernanceClient } from '../../src/client/governance-client.js';
import { passProposal } from '../../src/client/open-service.js';
import { startJoiner, startJoinersSandbox, validFromNow } from '../support/joiner-process.js';
import { runCoco } from '../support/run-cli.js';
import { startSandbox, type SandboxProcess } from '../support/sandbox-process.js';
import { until } from '../support/until.js';
import type { NodeRecord } from '../support/node-record.js';

const WAIT_MS = 30_000;

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

test('a sandbox whose nodes all retired (the service runs on a node joined by hand) fails its restart at once, naming each retirement', { timeout: 240_000 }, async (t) => {
  const { sandbox, children, identity, client } = await startJoinersSandbox(t, ['--nodes', '2']);
  const successor = await startJoiner(sandbox, 'successor');
  children.push(successor.child);
  const member = new GovernanceClient(client, { member: { certPem: sandbox.pem('member0_cert.pem'), keyPem: sandbox.pem('member0_privk.pem') } });
  const listed = async (on: CocoClient) => (await on.request('GET', '/node/network/nodes')).json<{ nodes: (NodeRecord & { status: string })[] }>().nodes;
  const pending = await until('the joiner to be Pending', WAIT_MS, async () => (await listed(client)).find((n) => n.status === 'Pending'));
  await passProposal(client, [member], [{ name: 'transition_node_to_trusted', args: { node_id: pending.node_id, valid_from: validFromNow() } }]);
  await until('the joiner to serve', WAIT_MS, async () => (successor.output().includes('coco node: ready') ? true : undefined));

  // Both sandbox nodes are retired: the service lives on the joiner alone.
  const onSuccessor = new CocoClient({ url: successor.url, ...identity });
  t.after(() => onSuccessor.close());
  const sandboxNodes = (await listed(onSuccessor)).filter((n) => n.node_id !== pending.node_id);
  await passProposal(onSuccessor, [new GovernanceClient(onSuccessor, { member: { certPem: sandbox.pem('member0_cert.pem'), keyPem: sandbox.pem('member0_privk.pem') } })], sandboxNodes.map((n) => ({ name: 'remove_node', args: { node_id: n.node_id } })));
  for (const i of [0, 1]) {
    const retired = new CocoClient({ url: sandbox.nodeUrl(i), caCertPem: identity.caCertPem });
    await until(`node ${i} to know it retired`, WAIT_MS, async () => ((await retired.request('GET', '/node/state')).json<{ stop_notice: boolean }>().stop_notice ? true : undefined));
    retired.close();
  }
  await sandbox.stop({ keep: true });

  const restart = runCoco(['sandbox', '--port', '0', '--workspace', sandbox.workspace]);
  assert.equal(restart.status, 1, restart.stderr);
  assert.doesNotMatch(restart.stderr, /not restarted/, 'no node runs the service here');
  assert.match(
    restart.stderr.trim().split('\n').at(-1)!,
    /^coco: no node of \S+ can restart: node 0 retired from the service at \d+\.\d+, node 1 retired from the service at \d+\.\d+; pass another --workspace \(or remove this one\) to start a new network \[NodeRetired\]$/,
  );
});
