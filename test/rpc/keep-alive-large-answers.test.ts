// A keep-alive client that sends a request of several TLS records right after reading a large
// answer, as curl and Node's agent do with big JSON-RPC batches: every request is answered. Node
// paused the connection's parser when such a request arrived before the server had seen the
// previous answer's write complete (answers are written a turn later), and the rest of the body,
// already decrypted, then failed the parser with HPE_PAUSED: a 400 to a valid request.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import type { RpcServer } from '../../src/rpc/rpc-server.js';
import { createService, type ServiceIdentity } from '../client/tls-fixture.js';
import { testRpcServer } from './rpc-server-fixture.js';

const ANSWER_BYTES = 350_000;
const REQUEST_BODY_BYTES = 17_000;
const ROUNDS = 80;
const CLIENT = fileURLToPath(new URL('../support/large-answer-client.js', import.meta.url));

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
  const { stdout } = await promisify(execFile)(process.execPath, [CLIENT, String(port), String(ROUNDS), String(REQUEST_BODY_BYTES)], { env: { ...process.env, COCO_TEST_CA: service.certPem } });
  const answers = JSON.parse(stdout) as { status: string; bodyBytes: number }[];
  const failed = answers.filter((answer) => answer.status !== 'HTTP/1.1 200 OK');
  assert.deepEqual(failed, [], `${failed.length} of ${answers.length} answers were not 200`);
  assert.equal(answers.length, ROUNDS);
  assert.ok(answers.every((answer) => answer.bodyBytes === ANSWER_BYTES));
  assert.deepEqual(bodiesReceived, Array(ROUNDS).fill(REQUEST_BODY_BYTES), 'every body reached the handler whole');
});
