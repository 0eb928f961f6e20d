// A joiner whose node-to-node interface cannot listen stops before it asks to join: one line, exit 1,
// and the service records nothing of it (it used to join as Pending, then exit once members trusted
// it, leaving a voter that never answers in the configuration).

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { CocoClient } from '../../src/client/coco-client.js';
import { exitOf } from '../support/child-exit.js';
import { runNode } from '../support/joiner-process.js';
import { startSandbox, type SandboxProcess } from '../support/sandbox-process.js';
import { testPort, testPortPair, testPortRange } from '../support/test-ports.js';

const EXIT_WAIT_MS = 20_000;

/** A sandbox of one node, on ports of COCO_TEST_PORTS when it is set. */
async function oneNodeSandbox(): Promise<SandboxProcess> {
  if (testPortRange === undefined) return startSandbox(['--nodes', '1']);
  return startSandbox(['--nodes', '1', '--port', String(await testPortPair())]);
}

/** Runs a joiner of `sandbox` whose interfaces bind `rpc` and `nodeToNode`; its exit code and what it printed. */
async function runJoiner(sandbox: SandboxProcess, name: string, rpc: string, nodeToNode: string): Promise<{ code: number | null; lines: string[] }> {
  const dir = join(sandbox.workspace, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    network: { rpc_interfaces: { primary_rpc_interface: { bind_address: rpc } }, node_to_node_interface: { bind_address: nodeToNode } },
    command: { type: 'Join', service_certificate_file: sandbox.file('service_cert.pem'), join: { target_rpc_address: new URL(sandbox.url).host, retry_timeout_ms: 200 } },
  }));
  const joiner = runNode(dir);
  const code = await exitOf(joiner.child, `the joiner ${name}`, EXIT_WAIT_MS);
  return { code, lines: joiner.output().split('\n').filter((line) => line !== '') };
}

async function recordedNodes(sandbox: SandboxProcess): Promise<string[]> {
  const client = new CocoClient({ url: sandbox.url, caCertPem: sandbox.pem('service_cert.pem') });
  try {
    return (await client.request('GET', '/node/network/nodes')).json<{ nodes: { node_id: string }[] }>().nodes.map((n) => n.node_id);
  } finally {
    client.close();
  }
}

test('a joiner whose node-to-node port another process holds exits 1 with one line, and the service records nothing', async () => {
  const sandbox = await oneNodeSandbox();
  const holder = createServer();
  try {
    const [rpcPort, heldPort] = [await testPort(), await testPort()];
    await new Promise<void>((resolve) => holder.listen(heldPort, '127.0.0.1', resolve));
    const { code, lines } = await runJoiner(sandbox, 'held', `127.0.0.1:${rpcPort}`, `127.0.0.1:${heldPort}`);
    assert.equal(code, 1, lines.join('\n'));
    assert.deepEqual(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!, new RegExp(`\\[error\\] coco: cannot listen for other nodes on 127\\.0\\.0\\.1:${heldPort} \\(network\\.node_to_node_interface\\.bind_address\\): .*EADDRINUSE.* \\[ChannelListenFailed\\]$`));
    assert.equal((await recordedNodes(sandbox)).length, 1, 'the service has only its first node');
  } finally {
    holder.close();
    await sandbox.stop();
  }
});

test('a joiner whose RPC and node-to-node interfaces share an address:port is refused by its configuration, before it joins', async () => {
  const sandbox = await oneNodeSandbox();
  try {
    const shared = `127.0.0.1:${await testPort()}`;
    const { code, lines } = await runJoiner(sandbox, 'shared', shared, shared);
    assert.equal(code, 1, lines.join('\n'));
    assert.deepEqual(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!, /configuration \$\.network\.node_to_node_interface\.bind_address: 127\.0\.0\.1:\d+ is also \$\.network\.rpc_interfaces\.primary_rpc_interface\.bind_address \(127\.0\.0\.1:\d+\); each interface needs its own port.* \[InvalidConfig\]$/);
    assert.equal((await recordedNodes(sandbox)).length, 1, 'the service has only its first node');
  } finally {
    await sandbox.stop();
  }
});
