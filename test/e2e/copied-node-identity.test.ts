// A node's sealed_secrets.json copied into a fresh directory, with a Join configuration on other
// addresses, asks to join as that node. The service refuses it: admitted, the copy would run as the
// node beside it, two voters with one identity that could elect two primaries in one view. Real
// processes: a one-node sandbox, and the copy started as an operator would.

import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CocoClient } from '../../src/client/coco-client.js';
import { exitOf } from '../support/child-exit.js';
import { runNode } from '../support/joiner-process.js';
import { startSandbox, type SandboxProcess } from '../support/sandbox-process.js';
import { testPort, testPortPair, testPortRange } from '../support/test-ports.js';

const EXIT_WAIT_MS = 60_000;

/** A sandbox of one node, on ports of COCO_TEST_PORTS when it is set. */
async function oneNodeSandbox(): Promise<SandboxProcess> {
  if (testPortRange === undefined) return startSandbox(['--nodes', '1']);
  return startSandbox(['--nodes', '1', '--port', String(await testPortPair())]);
}

interface ListedNode {
  node_id: string;
  rpc_interfaces: Record<string, { published_address: string }>;
}

test("a copy of a node's sealed secrets joining from other addresses is refused in one line, exit 1, and the node keeps its record and serves", { timeout: 240_000 }, async () => {
  const sandbox = await oneNodeSandbox();
  const client = new CocoClient({ url: sandbox.url, caCertPem: sandbox.pem('service_cert.pem') });
  try {
    const [node] = (await client.request('GET', '/node/network/nodes')).json<{ nodes: ListedNode[] }>().nodes;
    assert.ok(node !== undefined);
    // Where the node's peers reach it (the listing, as CCF's, leaves it out): as configured.
    const nodeConfig = JSON.parse(readFileSync(join(sandbox.workspace, 'sandbox_0', 'config.json'), 'utf8')) as { network: { node_to_node_interface: { bind_address: string } } };

    const dir = join(sandbox.workspace, 'copy');
    mkdirSync(dir);
    copyFileSync(join(sandbox.workspace, 'sandbox_0', 'sealed_secrets.json'), join(dir, 'sealed_secrets.json'));
    const [rpc, nodeToNode] = [`127.0.0.1:${await testPort()}`, `127.0.0.1:${await testPort()}`];
    writeFileSync(join(dir, 'config.json'), JSON.stringify({
      network: { rpc_interfaces: { primary_rpc_interface: { bind_address: rpc } }, node_to_node_interface: { bind_address: nodeToNode } },
      command: { type: 'Join', service_certificate_file: sandbox.file('service_cert.pem'), join: { target_rpc_address: new URL(sandbox.url).host, retry_timeout_ms: 200 } },
    }));
    const copy = runNode(dir);
    const code = await exitOf(copy.child, 'the copy', EXIT_WAIT_MS);
    const lines = copy.output().split('\n').filter((line) => line !== '');
    assert.equal(code, 1, lines.join('\n'));
    assert.ok(!lines.some((line) => line.includes('coco node: ready')), lines.join('\n'));
    const changes =
      `node_to_node_interface ${nodeConfig.network.node_to_node_interface.bind_address} → ${nodeToNode}, ` +
      `rpc_interfaces.primary_rpc_interface ${node.rpc_interfaces.primary_rpc_interface!.published_address} → ${rpc}`;
    assert.ok(
      lines.at(-1)!.endsWith(
        `[error] coco: the service refused this node: NodeAlreadyExists: node ${node.node_id} is already a Trusted node of this service, ` +
          `recorded at other addresses than this join request gives: ${changes}. A node keeps the addresses it joined with: ` +
          "to start that node again, give it the recorded ones; a node at new addresses joins as a new node, with a new identity (start it without the old node's sealed_secrets.json), " +
          'and members remove the old one (remove_node) [JoinRefused]',
      ),
      lines.join('\n'),
    );

    // The node runs on as before: its record unchanged, its state served.
    assert.deepEqual((await client.request('GET', '/node/network/nodes')).json<{ nodes: ListedNode[] }>().nodes, [node]);
    const state = (await client.request('GET', '/node/state')).json<{ node_id: string; state: string }>();
    assert.deepEqual([state.node_id, state.state], [node.node_id, 'PartOfNetwork']);
  } finally {
    client.close();
    await sandbox.stop();
  }
});
