// A node restarted from its ledger publishes the addresses its record there holds, as a CCF node's
// are fixed at join: a port 0 takes the port it recorded, and a configuration that changes an
// address is refused in one line that says what changed and what to do (the other nodes would dial
// the recorded address for ever, and the node would serve stale reads, cut off).

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { freePort } from '../../src/cli/free-port.js';
import { startNodeService } from '../../src/cli/node-service.js';
import { CocoError } from '../../src/errors.js';
import { parseNodeConfig } from '../../src/node/node-config.js';
import { nodeToNodeAddress, readNodeRecords } from '../../src/node/service-nodes.js';
import { writeNodeConfig } from '../support/node-process.js';

const dir = mkdtempSync(join(tmpdir(), 'coco-restart-addresses-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a restarted node keeps the addresses it published: port 0 takes the recorded port, a changed address is refused', async () => {
  const path = await writeNodeConfig(dir);
  const json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  const config = parseNodeConfig(json, path);

  const first = await startNodeService(config, '1.0.0');
  const nodeId = first.node.nodeId;
  const nodeToNode = nodeToNodeAddress(readNodeRecords(first.node.store).get(nodeId)!)!;
  const urls = first.urls;
  await first.stop();

  // Port 0 (a free port at the first start) is the recorded port at a restart.
  const again = await startNodeService(config, '1.0.0');
  assert.deepEqual(again.urls, urls);
  assert.equal(nodeToNodeAddress(readNodeRecords(again.node.store).get(nodeId)!), nodeToNode);
  await again.stop();

  const otherPort = await freePort('127.0.0.1');
  const cases: [string, Record<string, unknown>, string][] = [
    ['node_to_node_interface', { node_to_node_interface: { bind_address: `127.0.0.1:${otherPort}` } }, `node_to_node_interface ${nodeToNode} → 127.0.0.1:${otherPort}`],
    ['an RPC interface', { rpc_interfaces: { primary: { bind_address: `127.0.0.1:${otherPort}` } } }, `rpc_interfaces.primary ${urls.primary!.replace('https://', '')} → 127.0.0.1:${otherPort}`],
  ];
  for (const [what, network, change] of cases) {
    const moved = parseNodeConfig({ ...json, network: { ...(json.network as object), ...network } }, path);
    await assert.rejects(startNodeService(moved, '1.0.0'), (error: unknown) => {
      assert.ok(error instanceof CocoError && error.code === 'NodeAddressesChanged', `${what}: ${String(error)}`);
      assert.equal(
        error.message,
        `this node resumes from its ledger, where its record holds other published addresses than its configuration: ${change}. ` +
          "A node's addresses cannot change on restart (the other nodes dial the recorded ones): restore them in the configuration, " +
          'or start a new node that joins the service (command.type "Join", empty ledger and snapshot directories) and have members remove this one (remove_node)',
      );
      return true;
    });
  }

  // Refused before it wrote anything: restored, it starts.
  const restored = await startNodeService(config, '1.0.0');
  assert.deepEqual(restored.urls, urls);
  await restored.stop();
});
