// A large answer is written a bounded piece per turn of the event loop, waiting for 'drain' when the
// socket is full, and arrives whole and in order; a client gone stops the writing.

import assert from 'node:assert/strict';
import { setImmediate as turn } from 'node:timers/promises';
import { test } from 'node:test';
import { ANSWER_PIECE_BYTES, endInPieces } from '../../src/rpc/answer-in-pieces.js';
import { FakeResponse, turnsUntil } from './piece-sink-fixture.js';

const untilEnded = (response: FakeResponse) => turnsUntil(response, () => response.ended);

function body(bytes: number): Uint8Array {
  return Uint8Array.from({ length: bytes }, (_, i) => (i * 7) & 0xff);
}

test('a body of several pieces is written one bounded piece per turn, whole and in order', async () => {
  const whole = body(5 * ANSWER_PIECE_BYTES + 123);
  const response = new FakeResponse(Infinity);
  endInPieces(response, whole);
  await untilEnded(response);
  assert.equal(response.ended, true);
  assert.equal(response.writes.length, 6);
  assert.ok(response.writes.every((piece) => piece.length <= ANSWER_PIECE_BYTES));
  assert.equal(response.maxWritesPerTurn, 1, 'never two pieces in one turn of the event loop');
  assert.deepEqual(Buffer.concat(response.writes), Buffer.from(whole));
});

test('a full socket is waited for: nothing more is written until it drains', async () => {
  const whole = body(4 * ANSWER_PIECE_BYTES);
  const response = new FakeResponse(1);
  endInPieces(response, whole);
  for (let i = 0; i < 5; i++) await turn();
  assert.equal(response.writes.length, 1, 'the socket said it was full after the first piece');
  response.drain(Infinity);
  await untilEnded(response);
  assert.equal(response.writes.length, 4);
  assert.deepEqual(Buffer.concat(response.writes), Buffer.from(whole));
});

test('a small body is one end(); a client gone stops the writing', async () => {
  const small = new FakeResponse(Infinity);
  endInPieces(small, body(100));
  assert.deepEqual([small.writes.length, small.ended], [1, true]);

  const gone = new FakeResponse(Infinity);
  endInPieces(gone, body(3 * ANSWER_PIECE_BYTES));
  gone.destroyed = true;
  for (let i = 0; i < 5; i++) await turn();
  assert.deepEqual([gone.writes.length, gone.ended], [1, false]);
});
