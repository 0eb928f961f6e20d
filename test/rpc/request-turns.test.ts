import assert from 'node:assert/strict';
import test from 'node:test';
import { RequestTurns } from '../../src/rpc/request-turns.js';

/** Holds the event loop, as a long request does. */
function busyFor(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

test('requests run in arrival order, and the event loop turns between slices of them', async () => {
  const events: string[] = [];
  const turns = new RequestTurns();
  const run = async (name: string, during?: () => void) => {
    await turns.next();
    events.push(name);
    during?.();
    busyFor(20);
  };
  // A timer set while the first request runs is due when it ends: the loop runs it before the
  // second request starts, not after every request that was waiting (so would a peer's message).
  const runs = [run('a', () => setTimeout(() => events.push('timer'), 0)), run('b'), run('c')];
  await Promise.all(runs);
  assert.deepEqual(events, ['a', 'timer', 'b', 'c']);
});

test('requests within a slice run one after the other, before the loop turns', async () => {
  // A slice longer than any pause a busy machine could impose on this test.
  const turns = new RequestTurns(60_000);
  const events: string[] = [];
  const run = async (name: string, during?: () => void) => {
    await turns.next();
    events.push(name);
    during?.();
    busyFor(1);
  };
  // Within the slice: the timer, due when the first request ends, waits for the next turn.
  await Promise.all([run('a', () => setTimeout(() => events.push('timer'), 0)), run('b'), run('c')]);
  while (!events.includes('timer')) await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(events, ['a', 'b', 'c', 'timer']);
});

test('a request that waits on I/O does not hold the turns of the next ones', async () => {
  const turns = new RequestTurns();
  const events: string[] = [];
  let release!: () => void;
  const slow = (async () => {
    await turns.next();
    events.push('slow starts');
    await new Promise<void>((resolve) => (release = resolve));
    events.push('slow ends');
  })();
  const fast = (async () => {
    await turns.next();
    events.push('fast');
  })();
  await fast;
  release();
  await slow;
  assert.deepEqual(events, ['slow starts', 'fast', 'slow ends']);
});
