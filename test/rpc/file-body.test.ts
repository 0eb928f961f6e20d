// An answer's body read from an open file: a bounded piece at a time, only as the socket takes it,
// whole and in order; a client gone stops the reading; a file cut short destroys the response
// after a true prefix, never wrong bytes; the server closes the file even when it writes no answer.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import { after, test } from 'node:test';
import { ANSWER_PIECE_BYTES } from '../../src/rpc/answer-in-pieces.js';
import { FileBody } from '../../src/rpc/file-body.js';
import { createService } from '../client/tls-fixture.js';
import { descriptorsOn } from '../support/open-descriptors.js';
import { until } from '../support/until.js';
import { FakeResponse } from './piece-sink-fixture.js';
import { testRpcServer, tlsConnection } from './rpc-server-fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'coco-file-body-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A file of `bytes` random bytes, and a FileBody of [start, end) of it whose reads are counted (their lengths). */
async function fileBody(name: string, bytes: number, range?: { start: number; end: number }): Promise<{ path: string; content: Buffer; body: FileBody; reads: number[]; file: FileHandle }> {
  const path = join(dir, name);
  const content = randomBytes(bytes);
  writeFileSync(path, content);
  const file = await open(path, 'r');
  const reads: number[] = [];
  const read = file.read.bind(file) as (buffer: Uint8Array, offset: number, length: number, position: number) => ReturnType<FileHandle['read']>;
  file.read = ((buffer: Uint8Array, offset: number, length: number, position: number) => {
    reads.push(length);
    return read(buffer, offset, length, position);
  }) as FileHandle['read'];
  const { start, end } = range ?? { start: 0, end: bytes };
  return { path, content, body: new FileBody(file, path, start, end), reads, file };
}

test('a range of a file is read and written a bounded piece at a time, whole and in order', { timeout: 30_000 }, async () => {
  const { content, body, reads, file } = await fileBody('range', 5 * ANSWER_PIECE_BYTES + 123, { start: 100, end: 5 * ANSWER_PIECE_BYTES + 116 });
  const response = new FakeResponse(Infinity);
  await body.endInto(response);
  assert.equal(response.ended, true);
  assert.deepEqual(Buffer.concat(response.writes), content.subarray(100, 5 * ANSWER_PIECE_BYTES + 116));
  assert.equal(response.writes.length, 6);
  assert.ok(reads.every((length) => length <= ANSWER_PIECE_BYTES), `reads of ${reads.join(', ')} bytes`);
  assert.ok(response.writes.every((piece) => piece.length <= ANSWER_PIECE_BYTES));
  await body.close();
  assert.equal(file.fd, -1, 'closed');
});

test('a full socket is waited for: nothing more is read until it drains', { timeout: 30_000 }, async () => {
  const { content, body, reads } = await fileBody('full', 4 * ANSWER_PIECE_BYTES);
  const response = new FakeResponse(1);
  const writing = body.endInto(response);
  await once(response, 'piece');
  for (let i = 0; i < 5; i++) await turn();
  assert.deepEqual([reads.length, response.writes.length], [1, 1], 'the socket said it was full after the first piece');
  response.drain(Infinity);
  await writing;
  assert.deepEqual(Buffer.concat(response.writes), content);
  await body.close();
});

test('a client gone stops the reading', { timeout: 30_000 }, async () => {
  const { body, reads } = await fileBody('gone', 8 * ANSWER_PIECE_BYTES);
  const response = new FakeResponse(Infinity);
  const writing = body.endInto(response);
  await once(response, 'piece');
  response.destroy();
  await writing;
  assert.deepEqual([response.writes.length, response.ended], [1, false]);
  assert.ok(reads.length <= 2, `${reads.length} reads: at most the one under way when the client went`);
  await body.close();
});

test('a file cut while it is read destroys the response after a true prefix of it', { timeout: 30_000 }, async () => {
  const { path, content, body } = await fileBody('cut', 3 * ANSWER_PIECE_BYTES);
  truncateSync(path, 1.5 * ANSWER_PIECE_BYTES);
  const response = new FakeResponse(Infinity);
  await body.endInto(response);
  assert.deepEqual([response.destroyed, response.ended], [true, false]);
  const sent = Buffer.concat(response.writes);
  assert.ok(sent.length < content.length);
  assert.deepEqual(sent, content.subarray(0, sent.length));
  await body.close();
});

test('an empty range ends the response at once; read() gives the bytes whole and closes the file', { timeout: 30_000 }, async () => {
  const empty = await fileBody('empty-range', 10, { start: 10, end: 10 });
  const response = new FakeResponse(Infinity);
  await empty.body.endInto(response);
  assert.deepEqual([response.ended, response.writes.length, empty.reads.length], [true, 0, 0]);
  await empty.body.close();

  const { content, body, file } = await fileBody('whole', ANSWER_PIECE_BYTES + 5, { start: 5, end: ANSWER_PIECE_BYTES + 5 });
  assert.deepEqual(Buffer.from(await body.read()), content.subarray(5));
  assert.equal(file.fd, -1, 'closed');
  await body.close();
});

test('the file of an answer whose client left while its handler ran is closed, the answer unwritten', { timeout: 30_000 }, async (t) => {
  const path = join(dir, 'client-left');
  writeFileSync(path, randomBytes(ANSWER_PIECE_BYTES));
  const service = await createService();
  const { server, sessions } = testRpcServer(service, { currentTxId: () => ({ view: 2, seqno: 5 }) });
  let handlerRan!: () => void;
  const ran = new Promise<void>((resolve) => (handlerRan = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  server.add('node', 'GET', '/file', async () => {
    const file = await open(path, 'r');
    handlerRan();
    await released;
    return { body: new FileBody(file, path, 0, ANSWER_PIECE_BYTES) };
  });
  const { port } = await server.listen('127.0.0.1', 0);
  t.after(() => server.close());
  // Reset rather than closed: the node's socket is gone at once, not left half-open for the answer.
  const tcp = connect(port, '127.0.0.1');
  await once(tcp, 'connect');
  const socket = await tlsConnection(port, service.certPem, { socket: tcp });
  socket.write('GET /node/file HTTP/1.1\r\nhost: x\r\n\r\n');
  await ran;
  tcp.resetAndDestroy();
  await until('the node seeing the client gone', 10_000, async () => (sessions.metrics().active === 0 ? true : undefined));
  release();
  await until('the node closing the file', 10_000, async () => (descriptorsOn(path) === 0 ? true : undefined));
});
