// CCF's `logging` section on a real node process: `format` "Json" writes every line as one JSON
// object (CCF's h_ts, level and msg).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { removeNodeDir, startNode } from '../support/node-process.js';
import { testPort } from '../support/test-ports.js';

/** A node on ports drawn from the test range, with `logging` as its configuration's section; stopped once it served. */
async function outputOfNode(logging: Record<string, unknown>): Promise<string[]> {
  const [rpcPort, nodeToNodePort] = [await testPort(), await testPort()];
  const node = await startNode({
    network: { rpc_interfaces: { primary: { bind_address: `127.0.0.1:${rpcPort}` } }, node_to_node_interface: { bind_address: `127.0.0.1:${nodeToNodePort}` } },
    logging,
  });
  try {
    assert.equal(await node.stop(), 0, node.output());
    return node.output().trimEnd().split('\n');
  } finally {
    removeNodeDir(node);
  }
}

test('with logging.format "Json", every line a node writes is a JSON object with its time (h_ts), level and message (msg)', { timeout: 120_000 }, async () => {
  const lines = await outputOfNode({ format: 'Json', host_level: 'Info' });
  const records = lines.map((line) => {
    const record = JSON.parse(line) as Record<string, unknown>;
    assert.deepEqual(Object.keys(record), ['h_ts', 'level', 'msg'], line);
    assert.ok(!Number.isNaN(Date.parse(record.h_ts as string)), line);
    assert.ok(['info', 'warn', 'error'].includes(record.level as string), line);
    return record;
  });
  const messages = records.map((record) => record.msg);
  assert.ok(messages.includes('coco node: ready'), lines.join('\n'));
  assert.ok(messages.includes('coco node: stopped'), lines.join('\n'));
});


test('with logging.host_level "Fatal", a node writes only its errors and the lines saying it serves, which is what a spawner waits for', { timeout: 120_000 }, async () => {
  const lines = await outputOfNode({ format: 'Text', host_level: 'Fatal' });
  assert.ok(lines.length >= 2, lines.join('\n'));
  assert.ok(lines.every((line) => /listening on https:|coco node: ready$/.test(line)), lines.join('\n'));
});
