// Nodes find each other's RPC interfaces by name (CCF by interface id): a backup redirects a client
// of its interface to the primary's interface of the same name. A joiner none of whose interfaces
// the primary has by name is refused, saying so; an interface only some nodes have is refused a
// redirect on a backup with the same cause, not "no primary known".

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CocoClient } from '../../src/client/coco-client.js';
import { GovernanceClient } from '../../src/client/governance-client.js';
import { passProposal } from '../../src/client/open-service.js';
import { exitOf } from '../support/child-exit.js';
import { startJoiner, startJoinersSandbox, validFromNow } from '../support/joiner-process.js';
import { until } from '../support/until.js';

const WAIT_MS = 30_000;

test("a joiner whose interface names the primary lacks is refused; a backup's interface the primary lacks names the cause", async (t) => {
  const { sandbox, children, identity, client } = await startJoinersSandbox(t, ['--nodes', '1']);

  const renamed = await startJoiner(sandbox, 'renamed', { interfaceNames: ['primary'] });
  children.push(renamed.child);
  assert.equal(await exitOf(renamed.child, 'the joiner whose interface the primary lacks'), 1);
  assert.match(
    renamed.output(),
    /the service refused this node: InvalidInput: the joining node could not redirect to the primary: the primary has no RPC interface named 'primary' \(it has primary_rpc_interface\): give this node's interface the same name/,
  );
  const nodes = async () => (await client.request('GET', '/node/network/nodes')).json<{ nodes: { node_id: string; status: string }[] }>().nodes;
  assert.equal((await nodes()).length, 1, 'it was not recorded');

  // One shared name is enough to join (interfaces can be added node by node); the other names the cause.
  const joiner = await startJoiner(sandbox, 'joiner', { interfaceNames: ['primary_rpc_interface', 'admin'] });
  children.push(joiner.child);
  const member = new GovernanceClient(client, { member: { certPem: sandbox.pem('member0_cert.pem'), keyPem: sandbox.pem('member0_privk.pem') } });
  const pending = await until('the joiner to be Pending', WAIT_MS, async () => (await nodes()).find((n) => n.status === 'Pending'));
  await passProposal(client, [member], [{ name: 'transition_node_to_trusted', args: { node_id: pending.node_id, valid_from: validFromNow() } }]);
  await until('the joiner to serve', WAIT_MS, async () => (joiner.output().includes('coco node: ready') ? true : undefined));
  const shared = new CocoClient({ url: joiner.urls.primary_rpc_interface!, ...identity, redirectsMax: 0 });
  const admin = new CocoClient({ url: joiner.urls.admin!, ...identity, redirectsMax: 0 });
  t.after(() => {
    shared.close();
    admin.close();
  });
  assert.equal((await shared.request('HEAD', '/node/primary', { allowError: true })).status, 308);
  const write = await admin.request('POST', '/app/log/private', { body: { id: 1, msg: 'on a backup' }, allowError: true });
  assert.equal(write.status, 500, write.text());
  assert.deepEqual(write.json(), {
    error: {
      code: 'InternalError',
      message:
        "this node cannot redirect to the primary: the primary has no RPC interface named 'admin' (it has primary_rpc_interface): give this node's interface the same name (network.rpc_interfaces), as interface names must match across nodes",
    },
  });
  const head = await admin.request('HEAD', '/node/primary', { allowError: true });
  assert.equal(head.status, 500);
});
