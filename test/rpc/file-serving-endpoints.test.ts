// `/node/ledger-chunk` and `/node/snapshot` over real TLS on a node in this process, on an
// interface where both operator features are enabled: which seqnos a chunk request may name, where
// each answer sends the caller, and how a large snapshot is read as it is sent.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { ANSWER_PIECE_BYTES } from '../../src/rpc/answer-in-pieces.js';
import { CocoClient } from '../../src/client/coco-client.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { decodeJson, encodeJson, Tables, type NodeInfo } from '../../src/governance/builtin-tables.js';
import { startInProcessNode, type InProcessNode } from '../support/in-process-node.js';
import { descriptorsOn, pathOf } from '../support/open-descriptors.js';
import { until } from '../support/until.js';
import { builtinEndpointsServer, type BuiltinEndpointsServer } from './rpc-server-fixture.js';

let inProcess: InProcessNode;
let service: BuiltinEndpointsServer;
/** Redirects off: the answers themselves; `following` follows them. */
let client: CocoClient;
let following: CocoClient;
let origin: string;

/** Sets the `primary` interface's published address in the record of `nodeId` (a Trusted node, created if absent). */
function publish(nodeId: string, address: string): void {
  inProcess.node.execute((tx) => {
    const nodes = tx.map(Tables.nodesInfo);
    const current = nodes.get(utf8(nodeId));
    const info = current === undefined ? ({ status: 'Trusted', node_data: {} } as unknown as NodeInfo) : decodeJson<NodeInfo>(current, Tables.nodesInfo);
    nodes.set(utf8(nodeId), encodeJson({ ...info, rpc_interfaces: { primary: { bind_address: address, published_address: address } } }));
    return { result: undefined, applyWrites: true };
  });
}

before(async () => {
  inProcess = startInProcessNode({ snapshotTxCount: 5 });
  service = await builtinEndpointsServer(inProcess, { operatorFeatures: new Set(['LedgerChunkRead', 'SnapshotRead']) });
  origin = service.origin;
  publish(inProcess.node.nodeId, new URL(origin).host);
  client = new CocoClient({ url: origin, caCertPem: service.tls.certPem, redirectsMax: 0 });
  following = service.client;
});

after(async () => {
  client?.close();
  await service?.close();
});

const errorCode = (answer: { json<T>(): T }) => answer.json<{ error: { code: string } }>().error.code;

test("as CCF, a chunk or snapshot this node holds is a plain 308 to its name at the node's published address, no error", async () => {
  // Past one ledger chunk (4 KiB in this node) and a snapshot (every 5 transactions), committed.
  for (let i = 0; i < 12; i++) {
    const { txId } = inProcess.node.execute((tx) => {
      tx.map('records').set(utf8(String(i)), new Uint8Array(1024));
      return { result: undefined, applyWrites: true };
    });
    await inProcess.node.waitForCommit(txId!.seqno);
  }
  const expected: [string, RegExp][] = [
    ['/node/ledger-chunk?since=1', /^\/node\/ledger-chunk\/ledger_1-\d+\.committed$/],
    ['/node/snapshot', /^\/node\/snapshot\/snapshot_\d+_\d+\.committed$/],
  ];
  for (const [path, named] of expected) {
    const answer = await until(`a 308 for ${path}`, 10_000, async () => {
      const found = await client.request('GET', path, { allowError: true });
      return found.status === 308 ? found : undefined;
    });
    const location = new URL(String(answer.headers.location));
    assert.equal(location.origin, origin, path);
    assert.match(location.pathname, named, path);
    assert.equal(answer.headers['x-ms-error-code'], undefined, path);
    assert.equal(answer.body.length, 0, path);
    const followed = await following.request('GET', path);
    assert.equal(followed.url, location.href, path);
  }
});

/** A committed snapshot file of `bytes` random bytes put in the node's snapshots directory, removed after the test. */
function placeSnapshot(t: TestContext, name: string, bytes: number): { path: string; content: Buffer } {
  const path = join(inProcess.node.snapshots.directory, name);
  const content = randomBytes(bytes);
  writeFileSync(path, content);
  t.after(() => {
    rmSync(path, { force: true });
    rmSync(`${path}.ignored`, { force: true });
  });
  return { path, content };
}

/** The length of every read of `path` made through a FileHandle in this process during the test. */
async function readsOf(t: TestContext, path: string): Promise<number[]> {
  const probe = await open(path, 'r');
  const prototype = Object.getPrototypeOf(probe) as { read: (this: FileHandle, ...args: unknown[]) => Promise<unknown> };
  await probe.close();
  const reads: number[] = [];
  const read = prototype.read;
  // FileBody and serveFile read as read(buffer, offset, length, position).
  prototype.read = function (this: FileHandle, ...args: unknown[]) {
    if (pathOf(this.fd) === path) reads.push(args[2] as number);
    return read.apply(this, args);
  };
  t.after(() => {
    prototype.read = read;
  });
  return reads;
}

const sum = (lengths: number[]) => lengths.reduce((total, length) => total + length, 0);

interface Download {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Whether the whole body announced arrived. */
  complete: boolean;
}

