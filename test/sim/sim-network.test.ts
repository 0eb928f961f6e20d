import assert from 'node:assert/strict';
import test from 'node:test';
import type { RaftMessage } from '../../src/consensus/raft-messages.js';
import { Rng } from './random.js';
import { SimNetwork, type LinkFaults } from './sim-network.js';

const PROMPT: LinkFaults = { lossRate: 0, duplicateRate: 0, delayRate: 0, latencyTicksMax: 0, delayTicksMin: 0, delayTicksMax: 0 };
const LATE_TICKS = 5;

function message(from: string, to: string, view = 1): RaftMessage {
  return { type: 'VoteResponse', from, to, view, granted: true };
}

function drain(network: SimNetwork, now: number): { view: number; delivered: boolean }[] {
  const taken: { view: number; delivered: boolean }[] = [];
  for (let flight = network.takeDue(now); flight !== undefined; flight = network.takeDue(now)) taken.push({ view: flight.flight.message.view, delivered: flight.delivered });
  return taken;
}

test('a one-way cut drops messages from one side to the other, at sending and on arrival, and none the other way', () => {
  const network = new SimNetwork(new Rng(1), ['a', 'b'], PROMPT, LATE_TICKS);
  network.send(message('a', 'b', 1), 0); // in flight when the link is cut
  network.cut('a', 'b');
  assert.equal(network.send(message('a', 'b', 2), 0), 'cut');
  assert.equal(network.send(message('b', 'a', 3), 0), 'sent');
  assert.deepEqual(drain(network, 0).sort((x, y) => x.view - y.view), [{ view: 1, delivered: false }, { view: 3, delivered: true }]);
  network.healAll();
  assert.equal(network.send(message('a', 'b', 4), 0), 'sent');
  assert.deepEqual(drain(network, 0), [{ view: 4, delivered: true }]);
  assert.equal(network.stats.cut, 2);
});

test('a delayed message is held until its delivery tick and counted late; a duplicated one arrives twice', () => {
  const network = new SimNetwork(new Rng(2), ['a', 'b'], { ...PROMPT, delayRate: 1, delayTicksMin: LATE_TICKS, delayTicksMax: LATE_TICKS, duplicateRate: 1 }, LATE_TICKS);
  assert.equal(network.send(message('a', 'b'), 10), 'sent');
  assert.deepEqual(network.lastLatencies, [LATE_TICKS, LATE_TICKS]);
  network.advance(10 + LATE_TICKS - 1);
  assert.equal(network.hasDue, false);
  network.advance(10 + LATE_TICKS);
  assert.deepEqual(drain(network, 10 + LATE_TICKS), [{ view: 1, delivered: true }, { view: 1, delivered: true }]);
  assert.equal(network.stats.duplicated, 1);
  assert.equal(network.stats.deliveredLate, 2);
});

test('due messages leave in random order, and a lossy link loses some', () => {
  const network = new SimNetwork(new Rng(3), ['a', 'b'], { ...PROMPT, lossRate: 0.2 }, LATE_TICKS);
  const fates = Array.from({ length: 50 }, (_, view) => network.send(message('a', 'b', view), 0));
  const taken = drain(network, 0).map((flight) => flight.view);
  assert.equal(taken.length, fates.filter((fate) => fate === 'sent').length);
  assert.ok(network.stats.lost > 0 && network.stats.lost === 50 - taken.length);
  assert.notDeepEqual(taken, [...taken].sort((x, y) => x - y));
  assert.ok(network.stats.deliveredOutOfOrder > 0);
});
