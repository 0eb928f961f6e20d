// A keep-alive client that sends a request of several TLS records right after reading a large
// answer, as curl and Node's agent do with big JSON-RPC batches: every request is answered. Node
// paused the connection's parser when such a request arrived before the server had seen the
// previous answer's write complete (answers are written a turn later), and the rest of the body,
// already decrypted, then failed the parser with HPE_PAUSED: a 400 to a valid request. The client
// is this file run again in a process of its own (CLIENT_ENV set), so that its reads and writes
// race the server's event loop as a real client's do.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { connect, type TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import type { RpcServer } from '../../src/rpc/rpc-server.js';
import { createService, type ServiceIdentity } from '../client/tls-fixture.js';
import { testRpcServer } from './rpc-server-fixture.js';

const ANSWER_BYTES = 350_000;
const REQUEST_BODY_BYTES = 17_000;
const ROUNDS = 80;
/** Set (to the server's port) in the client's process. */
const CLIENT_ENV = 'COCO_TEST_LARGE_ANSWERS_PORT';

interface Answer {
  status: string;
  bodyBytes: number;
}

/** Reads one answer with a content-length from `socket`, keeping what follows it in `buffered`. */
function readAnswer(socket: TLSSocket, buffered: { bytes: Buffer }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const parsed = (): boolean => {
      const headEnd = buffered.bytes.indexOf('\r\n\r\n');
      if (headEnd < 0) return false;
      const head = buffered.bytes.subarray(0, headEnd).toString('latin1');
      const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0);
      if (buffered.bytes.length < headEnd + 4 + length) return false;
      buffered.bytes = buffered.bytes.subarray(headEnd + 4 + length);
      resolve({ status: head.split('\r\n')[0]!, bodyBytes: length });
      return true;
    };
    const onData = (chunk: Buffer): void => {
      buffered.bytes = Buffer.concat([buffered.bytes, chunk]);
      if (parsed()) stop();
    };
    const onClose = (): void => {
      stop();
      reject(new Error(`closed before an answer: ${JSON.stringify(buffered.bytes.subarray(0, 300).toString('latin1'))}`));
    };
    const stop = (): void => {
      socket.off('data', onData);
      socket.off('close', onClose);
    };
    if (parsed()) return;
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

/**
 * The client: ROUNDS times, one POST of REQUEST_BODY_BYTES in one write (two TLS records), then
 * its whole answer read before the next. Prints the answers as one JSON line.
 */
async function runClient(port: number): Promise<void> {
  const socket = connect({ host: '127.0.0.1', port, ca: process.env.COCO_TEST_CA, servername: '127.0.0.1' });
  await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
  const answers: Answer[] = [];
  const buffered = { bytes: Buffer.alloc(0) };
  const body = 'b'.repeat(REQUEST_BODY_BYTES);
  try {
    for (let round = 0; round < ROUNDS; round++) {
      socket.write(`POST /node/large HTTP/1.1\r\nhost: x\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
      answers.push(await readAnswer(socket, buffered));
    }
  } catch (error) {
    answers.push({ status: (error as Error).message, bodyBytes: 0 });
  }
  socket.destroy();
  process.stdout.write(`${JSON.stringify(answers)}\n`);
}

function serverTests(): void {
  let service: ServiceIdentity;
  let server: RpcServer;
  let port: number;
  const bodiesReceived: number[] = [];

  before(async () => {
    service = await createService();
    ({ server } = testRpcServer(service, { caps: { soft: 10, hard: 10 }, currentTxId: () => ({ view: 2, seqno: 1 }), maxBodyBytes: 64 * 1024 }));
    server.add('node', 'POST', '/large', (request) => {
      bodiesReceived.push(request.body.length);
      return { body: 'a'.repeat(ANSWER_BYTES) };
    });
    port = (await server.listen('127.0.0.1', 0)).port;
  });

  after(async () => {
    await server?.close();
  });

  test('requests of several TLS records, each sent right after a large answer on the same connection, are all answered', async () => {
    const env = { ...process.env, COCO_TEST_CA: service.certPem, [CLIENT_ENV]: String(port) };
    const { stdout } = await promisify(execFile)(process.execPath, [fileURLToPath(import.meta.url)], { env });
    const answers = JSON.parse(stdout) as Answer[];
    const failed = answers.filter((answer) => answer.status !== 'HTTP/1.1 200 OK');
    assert.deepEqual(failed, [], `${failed.length} of ${answers.length} answers were not 200`);
    assert.equal(answers.length, ROUNDS);
    assert.ok(answers.every((answer) => answer.bodyBytes === ANSWER_BYTES));
    assert.deepEqual(bodiesReceived, Array(ROUNDS).fill(REQUEST_BODY_BYTES), 'every body reached the handler whole');
  });
}

const clientPort = process.env[CLIENT_ENV];
if (clientPort === undefined) serverTests();
else await runClient(Number(clientPort));
