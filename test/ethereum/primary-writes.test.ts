// eth_sendRawTransaction runs on the primary: locally there, forwarded from a backup with the
// primary's answer (result or error) relayed. Only the write is forwarded: the other elements of a
// batch are answered by the backup, so a lost primary fails the write alone, and the time spent
// waiting for the primary is not counted against the request's execution time.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ethers } from 'ethers';
import { CocoError } from '../../src/errors.js';
import { primaryWrites } from '../../src/ethereum/ethereum-endpoint.js';
import { handleJsonRpc, type JsonRpcMethods, type JsonRpcTurns } from '../../src/ethereum/json-rpc.js';
import type { Node } from '../../src/node/node.js';

const local: JsonRpcMethods = {
  eth_blockNumber: async () => '0x5',
  eth_sendRawTransaction: async () => '0x' + '11'.repeat(32),
};

function setup(isPrimary: boolean, forward: (body: string) => Promise<string | undefined>) {
  const bodies: string[] = [];
  const node = { isPrimary } as unknown as Node;
  let clockMs = 0;
  const methods = primaryWrites(local, node, (body) => {
    bodies.push(body);
    clockMs += 1_000; // the primary takes a second to answer
    return forward(body);
  });
  const turns: JsonRpcTurns = { requestTimeMs: 500, sliceMs: 10_000, nowMs: () => clockMs, nextTurn: async () => undefined };
  return { methods, bodies, turns };
}

const call = (id: number, method: string, params: unknown[] = []) => ({ jsonrpc: '2.0', id, method, params });

test('on the primary the write runs locally', async () => {
  const { methods, bodies } = setup(true, () => Promise.reject(new Error('not forwarded')));
  const reply = JSON.parse((await handleJsonRpc(JSON.stringify(call(1, 'eth_sendRawTransaction', ['0x02'])), methods))!);
  assert.equal(reply.result, '0x' + '11'.repeat(32));
  assert.deepEqual(bodies, []);
});

test("on a backup the write alone is forwarded, and the primary's result or error relayed", async () => {
  const hash = '0x' + '22'.repeat(32);
  const answers = [
    JSON.stringify({ jsonrpc: '2.0', id: 0, result: hash }),
    JSON.stringify({ jsonrpc: '2.0', id: 0, error: { code: 3, message: 'execution reverted', data: '0x08c379a0' } }),
  ];
  const { methods, bodies, turns } = setup(false, async () => answers.shift());
  const batch = [call(7, 'eth_blockNumber'), call(8, 'eth_sendRawTransaction', ['0x02aa']), call(9, 'eth_sendRawTransaction', ['0x02bb'])];
  const replies = JSON.parse((await handleJsonRpc(JSON.stringify(batch), methods, turns))!);
  assert.deepEqual(replies, [
    { jsonrpc: '2.0', id: 7, result: '0x5' },
    { jsonrpc: '2.0', id: 8, result: hash },
    { jsonrpc: '2.0', id: 9, error: { code: 3, message: 'execution reverted', data: '0x08c379a0' } },
  ]);
  assert.deepEqual(bodies.map((b) => JSON.parse(b)), [call(0, 'eth_sendRawTransaction', ['0x02aa']), call(0, 'eth_sendRawTransaction', ['0x02bb'])]);
});

test("a backup forwards a batch's writes without waiting for the answer to each: the primary may need a later one first", async () => {
  const answered: (() => void)[] = [];
  // The primary answers nothing until it has both writes (as nonce 1 waits for nonce 0 behind it).
  const { methods, bodies, turns } = setup(false, (body) =>
    new Promise((resolve) => {
      answered.push(() => resolve(JSON.stringify({ jsonrpc: '2.0', id: 0, result: JSON.parse(body).params[0] })));
      if (answered.length === 2) for (const answer of answered) answer();
    }),
  );
  const batch = [call(1, 'eth_sendRawTransaction', ['0x02bb']), call(2, 'eth_sendRawTransaction', ['0x02aa']), call(3, 'eth_blockNumber')];
  const replies = JSON.parse((await handleJsonRpc(JSON.stringify(batch), methods, turns))!);
  assert.deepEqual(replies.map((reply: { result: unknown }) => reply.result), ['0x02bb', '0x02aa', '0x5'], 'two seconds of forwarding do not use up the 500 ms of the request');
  assert.equal(bodies.length, 2);
});

test('a write the primary cannot take fails alone, with its hash to look it up by; the reads of its batch are answered', async () => {
  const { methods, turns } = setup(false, () => Promise.reject(new CocoError('NodeCannotHandleRequest', 'the primary changed while this request was forwarded to it')));
  const batch = [call(1, 'eth_sendRawTransaction', ['0x02']), call(2, 'eth_blockNumber'), call(3, 'eth_sendRawTransaction', ['not hex'])];
  const replies = JSON.parse((await handleJsonRpc(JSON.stringify(batch), methods, turns))!);
  const message = 'the primary changed while this request was forwarded to it';
  assert.deepEqual(replies[0], { jsonrpc: '2.0', id: 1, error: { code: -32000, message, data: ethers.keccak256('0x02') } });
  assert.deepEqual(replies[2], { jsonrpc: '2.0', id: 3, error: { code: -32000, message } }, 'no hash where the parameter is no transaction');
  assert.deepEqual(replies[1], { jsonrpc: '2.0', id: 2, result: '0x5' }, 'the second spent on the primary is not this request time');
});

test('an answer from the primary with neither result nor error is an internal error', async () => {
  const { methods } = setup(false, async () => JSON.stringify({ jsonrpc: '2.0', id: 0 }));
  const reply = JSON.parse((await handleJsonRpc(JSON.stringify(call(1, 'eth_sendRawTransaction', ['0x02'])), methods))!);
  assert.equal(reply.error.code, -32603);
  assert.match(reply.error.message, /neither a result nor an error/);
});
