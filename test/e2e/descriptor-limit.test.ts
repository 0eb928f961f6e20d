// A real node under a low open-file limit (`ulimit -n`), flooded with plain TCP connections on its
// client port while it writes across ledger chunk boundaries: its session caps were lowered at
// start to leave the descriptors its own files need (said in one warning), so the flood is refused
// past them and the node goes on creating chunks and committing, where CCF's default caps (1000 /
// 1010) let the flood take the descriptor of the next chunk and stop the node with EMFILE.

import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CocoClient } from '../../src/client/coco-client.js';
import { waitForCommit } from '../../src/client/transactions.js';
import { exitOf } from '../support/child-exit.js';
import { runLimitedNode } from '../support/limited-node.js';
import { startSandbox } from '../support/sandbox-process.js';
import { testPortPair } from '../support/test-ports.js';
import { until } from '../support/until.js';

/** The node's open-file limit: below CCF's default hard cap, as 1024 is below it plus the node's own. */
const OPEN_FILES_LIMIT = 512;
/** Connections the flood keeps open (each one the node closes is opened again): more than the limit. */
const FLOOD_CONNECTIONS = 600;
/** Small chunks, so that the writes below create several while the flood holds its connections. */
const CHUNK_BYTES = 4096;
const WRITES = 40;
const FLOODED_WRITES_MS = 120_000;
const FLOOD_WAIT_MS = 30_000;

/** Keeps `count` plain TCP connections open to host:port (no TLS, nothing sent) until stopped. */
function flood(host: string, port: number, count: number) {
  const sockets = new Set<Socket>();
  let stopped = false;
  let opened = 0;
  const open = () => {
    if (stopped) return;
    const socket = connect({ host, port });
    sockets.add(socket);
    socket.on('connect', () => (opened += 1));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      sockets.delete(socket);
      setTimeout(open, 5);
    });
  };
  for (let i = 0; i < count; i++) open();
  return {
    opened: () => opened,
    stop: () => {
      stopped = true;
      for (const socket of sockets) socket.destroy();
    },
  };
}

const chunkFiles = (dir: string) => readdirSync(join(dir, 'ledger')).filter((name) => name.startsWith('ledger_')).length;

test(`a node under ulimit -n ${OPEN_FILES_LIMIT} flooded with plain TCP connections goes on writing chunks and committing`, { timeout: 240_000 }, async (t) => {
  const sandbox = await startSandbox(['--nodes', '1', '--port', String(await testPortPair())]);
  t.after(() => sandbox.stop());
  await sandbox.stop({ keep: true });
  const dir = join(sandbox.workspace, 'sandbox_0');
  const configFile = join(dir, 'config.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as { ledger: Record<string, unknown> };
  config.ledger.chunk_size = CHUNK_BYTES;
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  for (const name of ['out', 'err']) writeFileSync(join(dir, name), '');

  const node = runLimitedNode(sandbox, [`-n ${OPEN_FILES_LIMIT}`]);
  t.after(() => node.child.kill('SIGKILL'));
  await node.ready();
  assert.match(
    node.read('err'),
    /\[warn \] coco node: this process may open 512 files \(ulimit -n\) and keeps 384 of them for its own; interface primary_rpc_interface's max_open_sessions_soft and _hard \(1000 and 1010\) are lowered to 126 and 128 so that client sessions cannot take the rest: raise the limit \(ulimit -n, systemd's LimitNOFILE=\) to at least 1394, or lower the caps/,
  );

  // The client's session is open before the flood takes every other one the caps allow, and it is
  // its only one: a second connection opened under the flood could be refused at the cap, rightly.
  const client = new CocoClient({ url: sandbox.nodeUrl(0), caCertPem: sandbox.pem('service_cert.pem'), certPem: sandbox.pem('user0_cert.pem'), keyPem: sandbox.pem('user0_privk.pem'), connectionsPerNode: 1 });
  t.after(() => client.close());
  assert.equal((await client.request('POST', '/app/log/private', { body: { id: 0, msg: 'before' } })).status, 200);
  const { hostname, port } = new URL(sandbox.nodeUrl(0));
  const flooding = flood(hostname, Number(port), FLOOD_CONNECTIONS);
  t.after(() => flooding.stop());
  await until('the flood opened more connections than the limit', FLOOD_WAIT_MS, async () => (flooding.opened() > OPEN_FILES_LIMIT ? true : undefined));
  const chunksBefore = chunkFiles(dir);
  const deadline = Date.now() + FLOODED_WRITES_MS;
  let last;
  for (let id = 1; id <= WRITES && Date.now() < deadline; id++) {
    const response = await client.request('POST', '/app/log/private', { body: { id, msg: `${id}:${'x'.repeat(1500)}` } });
    assert.equal(response.status, 200, response.text());
    last = response.txId!;
  }
  await waitForCommit(client, last!);
  assert.ok(chunkFiles(dir) >= chunksBefore + 5, `chunks were created under the flood (${chunksBefore} before, ${chunkFiles(dir)} after)`);
  assert.equal(node.child.exitCode, null, `the node runs: ${node.read('err')}`);
  assert.doesNotMatch(node.read('err'), /\[error\]|EMFILE/);
  flooding.stop();

  node.child.kill('SIGTERM');
  assert.equal(await exitOf(node.child, 'the flooded node'), 0);
  node.client.close();
});