/** GETs `path` over a connection of its own, calling `onFirstBytes` when the body starts; settles when the answer closes. */
function download(path: string, onFirstBytes: (request: ClientRequest, answer: IncomingMessage) => void = () => undefined): Promise<Download> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const request = httpsRequest({ hostname, port, path, ca: service.tls.certPem, agent: false }, (answer) => {
      const pieces: Buffer[] = [];
      answer.on('data', (piece: Buffer) => {
        pieces.push(piece);
        if (pieces.length === 1) onFirstBytes(request, answer);
      });
      // A body cut short: `complete` says so.
      answer.on('error', () => undefined);
      answer.on('close', () => resolve({ status: answer.statusCode!, headers: answer.headers, body: Buffer.concat(pieces), complete: answer.complete }));
    });
    request.on('error', reject);
    request.end();
  });
}

/** Larger than what the node's socket and the kernel's buffers hold for a client that reads nothing (about 20 MiB). */
const LARGE_SNAPSHOT_BYTES = 48 * ANSWER_PIECE_BYTES;

test('a whole-file GET of a multi-MiB snapshot is the file byte for byte, read a bounded piece at a time, then closed', { timeout: 60_000 }, async (t) => {
  const name = 'snapshot_900001_900002.committed';
  const { path, content } = placeSnapshot(t, name, 6 * ANSWER_PIECE_BYTES + 1234);
  const reads = await readsOf(t, path);
  const answer = await download(`/node/snapshot/${name}`);
  assert.deepEqual([answer.status, answer.complete], [200, true]);
  assert.equal(answer.headers['content-length'], String(content.length));
  assert.equal(answer.headers['content-type'], 'application/octet-stream');
  assert.equal(answer.headers['x-ms-ccf-snapshot-name'], name);
  assert.ok(answer.body.equals(content), 'the same bytes');
  // The node never holds the file: no read (each into a buffer of its own) is of more than a piece.
  assert.ok(reads.length >= 7 && reads.every((length) => length <= ANSWER_PIECE_BYTES), `reads of ${reads.join(', ')} bytes`);
  await until('the node closing the snapshot file', 10_000, async () => (descriptorsOn(path) === 0 ? true : undefined));
});

test('a client gone mid-download stops the reading, and the node closes the file', { timeout: 60_000 }, async (t) => {
  const name = 'snapshot_900003_900004.committed';
  const { path, content } = placeSnapshot(t, name, LARGE_SNAPSHOT_BYTES);
  const reads = await readsOf(t, path);
  const answer = await download(`/node/snapshot/${name}`, (request) => request.destroy());
  assert.equal(answer.complete, false);
  await until('the node closing the snapshot file', 10_000, async () => (descriptorsOn(path) === 0 ? true : undefined));
  assert.ok(sum(reads) < content.length, `read ${sum(reads)} of ${content.length} bytes for a client that took one piece`);
});

test('a snapshot renamed and replaced mid-download is still served whole from the file first opened', { timeout: 60_000 }, async (t) => {
  const name = 'snapshot_900005_900006.committed';
  const { path, content } = placeSnapshot(t, name, LARGE_SNAPSHOT_BYTES);
  const reads = await readsOf(t, path);
  let readWhenReplaced = 0;
  const answer = await download(`/node/snapshot/${name}`, () => {
    readWhenReplaced = sum(reads);
    renameSync(path, `${path}.ignored`);
    writeFileSync(path, randomBytes(content.length));
  });
  assert.ok(readWhenReplaced < content.length, `the node had read ${readWhenReplaced} bytes when the file was replaced: not mid-download`);
  assert.deepEqual([answer.status, answer.complete], [200, true]);
  assert.ok(answer.body.equals(content), 'the bytes of the file first opened');
});

test('a snapshot cut mid-download ends the connection after a true prefix: a truncated answer, never wrong bytes', { timeout: 60_000 }, async (t) => {
  const name = 'snapshot_900007_900008.committed';
  const { path, content } = placeSnapshot(t, name, LARGE_SNAPSHOT_BYTES);
  const reads = await readsOf(t, path);
  const cutAt = content.length / 2;
  let readWhenCut = 0;
  const answer = await download(`/node/snapshot/${name}`, () => {
    readWhenCut = sum(reads);
    truncateSync(path, cutAt);
  });
  assert.ok(readWhenCut < cutAt, `the node had read ${readWhenCut} bytes when the file was cut at ${cutAt}: not mid-download`);
  assert.equal(answer.headers['content-length'], String(content.length));
  assert.equal(answer.complete, false);
  assert.ok(answer.body.length < content.length);
  assert.ok(answer.body.equals(content.subarray(0, answer.body.length)), 'what arrived is the file as it was');
  await until('the node closing the snapshot file', 10_000, async () => (descriptorsOn(path) === 0 ? true : undefined));
});

// Last: another Trusted node changes the configuration, and this node alone commits no more.
test('a node that started from no snapshot never sends a chunk request on; since must be a seqno from 1', async () => {
  publish('ff'.repeat(32), '127.0.0.1:8499');
  for (const since of ['0', 'x', '-1']) {
    const answer = await client.request('GET', `/node/ledger-chunk?since=${since}`, { allowError: true });
    assert.deepEqual([answer.status, errorCode(answer)], [400, 'InvalidQueryParameterValue'], since);
  }
  const beyond = await client.request('GET', '/node/ledger-chunk?since=1000000', { allowError: true });
  assert.deepEqual([beyond.status, errorCode(beyond)], [404, 'ResourceNotFound']);
});
