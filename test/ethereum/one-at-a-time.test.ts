// Ethereum jobs one at a time: in the order queued, a failed job not stopping the next, and, with
// turns, the event loop given a turn once jobs have run for a slice (whether or not the queue was
// empty in between, never while the slice lasts). The last test runs on the real event loop: a timer
// due while 20 jobs of 1 ms each are queued fires among them, not after the last.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OneAtATime, type JobTurns } from '../../src/ethereum/one-at-a-time.js';

/** A clock the jobs move, and a record of where the queue gave the loop its turns. */
function fakeTurns(sliceMs: number) {
  const events: string[] = [];
  let nowMs = 0;
  const turns: JobTurns = {
    sliceMs,
    nowMs: () => nowMs,
    nextTurn: async () => {
      events.push('turn');
    },
  };
  const job = (name: string, costMs: number) => async () => {
    events.push(name);
    nowMs += costMs;
    return name;
  };
  return { turns, events, job, advance: (ms: number) => (nowMs += ms) };
}

test('jobs run one at a time in the order queued, and a failed job does not stop the next', async () => {
  const queue = new OneAtATime();
  const order: string[] = [];
  let running = 0;
  const job = (name: string, fail = false) => async () => {
    running++;
    assert.equal(running, 1, 'two jobs ran side by side');
    await new Promise((resolve) => setImmediate(resolve));
    order.push(name);
    running--;
    if (fail) throw new Error(`${name} failed`);
    return name;
  };
  const results = await Promise.allSettled([queue.run(job('a')), queue.run(job('b', true)), queue.run(job('c'))]);
  assert.deepEqual(order, ['a', 'b', 'c']);
  assert.equal(results[0].status === 'fulfilled' && results[0].value, 'a');
  assert.equal(results[1].status === 'rejected' && (results[1].reason as Error).message, 'b failed');
  assert.equal(results[2].status === 'fulfilled' && results[2].value, 'c');
});

test('with turns, queued jobs give the loop a turn once they have run for a slice, then start a new slice', async () => {
  const { turns, events, job } = fakeTurns(4);
  const queue = new OneAtATime(turns);
  await Promise.all(['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((name) => queue.run(job(name, 1.5))));
  // a, b, c run 4.5 ms (the slice is used up after c), then a turn; d, e, f the same; g starts after a turn.
  assert.deepEqual(events, ['a', 'b', 'c', 'turn', 'd', 'e', 'f', 'turn', 'g']);
});

test('with turns, jobs within the slice start at once; a long job is followed by a turn', async () => {
  const { turns, events, job } = fakeTurns(4);
  const queue = new OneAtATime(turns);
  await Promise.all([queue.run(job('long', 10)), queue.run(job('after-long', 1)), queue.run(job('next', 1))]);
  assert.deepEqual(events, ['long', 'turn', 'after-long', 'next']);
});

test('with turns, a job that finds the queue empty after a used-up slice still waits for a turn', async () => {
  const { turns, events, job } = fakeTurns(4);
  const queue = new OneAtATime(turns);
  // As the elements of a JSON-RPC batch: each queued once the one before has ended.
  for (const name of ['a', 'b', 'c']) await queue.run(job(name, 5));
  assert.deepEqual(events, ['a', 'turn', 'b', 'turn', 'c']);
});

test('a failed job counts toward the slice and the queue goes on after it', async () => {
  const { turns, events, job } = fakeTurns(4);
  const queue = new OneAtATime(turns);
  const failing = async () => {
    await job('fails', 5)();
    throw new Error('reverted');
  };
  const results = await Promise.allSettled([queue.run(failing), queue.run(job('next', 1))]);
  assert.equal(results[0].status, 'rejected');
  assert.equal(results[1].status, 'fulfilled');
  assert.deepEqual(events, ['fails', 'turn', 'next']);
});

test('on the event loop, a timer due while jobs are queued fires between them, not after the last', async () => {
  const queue = new OneAtATime({ sliceMs: 4, nowMs: () => performance.now(), nextTurn: () => new Promise((resolve) => setImmediate(resolve)) });
  const order: string[] = [];
  const busy = (ms: number) => {
    const end = performance.now() + ms;
    while (performance.now() < end);
  };
  setTimeout(() => order.push('timer'), 0);
  busy(2); // the timer is due before the first job starts
  await Promise.all(Array.from({ length: 20 }, (_, i) => queue.run(async () => (busy(1), order.push(`job${i}`)))));
  const timerAt = order.indexOf('timer');
  assert.ok(timerAt >= 0 && timerAt < order.length - 1, `the timer fired at position ${timerAt} of ${order.length}: ${order.join(' ')}`);

  // Without turns the same queue holds the loop to its end.
  const unsliced = new OneAtATime();
  const order2: string[] = [];
  setTimeout(() => order2.push('timer'), 0);
  busy(2);
  await Promise.all(Array.from({ length: 20 }, (_, i) => unsliced.run(async () => (busy(1), order2.push(`job${i}`)))));
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(order2.indexOf('timer'), order2.length - 1);
});
