// Two interfaces configured on one port under two names for one address (`localhost:P` beside
// `127.0.0.1:P`): the node compares them as listen resolves them and refuses, naming both, before it
// writes anything (no pid file, ledger, sealed secrets or service certificate).

import assert from 'node:assert/strict';
import { lookup } from 'node:dns/promises';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startNodeService } from '../../src/cli/node-service.js';
import { CocoError } from '../../src/errors.js';
import { parseNodeConfig } from '../../src/node/node-config.js';
import { writeNodeConfig } from '../support/node-process.js';
import { testPort } from '../support/test-ports.js';

const dirs: string[] = [];
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

test('interfaces on localhost:P and on the address localhost resolves to are refused before the node writes anything', { timeout: 60_000 }, async () => {
  const resolved = (await lookup('localhost')).address;
  const numeric = isIPv6(resolved) ? `[${resolved}]` : resolved;
  const port = await testPort();
  const cases = [
    [
      { rpc_interfaces: { primary: { bind_address: `localhost:${port}` } }, node_to_node_interface: { bind_address: `${numeric}:${port}` } },
      `configuration $.network.node_to_node_interface.bind_address: ${resolved}:${port} is also $.network.rpc_interfaces.primary.bind_address (localhost:${port} resolving to ${resolved}:${port})`,
    ],
    [
      { rpc_interfaces: { primary: { bind_address: `${numeric}:${port}` }, other: { bind_address: `localhost:${port}` } }, node_to_node_interface: { bind_address: `${numeric}:0` } },
      `configuration $.network.rpc_interfaces.other.bind_address: localhost:${port} resolving to ${resolved}:${port} is also $.network.rpc_interfaces.primary.bind_address (${resolved}:${port})`,
    ],
  ] as const;
  for (const [network, message] of cases) {
    const dir = mkdtempSync(join(tmpdir(), 'coco-bind-names-'));
    dirs.push(dir);
    const path = await writeNodeConfig(dir, { network, output_files: { pid_file: 'node.pid' } });
    const written = readdirSync(dir).sort();
    await assert.rejects(startNodeService(parseNodeConfig(JSON.parse(readFileSync(path, 'utf8')), path), '1.0.0'), (error: unknown) => {
      assert.ok(error instanceof CocoError && error.code === 'InvalidConfig', String(error));
      assert.equal(error.message, `${message}; each interface needs its own port, as only one of them can listen on it`);
      return true;
    });
    assert.deepEqual(readdirSync(dir).sort(), written, 'nothing written');
  }
});
